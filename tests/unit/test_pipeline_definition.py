"""The continuous-training pipeline definition, checked against botocore's own SageMaker service model.

Moto accepts any pipeline definition, so the emulator proves nothing about it. Each step's ``Arguments``
are the request of the API call SageMaker makes for that step; validating them with botocore's
``ParamValidator`` (after replacing the ``{"Get": ...}``/``Std:`` placeholders by values of the right type)
catches misspelt keys, wrong types and missing required fields.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import botocore.session
import pytest
from botocore.validate import ParamValidator

from mlplatform.components.pipeline_definition import PipelineSettings, build_definition

OPERATION = {
    "Processing": "CreateProcessingJob",
    "Training": "CreateTrainingJob",
    "RegisterModel": "CreateModelPackage",
}
# Fields SageMaker fills in itself when it runs the step (the job or package name comes from the pipeline).
FILLED_BY_SAGEMAKER = {"CreateProcessingJob": {"ProcessingJobName"}, "CreateTrainingJob": {"TrainingJobName"}}


def _settings(**overrides: Any) -> PipelineSettings:
    values: dict[str, Any] = {
        "bucket": "mlp-local-artifacts-123456789012",
        "prefix": "pipelines/mlp-local-continuous-training",
        "role_arn": "arn:aws:iam::123456789012:role/mlp-local-sagemaker-execution",
        "kms_key_arn": "arn:aws:kms:us-east-1:123456789012:key/abc",
        "image_uri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/mlp-local/training:latest",
        "model_package_group": "mlp-local-default",
        "subnets": ["subnet-1", "subnet-2"],
        "security_group_ids": ["sg-1"],
    }
    values.update(overrides)
    return PipelineSettings(**values)


def _steps(definition: dict[str, Any]) -> list[dict[str, Any]]:
    steps = []
    for step in definition["Steps"]:
        steps.append(step)
        if step["Type"] == "Condition":
            steps += step["Arguments"]["IfSteps"] + step["Arguments"]["ElseSteps"]
    return steps


def _substitute(value: Any, shape: Any) -> Any:
    """Replace pipeline placeholders with a value of the type the API expects at that place."""
    if isinstance(value, dict) and (set(value) == {"Get"} or any(k.startswith("Std:") for k in value)):
        return {"integer": 1, "boolean": True, "float": 1.0, "double": 1.0, "long": 1}.get(shape.type_name, "s3://b/k")
    if isinstance(value, dict) and shape.type_name == "structure":
        return {k: _substitute(v, shape.members[k]) if k in shape.members else v for k, v in value.items()}
    if isinstance(value, list) and shape.type_name == "list":
        return [_substitute(v, shape.member) for v in value]
    return value


def _validate(step: dict[str, Any]) -> None:
    model = botocore.session.get_session().get_service_model("sagemaker")
    operation = OPERATION[step["Type"]]
    shape = model.operation_model(operation).input_shape
    params = copy.deepcopy(step["Arguments"])
    for name in FILLED_BY_SAGEMAKER.get(operation, ()):
        params[name] = "filled-by-sagemaker"
    report = ParamValidator().validate(_substitute(params, shape), shape)
    assert not report.has_errors(), f"{step['Name']} ({operation}):\n{report.generate_report()}"


@pytest.mark.parametrize("spot", [False, True])
def test_every_job_step_is_a_valid_api_request(spot: bool) -> None:
    definition = build_definition(_settings(spot=spot))
    checked = [step["Name"] for step in _steps(definition) if step["Type"] in OPERATION]
    for step in _steps(definition):
        if step["Type"] in OPERATION:
            _validate(step)
    assert checked == ["Preprocess", "Train", "Evaluate", "Register"]


def test_the_validation_catches_a_broken_step() -> None:
    """The check above can fail: a misspelt key and a wrong type are reported."""
    train = next(s for s in build_definition(_settings())["Steps"] if s["Type"] == "Training")
    train["Arguments"]["ResourceConfig"]["VolumeSizeGB"] = 50
    with pytest.raises(AssertionError, match="VolumeSizeGB"):
        _validate(train)
    train = next(s for s in build_definition(_settings())["Steps"] if s["Type"] == "Training")
    train["Arguments"]["EnableNetworkIsolation"] = "yes"
    with pytest.raises(AssertionError, match="EnableNetworkIsolation"):
        _validate(train)


def test_shape_process_train_evaluate_condition_register() -> None:
    definition = build_definition(_settings(threshold=0.9, metric_name="auc"))
    assert definition["Version"] == "2020-12-01"
    assert [s["Name"] for s in definition["Steps"]] == ["Preprocess", "Train", "Evaluate", "CheckMetric"]
    condition = definition["Steps"][3]["Arguments"]
    assert condition["Conditions"][0]["RightValue"] == 0.9
    assert condition["Conditions"][0]["LeftValue"]["Std:JsonGet"]["Path"] == "metrics.auc.value"
    assert [s["Type"] for s in condition["IfSteps"]] == ["RegisterModel"]
    assert [s["Type"] for s in condition["ElseSteps"]] == ["Fail"]
    names = {p["Name"] for p in definition["Parameters"]}
    referenced = {ref.split(".", 1)[1] for ref in _references(definition) if ref.startswith("Parameters.")}
    assert referenced <= names
    steps = {ref.split(".")[1] for ref in _references(definition) if ref.startswith("Steps.")}
    assert steps <= {"Preprocess", "Train", "Evaluate"}
    json.dumps(definition)  # serialisable


def test_jobs_are_encrypted_isolated_and_in_the_vpc() -> None:
    for step in _steps(build_definition(_settings())):
        args = step.get("Arguments", {})
        if step["Type"] == "Training":
            assert args["EnableInterContainerTrafficEncryption"] and args["EnableNetworkIsolation"]
            assert args["VpcConfig"]["Subnets"] == ["subnet-1", "subnet-2"]
            assert args["OutputDataConfig"]["KmsKeyId"] and args["ResourceConfig"]["VolumeKmsKeyId"]
        if step["Type"] == "Processing":
            assert args["NetworkConfig"]["EnableInterContainerTrafficEncryption"]
            assert args["ProcessingOutputConfig"]["KmsKeyId"]


def _references(value: Any) -> list[str]:
    if isinstance(value, dict):
        found = [value["Get"]] if isinstance(value.get("Get"), str) else []
        return found + [ref for v in value.values() for ref in _references(v)]
    if isinstance(value, list):
        return [ref for v in value for ref in _references(v)]
    return []
