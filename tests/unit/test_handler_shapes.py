"""Pulumi inputs <-> API values by botocore's model (``handlers/shapes.py``), on real botocore models, offline.

The clients are built with fake credentials and never send a request: only their loaded service model is
used, as the handlers use it.
"""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from mlplatform.engine.embedded.handlers.base import HandlerError
from mlplatform.engine.embedded.handlers.shapes import from_api, input_shape, output_shape, request, to_api


def _client(service: str) -> Any:
    return boto3.session.Session(aws_access_key_id="x", aws_secret_access_key="y", region_name="us-east-1").client(
        service
    )


SAGEMAKER = _client("sagemaker")
CODEBUILD = _client("codebuild")


def test_names_derive_by_case_from_the_model_even_where_pascal_case_is_not_capitalisation() -> None:
    converted = request(
        SAGEMAKER,
        "CreateNotebookInstance",
        {"instanceType": "ml.t3.medium", "roleArn": "arn", "volumeSize": 5.0},
        {"volumeSize": "VolumeSizeInGB"},
    )
    assert converted == {"InstanceType": "ml.t3.medium", "RoleArn": "arn", "VolumeSizeInGB": 5}
    assert isinstance(converted["VolumeSizeInGB"], int)
    # volumeSizeInGb (a nested name) is VolumeSizeInGB by case alone; CodeBuild's cloudwatchLogs is cloudWatchLogs.
    config = request(
        SAGEMAKER,
        "CreateDataQualityJobDefinition",
        {"jobResources": {"clusterConfig": {"instanceCount": 1.0, "volumeSizeInGb": 20.0}}},
    )
    assert config == {"JobResources": {"ClusterConfig": {"InstanceCount": 1, "VolumeSizeInGB": 20}}}
    logs = request(CODEBUILD, "CreateProject", {"logsConfig": {"cloudwatchLogs": {"status": "ENABLED"}}})
    assert logs == {"logsConfig": {"cloudWatchLogs": {"status": "ENABLED"}}}


def test_a_rename_applies_only_where_the_operation_has_that_member() -> None:
    renames = {"securityGroups": "SecurityGroupIds"}
    created = request(SAGEMAKER, "CreateNotebookInstance", {"securityGroups": ["sg-1"]}, renames)
    assert created == {"SecurityGroupIds": ["sg-1"]}
    shape = output_shape(SAGEMAKER, "DescribeNotebookInstance")
    read = from_api({"SecurityGroups": ["sg-1"]}, {"securityGroups": ["sg-1"]}, shape, renames)
    assert read == {"securityGroups": ["sg-1"]}


def test_numbers_become_integers_only_where_the_api_wants_integers() -> None:
    variant = {"productionVariants": [{"variantName": "a", "initialInstanceCount": 2.0, "initialVariantWeight": 0.5}]}
    converted = request(SAGEMAKER, "CreateEndpointConfig", variant)
    item = converted["ProductionVariants"][0]
    assert item["InitialInstanceCount"] == 2 and isinstance(item["InitialInstanceCount"], int)
    assert item["InitialVariantWeight"] == 0.5  # a double stays a double


def test_a_whole_number_sent_to_a_double_member_becomes_a_float() -> None:
    budgets = _client("budgets")
    shape = input_shape(budgets, "CreateNotification", "Notification")
    sent = to_api(shape, {"notificationType": "ACTUAL", "comparisonOperator": "GREATER_THAN", "threshold": 80})
    assert sent == {"NotificationType": "ACTUAL", "ComparisonOperator": "GREATER_THAN", "Threshold": 80.0}
    assert isinstance(sent["Threshold"], float)


def test_maps_keep_the_users_keys_and_one_item_blocks_become_lists_both_ways() -> None:
    container = {"primaryContainer": {"image": "img", "environment": {"MY_flag": "1"}}}
    assert request(SAGEMAKER, "CreateModel", container) == {
        "PrimaryContainer": {"Image": "img", "Environment": {"MY_flag": "1"}}
    }
    wanted = {"monitoringOutputs": {"s3Output": {"s3Uri": "s3://b/k", "localPath": "/out"}}}
    sent = to_api(input_shape(SAGEMAKER, "CreateDataQualityJobDefinition", "DataQualityJobOutputConfig"), wanted)
    assert sent == {"MonitoringOutputs": [{"S3Output": {"S3Uri": "s3://b/k", "LocalPath": "/out"}}]}
    live = {"MonitoringOutputs": [{"S3Output": {"S3Uri": "s3://b/k", "LocalPath": "/out", "S3UploadMode": "EndOfJob"}}]}
    shape = output_shape(SAGEMAKER, "DescribeDataQualityJobDefinition", "DataQualityJobOutputConfig")
    assert from_api(live, wanted, shape) == wanted


def test_reads_keep_only_the_inputs_keys_and_empty_reads_as_absent() -> None:
    shape = output_shape(SAGEMAKER, "DescribeEndpointConfig")
    live = {"ProductionVariants": [{"VariantName": "a", "InstanceType": "ml.m5.large", "InitialVariantWeight": 1.0}]}
    wanted = {"productionVariants": [{"variantName": "a", "instanceType": "ml.m5.large"}], "dataCaptureConfig": {}}
    assert from_api(live, wanted, shape) == wanted
    # An item added outside mlplatform is drift, read in the shape of the wanted ones.
    live["ProductionVariants"].append({"VariantName": "b", "InstanceType": "ml.c5.large"})
    assert from_api(live, wanted, shape)["productionVariants"][1] == {"variantName": "b", "instanceType": "ml.c5.large"}


def test_unordered_lists_of_ids_compare_as_sets() -> None:
    shape = output_shape(SAGEMAKER, "DescribeNotebookInstance")
    live = {"SecurityGroups": ["sg-2", "sg-1"]}
    assert from_api(live, {"securityGroups": ["sg-1", "sg-2"]}, shape, unordered=True) == {
        "securityGroups": ["sg-1", "sg-2"]
    }
    assert from_api(live, {"securityGroups": ["sg-1", "sg-2"]}, shape) == {"securityGroups": ["sg-2", "sg-1"]}


def test_an_input_the_api_does_not_have_is_a_clear_resource_error() -> None:
    with pytest.raises(HandlerError, match=r"CreateModel has no member for the input 'primaryContainer.imag'"):
        request(SAGEMAKER, "CreateModel", {"primaryContainer": {"imag": "typo"}})
