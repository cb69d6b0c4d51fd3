"""moto gaps filled by mlplatform's emulator server: each shown on plain moto, then fixed through the server.

``plain`` is moto's own server without mlplatform's patches (a separate process, so no patch applied in
this test process can leak into it); ``endpoint`` is the session's ``mlplatform.emulator.server``. When a
"plain moto" test starts failing, moto has closed the gap: drop the patch (mlplatform/emulator/patches/).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.integration.harness import moto_server

pytestmark = pytest.mark.integration

ROLE = "arn:aws:iam::123456789012:role/x"
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/model:1"


@pytest.fixture(scope="module")
def plain() -> Iterator[str]:
    with moto_server(patched=False) as url:
        yield url


def _sm(url: str) -> Any:
    return boto3.client(
        "sagemaker", endpoint_url=url, region_name="us-east-1", aws_access_key_id="testing",
        aws_secret_access_key="testing", config=Config(retries={"max_attempts": 1, "mode": "standard"}),
    )  # fmt: skip


def _status(caught: pytest.ExceptionInfo[ClientError]) -> int:
    return int(caught.value.response["ResponseMetadata"]["HTTPStatusCode"])


def _code(caught: pytest.ExceptionInfo[ClientError]) -> str:
    return str(caught.value.response["Error"]["Code"])


def _arn(kind: str, name: str) -> str:
    return f"arn:aws:sagemaker:us-east-1:123456789012:{kind}/{name}"


def _feature_group(sm: Any, name: str) -> None:
    sm.create_feature_group(
        FeatureGroupName=name, RecordIdentifierFeatureName="id", EventTimeFeatureName="t",
        FeatureDefinitions=[{"FeatureName": "id", "FeatureType": "String"},
                            {"FeatureName": "t", "FeatureType": "Fractional"}],
        OnlineStoreConfig={"EnableOnlineStore": True, "SecurityConfig": {"KmsKeyId": "key"}},
        OfflineStoreConfig={"S3StorageConfig": {"S3Uri": "s3://b/fs"},
                            "DataCatalogConfig": {"Catalog": "AwsDataCatalog", "Database": "db", "TableName": "tbl"}},
        RoleArn=ROLE, Description="scores", Tags=[{"Key": "k", "Value": "v"}],
    )  # fmt: skip


def _endpoint_with_two_configs(sm: Any, prefix: str) -> None:
    sm.create_model(ModelName=f"{prefix}-model", ExecutionRoleArn=ROLE, PrimaryContainer={"Image": IMAGE})
    for suffix, count in (("a", 1), ("b", 2)):
        sm.create_endpoint_config(
            EndpointConfigName=f"{prefix}-{suffix}",
            ProductionVariants=[{"VariantName": "AllTraffic", "ModelName": f"{prefix}-model",
                                 "InitialInstanceCount": count, "InstanceType": "ml.m5.large"}],
        )  # fmt: skip
    sm.create_endpoint(EndpointName=f"{prefix}-endpoint", EndpointConfigName=f"{prefix}-a")


def _data_quality_definition(sm: Any, name: str, endpoint_name: str) -> None:
    sm.create_data_quality_job_definition(
        JobDefinitionName=name, RoleArn=ROLE, DataQualityAppSpecification={"ImageUri": IMAGE},
        DataQualityJobInput={"EndpointInput": {"EndpointName": endpoint_name, "LocalPath": "/opt/ml/processing/in"}},
        DataQualityJobOutputConfig={"MonitoringOutputs": [{"S3Output": {"S3Uri": "s3://b/o",
                                                                        "LocalPath": "/opt/ml/processing/out"}}]},
        JobResources={"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 20}},
    )  # fmt: skip


# --- tags ---------------------------------------------------------------------------------------------


def test_tags_on_plain_moto_append_and_fail_for_feature_groups(plain: str) -> None:
    sm = _sm(plain)
    sm.create_model_package_group(ModelPackageGroupName="tags-plain", Tags=[{"Key": "k", "Value": "old"}])
    arn = _arn("model-package-group", "tags-plain")
    sm.add_tags(ResourceArn=arn, Tags=[{"Key": "k", "Value": "new"}])
    assert sm.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "k", "Value": "old"}, {"Key": "k", "Value": "new"}]

    _feature_group(sm, "tags-plain-fg")
    with pytest.raises(ClientError) as caught:
        sm.list_tags(ResourceArn=_arn("feature-group", "tags-plain-fg"))
    assert _status(caught) == 500
    with pytest.raises(ClientError) as missing:
        sm.list_tags(ResourceArn=_arn("model", "no-such-model"))
    assert _status(missing) == 500


def test_tags_through_the_emulator_overwrite_and_cover_feature_groups(endpoint: str) -> None:
    sm = _sm(endpoint)
    sm.create_model_package_group(ModelPackageGroupName="tags-fixed", Tags=[{"Key": "k", "Value": "old"}])
    arn = _arn("model-package-group", "tags-fixed")
    sm.add_tags(ResourceArn=arn, Tags=[{"Key": "k", "Value": "new"}, {"Key": "x", "Value": "y"}])
    assert sorted(sm.list_tags(ResourceArn=arn)["Tags"], key=lambda t: t["Key"]) == [
        {"Key": "k", "Value": "new"}, {"Key": "x", "Value": "y"}]  # fmt: skip

    _feature_group(sm, "tags-fixed-fg")
    fg_arn = _arn("feature-group", "tags-fixed-fg")
    assert sm.list_tags(ResourceArn=fg_arn)["Tags"] == [{"Key": "k", "Value": "v"}]
    sm.add_tags(ResourceArn=fg_arn, Tags=[{"Key": "team", "Value": "ml"}])
    sm.delete_tags(ResourceArn=fg_arn, TagKeys=["k"])
    assert sm.list_tags(ResourceArn=fg_arn)["Tags"] == [{"Key": "team", "Value": "ml"}]

    with pytest.raises(ClientError) as missing:
        sm.list_tags(ResourceArn=_arn("model", "no-such-model"))
    assert _code(missing) == "ValidationException"


# --- feature groups ------------------------------------------------------------------------------------


def test_feature_groups_on_plain_moto(plain: str) -> None:
    sm = _sm(plain)
    _feature_group(sm, "fg-plain")
    described = sm.describe_feature_group(FeatureGroupName="fg-plain")
    assert "OnlineStoreConfig" not in described and "Description" not in described
    assert described["OfflineStoreConfig"]["DataCatalogConfig"]["TableName"] != "tbl"
    with pytest.raises(ClientError) as delete:
        sm.delete_feature_group(FeatureGroupName="fg-plain")
    assert _status(delete) == 500
    with pytest.raises(ClientError) as missing:
        sm.describe_feature_group(FeatureGroupName="no-such-group")
    assert _status(missing) == 500


def test_feature_groups_through_the_emulator(endpoint: str) -> None:
    sm = _sm(endpoint)
    _feature_group(sm, "fg-fixed")
    described = sm.describe_feature_group(FeatureGroupName="fg-fixed")
    assert described["OnlineStoreConfig"] == {"EnableOnlineStore": True, "SecurityConfig": {"KmsKeyId": "key"}}
    assert described["Description"] == "scores"
    assert described["OfflineStoreConfig"]["DataCatalogConfig"] == {
        "Catalog": "AwsDataCatalog", "Database": "db", "TableName": "tbl"}  # fmt: skip
    sm.delete_feature_group(FeatureGroupName="fg-fixed")
    for call in (sm.describe_feature_group, sm.delete_feature_group):
        with pytest.raises(ClientError) as missing:
            call(FeatureGroupName="fg-fixed")
        assert _code(missing) == "ResourceNotFound"


# --- endpoints and models ------------------------------------------------------------------------------


def test_update_endpoint_on_plain_moto(plain: str) -> None:
    sm = _sm(plain)
    _endpoint_with_two_configs(sm, "upd-plain")
    with pytest.raises(ClientError) as caught:
        sm.update_endpoint(EndpointName="upd-plain-endpoint", EndpointConfigName="upd-plain-b")
    assert _status(caught) == 500


def test_update_endpoint_through_the_emulator(endpoint: str) -> None:
    sm = _sm(endpoint)
    _endpoint_with_two_configs(sm, "upd-fixed")
    arn = sm.update_endpoint(EndpointName="upd-fixed-endpoint", EndpointConfigName="upd-fixed-b")["EndpointArn"]
    assert arn == _arn("endpoint", "upd-fixed-endpoint")
    described = sm.describe_endpoint(EndpointName="upd-fixed-endpoint")
    assert described["EndpointConfigName"] == "upd-fixed-b" and described["EndpointStatus"] == "InService"
    assert described["ProductionVariants"][0]["CurrentInstanceCount"] == 2
    with pytest.raises(ClientError) as unknown_config:
        sm.update_endpoint(EndpointName="upd-fixed-endpoint", EndpointConfigName="no-such-config")
    assert _code(unknown_config) == "ValidationException"
    with pytest.raises(ClientError) as unknown_endpoint:
        sm.update_endpoint(EndpointName="no-such-endpoint", EndpointConfigName="upd-fixed-a")
    assert _code(unknown_endpoint) == "ValidationException"


def test_model_network_isolation_on_plain_moto(plain: str) -> None:
    sm = _sm(plain)
    sm.create_model(ModelName="iso-plain", ExecutionRoleArn=ROLE, PrimaryContainer={"Image": IMAGE},
                    EnableNetworkIsolation=True)  # fmt: skip
    assert sm.describe_model(ModelName="iso-plain")["EnableNetworkIsolation"] is False


def test_model_network_isolation_through_the_emulator(endpoint: str) -> None:
    sm = _sm(endpoint)
    sm.create_model(ModelName="iso-fixed", ExecutionRoleArn=ROLE, PrimaryContainer={"Image": IMAGE},
                    EnableNetworkIsolation=True)  # fmt: skip
    assert sm.describe_model(ModelName="iso-fixed")["EnableNetworkIsolation"] is True
    sm.create_model(ModelName="iso-default", ExecutionRoleArn=ROLE, PrimaryContainer={"Image": IMAGE})
    assert sm.describe_model(ModelName="iso-default")["EnableNetworkIsolation"] is False


# --- notebook instances and domains --------------------------------------------------------------------


def _notebook(sm: Any, name: str) -> None:
    sm.create_notebook_instance(
        NotebookInstanceName=name, InstanceType="ml.t3.medium", RoleArn=ROLE, PlatformIdentifier="notebook-al2-v3",
        InstanceMetadataServiceConfiguration={"MinimumInstanceMetadataServiceVersion": "2"}, VolumeSizeInGB=10,
    )  # fmt: skip


def test_notebook_instances_on_plain_moto(plain: str) -> None:
    sm = _sm(plain)
    _notebook(sm, "nb-plain")
    described = sm.describe_notebook_instance(NotebookInstanceName="nb-plain")
    assert "PlatformIdentifier" not in described and "InstanceMetadataServiceConfiguration" not in described
    sm.stop_notebook_instance(NotebookInstanceName="nb-plain")
    with pytest.raises(ClientError) as caught:
        sm.update_notebook_instance(NotebookInstanceName="nb-plain", VolumeSizeInGB=20)
    assert _status(caught) == 500


def test_notebook_instances_through_the_emulator(endpoint: str) -> None:
    sm = _sm(endpoint)
    _notebook(sm, "nb-fixed")
    described = sm.describe_notebook_instance(NotebookInstanceName="nb-fixed")
    assert described["PlatformIdentifier"] == "notebook-al2-v3"
    assert described["InstanceMetadataServiceConfiguration"] == {"MinimumInstanceMetadataServiceVersion": "2"}
    with pytest.raises(ClientError) as running:  # AWS updates only a stopped instance
        sm.update_notebook_instance(NotebookInstanceName="nb-fixed", VolumeSizeInGB=20)
    assert _code(running) == "ValidationException"
    sm.stop_notebook_instance(NotebookInstanceName="nb-fixed")
    sm.update_notebook_instance(
        NotebookInstanceName="nb-fixed", VolumeSizeInGB=20, InstanceType="ml.t3.xlarge",
        InstanceMetadataServiceConfiguration={"MinimumInstanceMetadataServiceVersion": "1"},
    )  # fmt: skip
    described = sm.describe_notebook_instance(NotebookInstanceName="nb-fixed")
    assert described["VolumeSizeInGB"] == 20 and described["InstanceType"] == "ml.t3.xlarge"
    assert described["InstanceMetadataServiceConfiguration"] == {"MinimumInstanceMetadataServiceVersion": "1"}
    assert described["NotebookInstanceStatus"] == "Stopped"


def _domain(sm: Any, name: str) -> str:
    arn = sm.create_domain(
        DomainName=name, AuthMode="IAM", DefaultUserSettings={"ExecutionRole": ROLE}, SubnetIds=["subnet-1"],
        VpcId="vpc-1",
    )["DomainArn"]  # fmt: skip
    return str(arn.rsplit("/", 1)[-1])


def test_update_domain_on_plain_moto(plain: str) -> None:
    sm = _sm(plain)
    domain_id = _domain(sm, "dom-plain")
    with pytest.raises(ClientError) as caught:
        sm.update_domain(DomainId=domain_id, AppNetworkAccessType="VpcOnly")
    assert _status(caught) == 500


def test_update_domain_through_the_emulator(endpoint: str) -> None:
    sm = _sm(endpoint)
    domain_id = _domain(sm, "dom-fixed")
    sm.update_domain(DomainId=domain_id, AppNetworkAccessType="VpcOnly",
                     DefaultUserSettings={"SecurityGroups": ["sg-1"]})  # fmt: skip
    described = sm.describe_domain(DomainId=domain_id)
    assert described["AppNetworkAccessType"] == "VpcOnly"
    # Settings not named in the update are kept.
    assert described["DefaultUserSettings"] == {"ExecutionRole": ROLE, "SecurityGroups": ["sg-1"]}
    with pytest.raises(ClientError) as missing:
        sm.update_domain(DomainId="d-none", AppNetworkAccessType="VpcOnly")
    assert _code(missing) == "ResourceNotFound"


# --- monitoring schedules ------------------------------------------------------------------------------


def test_monitoring_schedules_on_plain_moto(plain: str) -> None:
    sm = _sm(plain)
    _data_quality_definition(sm, "ms-plain-dq", "ms-plain-endpoint")
    with pytest.raises(ClientError) as caught:
        sm.create_monitoring_schedule(
            MonitoringScheduleName="ms-plain",
            MonitoringScheduleConfig={"MonitoringJobDefinitionName": "ms-plain-dq", "MonitoringType": "DataQuality",
                                      "ScheduleConfig": {"ScheduleExpression": "cron(0 * ? * * *)"}},
        )  # fmt: skip
    assert _status(caught) == 500
    with pytest.raises(ClientError) as listing:
        sm.list_monitoring_schedules()
    assert _status(listing) == 500


def test_monitoring_schedules_through_the_emulator(endpoint: str) -> None:
    sm = _sm(endpoint)
    _data_quality_definition(sm, "ms-fixed-dq", "ms-fixed-endpoint")
    config = {"MonitoringJobDefinitionName": "ms-fixed-dq", "MonitoringType": "DataQuality",
              "ScheduleConfig": {"ScheduleExpression": "cron(0 * ? * * *)"}}  # fmt: skip
    arn = sm.create_monitoring_schedule(
        MonitoringScheduleName="ms-fixed", MonitoringScheduleConfig=config, Tags=[{"Key": "k", "Value": "v"}]
    )["MonitoringScheduleArn"]
    assert arn == _arn("monitoring-schedule", "ms-fixed")
    assert sm.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "k", "Value": "v"}]
    described = sm.describe_monitoring_schedule(MonitoringScheduleName="ms-fixed")
    assert described["MonitoringScheduleConfig"] == config
    assert described["MonitoringScheduleStatus"] == "Scheduled" and described["EndpointName"] == "ms-fixed-endpoint"

    with pytest.raises(ClientError) as duplicate:
        sm.create_monitoring_schedule(MonitoringScheduleName="ms-fixed", MonitoringScheduleConfig=config)
    assert _code(duplicate) == "ResourceInUse"
    with pytest.raises(ClientError) as unknown_definition:
        sm.create_monitoring_schedule(
            MonitoringScheduleName="ms-other",
            MonitoringScheduleConfig={**config, "MonitoringJobDefinitionName": "none"},
        )
    assert _code(unknown_definition) == "ValidationException"

    daily = {**config, "ScheduleConfig": {"ScheduleExpression": "cron(0 0 ? * * *)"}}
    sm.update_monitoring_schedule(MonitoringScheduleName="ms-fixed", MonitoringScheduleConfig=daily)
    assert sm.describe_monitoring_schedule(MonitoringScheduleName="ms-fixed")["MonitoringScheduleConfig"] == daily
    summaries = sm.list_monitoring_schedules(EndpointName="ms-fixed-endpoint")["MonitoringScheduleSummaries"]
    assert [s["MonitoringScheduleName"] for s in summaries] == ["ms-fixed"]
    assert summaries[0]["MonitoringJobDefinitionName"] == "ms-fixed-dq"

    sm.delete_monitoring_schedule(MonitoringScheduleName="ms-fixed")
    with pytest.raises(ClientError) as missing:
        sm.describe_monitoring_schedule(MonitoringScheduleName="ms-fixed")
    assert _code(missing) == "ResourceNotFound"
    assert sm.list_monitoring_schedules(EndpointName="ms-fixed-endpoint")["MonitoringScheduleSummaries"] == []


# --- budgets -------------------------------------------------------------------------------------------


def _client(url: str, service: str) -> Any:
    return boto3.client(
        service, endpoint_url=url, region_name="us-east-1", aws_access_key_id="testing",
        aws_secret_access_key="testing", config=Config(retries={"max_attempts": 1, "mode": "standard"}),
    )  # fmt: skip


ACCOUNT = "123456789012"
TOPIC = f"arn:aws:sns:us-east-1:{ACCOUNT}:alarms"
NOTIFICATION = {"NotificationType": "ACTUAL", "ComparisonOperator": "GREATER_THAN", "Threshold": 80.0,
                "ThresholdType": "PERCENTAGE"}  # fmt: skip


def _create_budget(budgets: Any, name: str) -> str:
    budgets.create_budget(
        AccountId=ACCOUNT,
        Budget={"BudgetName": name, "BudgetType": "COST", "TimeUnit": "MONTHLY",
                "BudgetLimit": {"Amount": "100", "Unit": "USD"}, "CostFilters": {"TagKeyValue": ["user:env$dev"]}},
        NotificationsWithSubscribers=[{"Notification": NOTIFICATION,
                                       "Subscribers": [{"SubscriptionType": "SNS", "Address": TOPIC}]}],
        ResourceTags=[{"Key": "team", "Value": "ml"}],
    )  # fmt: skip
    return f"arn:aws:budgets::{ACCOUNT}:budget/{name}"


def test_budgets_on_plain_moto(plain: str) -> None:
    budgets = _client(plain, "budgets")
    arn = _create_budget(budgets, "budget-plain")
    new_budget = {"BudgetName": "budget-plain", "BudgetType": "COST", "TimeUnit": "MONTHLY",
                  "BudgetLimit": {"Amount": "200", "Unit": "USD"}}  # fmt: skip
    calls: list[tuple[str, dict[str, Any]]] = [
        ("describe_subscribers_for_notification",
         {"AccountId": ACCOUNT, "BudgetName": "budget-plain", "Notification": NOTIFICATION}),
        ("update_budget", {"AccountId": ACCOUNT, "NewBudget": new_budget}),
        ("list_tags_for_resource", {"ResourceARN": arn}),
        ("tag_resource", {"ResourceARN": arn, "ResourceTags": [{"Key": "k", "Value": "v"}]}),
        ("untag_resource", {"ResourceARN": arn, "ResourceTagKeys": ["team"]}),
    ]  # fmt: skip
    for operation, args in calls:
        with pytest.raises(ClientError) as caught:
            getattr(budgets, operation)(**args)
        assert _status(caught) == 500, operation


def test_budgets_through_the_emulator(endpoint: str) -> None:
    budgets = _client(endpoint, "budgets")
    arn = _create_budget(budgets, "budget-fixed")
    # The four identifying fields select the notification (ThresholdType defaults to PERCENTAGE).
    short = {key: value for key, value in NOTIFICATION.items() if key != "ThresholdType"}
    answer = budgets.describe_subscribers_for_notification(AccountId=ACCOUNT, BudgetName="budget-fixed",
                                                           Notification=short)  # fmt: skip
    assert answer["Subscribers"] == [{"SubscriptionType": "SNS", "Address": TOPIC}]
    with pytest.raises(ClientError) as unknown_notification:
        budgets.describe_subscribers_for_notification(
            AccountId=ACCOUNT, BudgetName="budget-fixed", Notification={**NOTIFICATION, "Threshold": 99.0}
        )
    assert _code(unknown_notification) == "NotFoundException"

    # Tags given at creation, then added/overwritten and removed.
    assert budgets.list_tags_for_resource(ResourceARN=arn)["ResourceTags"] == [{"Key": "team", "Value": "ml"}]
    budgets.tag_resource(
        ResourceARN=arn, ResourceTags=[{"Key": "team", "Value": "data"}, {"Key": "env", "Value": "dev"}]
    )
    budgets.untag_resource(ResourceARN=arn, ResourceTagKeys=["env"])
    assert budgets.list_tags_for_resource(ResourceARN=arn)["ResourceTags"] == [{"Key": "team", "Value": "data"}]

    before = budgets.describe_budget(AccountId=ACCOUNT, BudgetName="budget-fixed")["Budget"]
    assert before["CostFilters"] == {"TagKeyValue": ["user:env$dev"]}
    budgets.update_budget(
        AccountId=ACCOUNT,
        NewBudget={"BudgetName": "budget-fixed", "BudgetType": "COST", "TimeUnit": "MONTHLY",
                   "BudgetLimit": {"Amount": "250", "Unit": "USD"}, "CostFilters": {"TagKeyValue": ["user:env$prod"]}},
    )  # fmt: skip
    after = budgets.describe_budget(AccountId=ACCOUNT, BudgetName="budget-fixed")["Budget"]
    assert after["BudgetLimit"] == {"Amount": "250", "Unit": "USD"}
    assert after["CostFilters"] == {"TagKeyValue": ["user:env$prod"]}
    assert after["TimePeriod"] == before["TimePeriod"]
    # Notifications (and their subscribers) survive the update.
    assert budgets.describe_notifications_for_budget(AccountId=ACCOUNT, BudgetName="budget-fixed")["Notifications"]
    with pytest.raises(ClientError) as missing:
        budgets.update_budget(AccountId=ACCOUNT, NewBudget={**after, "BudgetName": "no-such-budget"})
    assert _code(missing) == "NotFoundException"

    budgets.delete_budget(AccountId=ACCOUNT, BudgetName="budget-fixed")
    with pytest.raises(ClientError) as gone:
        budgets.list_tags_for_resource(ResourceARN=arn)
    assert _code(gone) == "NotFoundException"


# --- application auto scaling --------------------------------------------------------------------------


def _register(scaling: Any, resource: str, **extra: Any) -> str:
    arn = scaling.register_scalable_target(
        ServiceNamespace="sagemaker", ResourceId=resource, ScalableDimension="sagemaker:variant:DesiredInstanceCount",
        MinCapacity=1, MaxCapacity=2, **extra,
    )["ScalableTargetARN"]  # fmt: skip
    return str(arn)


def test_scaling_tags_on_plain_moto(plain: str) -> None:
    scaling = _client(plain, "application-autoscaling")
    arn = _register(scaling, "endpoint/tags-plain/variant/AllTraffic", Tags={"team": "ml"})
    calls: list[tuple[str, dict[str, Any]]] = [
        ("list_tags_for_resource", {"ResourceARN": arn}),
        ("tag_resource", {"ResourceARN": arn, "Tags": {"k": "v"}}),
        ("untag_resource", {"ResourceARN": arn, "TagKeys": ["team"]}),
    ]
    for operation, args in calls:
        with pytest.raises(ClientError) as caught:
            getattr(scaling, operation)(**args)
        assert _status(caught) == 500, operation


def test_scaling_tags_through_the_emulator(endpoint: str) -> None:
    scaling = _client(endpoint, "application-autoscaling")
    resource = "endpoint/tags-fixed/variant/AllTraffic"
    arn = _register(scaling, resource, Tags={"team": "ml"})
    assert arn.startswith(f"arn:aws:application-autoscaling:us-east-1:{ACCOUNT}:scalable-target/")
    described = scaling.describe_scalable_targets(ServiceNamespace="sagemaker", ResourceIds=[resource])
    assert described["ScalableTargets"][0]["ScalableTargetARN"] == arn
    assert scaling.list_tags_for_resource(ResourceARN=arn)["Tags"] == {"team": "ml"}
    scaling.tag_resource(ResourceARN=arn, Tags={"team": "data", "env": "dev"})
    scaling.untag_resource(ResourceARN=arn, TagKeys=["env"])
    assert scaling.list_tags_for_resource(ResourceARN=arn)["Tags"] == {"team": "data"}
    # Re-registering (an update) keeps the target, its ARN and its tags.
    assert _register(scaling, resource) == arn
    assert scaling.list_tags_for_resource(ResourceARN=arn)["Tags"] == {"team": "data"}
    scaling.deregister_scalable_target(ServiceNamespace="sagemaker", ResourceId=resource,
                                       ScalableDimension="sagemaker:variant:DesiredInstanceCount")  # fmt: skip
    with pytest.raises(ClientError) as gone:
        scaling.list_tags_for_resource(ResourceARN=arn)
    assert _code(gone) == "ResourceNotFoundException"


# --- codebuild -----------------------------------------------------------------------------------------

ENVIRONMENT = {"type": "LINUX_CONTAINER", "image": "aws/codebuild/standard:7.0", "computeType": "BUILD_GENERAL1_SMALL"}
BUILD_ROLE = f"arn:aws:iam::{ACCOUNT}:role/build"


def _create_project(codebuild: Any, name: str, **extra: Any) -> dict[str, Any]:
    args = {"name": name, "source": {"type": "S3", "location": "bucket/source.zip"},
            "artifacts": {"type": "NO_ARTIFACTS"}, "environment": ENVIRONMENT, "serviceRole": BUILD_ROLE,
            **extra}  # fmt: skip
    project: dict[str, Any] = codebuild.create_project(**args)["project"]
    return project


def test_codebuild_on_plain_moto(plain: str) -> None:
    codebuild = _client(plain, "codebuild")
    with pytest.raises(ClientError) as pipeline_source:
        _create_project(
            codebuild, "cb-plain-pipeline", source={"type": "CODEPIPELINE"}, artifacts={"type": "CODEPIPELINE"}
        )
    assert "location is required" in str(pipeline_source.value)
    with pytest.raises(ClientError) as no_source:
        _create_project(codebuild, "cb-plain-nosource", source={"type": "NO_SOURCE", "buildspec": "version: 0.2"})
    assert "location is required" in str(no_source.value)

    key = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/11111111-2222-3333-4444-555555555555"
    project = _create_project(codebuild, "cb-plain", encryptionKey=key, badgeEnabled=True)
    assert project["encryptionKey"].endswith(":alias/aws/s3") and project["badge"]["badgeEnabled"] is False
    with pytest.raises(ClientError) as update:
        codebuild.update_project(name="cb-plain", description="changed")
    assert _status(update) == 500


def test_codebuild_through_the_emulator(endpoint: str) -> None:
    codebuild = _client(endpoint, "codebuild")
    pipeline = _create_project(codebuild, "cb-fixed-pipeline", source={"type": "CODEPIPELINE", "buildspec": "b.yml"},
                               artifacts={"type": "CODEPIPELINE"})  # fmt: skip
    assert (pipeline["source"], pipeline["artifacts"]) == ({"type": "CODEPIPELINE", "buildspec": "b.yml"},
                                                           {"type": "CODEPIPELINE"})  # fmt: skip
    _create_project(codebuild, "cb-fixed-nosource", source={"type": "NO_SOURCE", "buildspec": "version: 0.2"})
    # Types that do need a location still do.
    with pytest.raises(ClientError) as s3_source:
        _create_project(codebuild, "cb-fixed-s3", source={"type": "S3"})
    assert _code(s3_source) == "InvalidInputException"
    with pytest.raises(ClientError) as s3_artifacts:
        _create_project(codebuild, "cb-fixed-s3", artifacts={"type": "S3"})
    assert _code(s3_artifacts) == "InvalidInputException"

    key = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/11111111-2222-3333-4444-555555555555"
    project = _create_project(codebuild, "cb-fixed", encryptionKey=key, badgeEnabled=True)
    assert project["encryptionKey"] == key and project["badge"]["badgeEnabled"] is True
    assert project["badge"]["badgeRequestUrl"].startswith("https://codebuild.us-east-1.amazonaws.com/badges")
    assert _create_project(codebuild, "cb-fixed-default")["encryptionKey"].endswith(":alias/aws/s3")

    other_key = key.replace("1111", "9999")
    updated = codebuild.update_project(
        name="cb-fixed", description="changed", timeoutInMinutes=20, encryptionKey=other_key, badgeEnabled=False,
        environment={**ENVIRONMENT, "computeType": "BUILD_GENERAL1_MEDIUM"}, tags=[{"key": "team", "value": "ml"}],
    )["project"]  # fmt: skip
    found = codebuild.batch_get_projects(names=["cb-fixed"])["projects"][0]
    for live in (updated, found):
        assert (live["description"], live["timeoutInMinutes"], live["encryptionKey"]) == ("changed", 20, other_key)
        assert live["environment"]["computeType"] == "BUILD_GENERAL1_MEDIUM"
        assert live["badge"] == {"badgeEnabled": False} and live["tags"] == [{"key": "team", "value": "ml"}]
        assert live["source"] == {"type": "S3", "location": "bucket/source.zip"}  # not given: unchanged
    with pytest.raises(ClientError) as invalid:
        codebuild.update_project(name="cb-fixed", environment={**ENVIRONMENT, "computeType": "HUGE"})
    assert _code(invalid) == "InvalidInputException"
    with pytest.raises(ClientError) as missing:
        codebuild.update_project(name="cb-no-such-project", description="x")
    assert _code(missing) == "ResourceNotFoundException"


# --- s3 --------------------------------------------------------------------------------------------------


def _eventbridge_bucket(s3: Any, name: str) -> dict[str, Any]:
    s3.create_bucket(Bucket=name)
    s3.put_bucket_notification_configuration(Bucket=name, NotificationConfiguration={"EventBridgeConfiguration": {}})
    config: dict[str, Any] = s3.get_bucket_notification_configuration(Bucket=name)
    return config


def test_s3_eventbridge_notification_on_plain_moto(plain: str) -> None:
    s3 = _client(plain, "s3")
    assert "EventBridgeConfiguration" not in _eventbridge_bucket(s3, "eventbridge-plain")


def test_s3_eventbridge_notification_through_the_emulator(endpoint: str) -> None:
    s3 = _client(endpoint, "s3")
    assert _eventbridge_bucket(s3, "eventbridge-fixed")["EventBridgeConfiguration"] == {}
    # A bucket without it still answers without it, and other configurations are unaffected.
    s3.create_bucket(Bucket="eventbridge-none")
    s3.put_bucket_notification_configuration(
        Bucket="eventbridge-none",
        NotificationConfiguration={"TopicConfigurations": [{"TopicArn": TOPIC, "Events": ["s3:ObjectCreated:*"]}]},
    )
    config = s3.get_bucket_notification_configuration(Bucket="eventbridge-none")
    assert "EventBridgeConfiguration" not in config and config["TopicConfigurations"][0]["TopicArn"] == TOPIC
    s3.put_bucket_notification_configuration(Bucket="eventbridge-fixed", NotificationConfiguration={})
    assert "EventBridgeConfiguration" not in s3.get_bucket_notification_configuration(Bucket="eventbridge-fixed")


def _log_bucket_with_tls_policy(s3: Any, log_bucket: str, source: str) -> None:
    """A hardened log bucket: S3 logging may write, and a ``"Principal": "*"`` statement denies plain HTTP."""
    s3.create_bucket(Bucket=log_bucket)
    s3.create_bucket(Bucket=source)
    policy = {"Version": "2012-10-17", "Statement": [
        {"Sid": "S3ServerAccessLogs", "Effect": "Allow", "Principal": {"Service": "logging.s3.amazonaws.com"},
         "Action": ["s3:PutObject"], "Resource": [f"arn:aws:s3:::{log_bucket}/*"]},
        {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
         "Resource": [f"arn:aws:s3:::{log_bucket}", f"arn:aws:s3:::{log_bucket}/*"],
         "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
    ]}  # fmt: skip
    s3.put_bucket_policy(Bucket=log_bucket, Policy=json.dumps(policy))


def _enable_logging(s3: Any, source: str, log_bucket: str) -> None:
    s3.put_bucket_logging(
        Bucket=source,
        BucketLoggingStatus={"LoggingEnabled": {"TargetBucket": log_bucket, "TargetPrefix": "logs/"}},
    )


def test_s3_logging_to_a_hardened_bucket_on_plain_moto(plain: str) -> None:
    s3 = _client(plain, "s3")
    _log_bucket_with_tls_policy(s3, "access-logs-plain", "logged-plain")
    with pytest.raises(ClientError) as caught:
        _enable_logging(s3, "logged-plain", "access-logs-plain")
    assert _status(caught) == 500


def test_s3_logging_to_a_hardened_bucket_through_the_emulator(endpoint: str) -> None:
    s3 = _client(endpoint, "s3")
    _log_bucket_with_tls_policy(s3, "access-logs-fixed", "logged-fixed")
    _enable_logging(s3, "logged-fixed", "access-logs-fixed")
    assert s3.get_bucket_logging(Bucket="logged-fixed")["LoggingEnabled"] == {
        "TargetBucket": "access-logs-fixed", "TargetPrefix": "logs/"}  # fmt: skip
    # A log bucket that does not let the logging service write is still refused, as on AWS.
    s3.create_bucket(Bucket="access-logs-closed")
    deny = {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "arn:aws:s3:::access-logs-closed/*"}
    s3.put_bucket_policy(Bucket="access-logs-closed", Policy=json.dumps({"Version": "2012-10-17", "Statement": [deny]}))
    with pytest.raises(ClientError) as refused:
        _enable_logging(s3, "logged-fixed", "access-logs-closed")
    assert _code(refused) == "InvalidTargetBucketForLogging"


def _hardened_bucket_with_object(s3: Any, bucket: str) -> None:
    """An object written, then the bucket locked to TLS and to one key prefix for deletes (policy after object)."""
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="models/m.tar.gz", Body=b"weights")
    policy = {"Version": "2012-10-17", "Statement": [
        {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
         "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
         "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
        {"Sid": "NoDeletesOfAudit", "Effect": "Deny", "Principal": "*", "Action": "s3:DeleteObject",
         "Resource": f"arn:aws:s3:::{bucket}/audit/*"},
    ]}  # fmt: skip
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))


def test_s3_conditional_bucket_policy_on_plain_moto(plain: str) -> None:
    s3 = _client(plain, "s3")
    _hardened_bucket_with_object(s3, "tls-only-plain")
    with pytest.raises(ClientError) as caught:
        s3.head_object(Bucket="tls-only-plain", Key="models/m.tar.gz")
    assert _status(caught) == 403


def test_s3_conditional_bucket_policy_through_the_emulator(endpoint: str) -> None:
    s3 = _client(endpoint, "s3")
    _hardened_bucket_with_object(s3, "tls-only-fixed")
    assert s3.get_object(Bucket="tls-only-fixed", Key="models/m.tar.gz")["Body"].read() == b"weights"
    s3.put_object(Bucket="tls-only-fixed", Key="audit/log", Body=b"x")
    # An unconditional Deny still denies.
    with pytest.raises(ClientError) as denied:
        s3.delete_object(Bucket="tls-only-fixed", Key="audit/log")
    assert _status(denied) == 403
    s3.delete_object(Bucket="tls-only-fixed", Key="models/m.tar.gz")
    with pytest.raises(ClientError) as gone:
        s3.head_object(Bucket="tls-only-fixed", Key="models/m.tar.gz")
    assert _status(gone) == 404


def _glue_database_tags(url: str) -> list[str]:
    glue, tagging = _client(url, "glue"), _client(url, "resourcegroupstaggingapi")
    glue.create_database(DatabaseInput={"Name": "tagged_db"}, Tags={"managed-by": "mlplatform"})
    glue.delete_database(Name="tagged_db")
    found = tagging.get_resources(TagFilters=[{"Key": "managed-by", "Values": ["mlplatform"]}])
    arns = [mapping["ResourceARN"] for mapping in found["ResourceTagMappingList"]]
    return [arn for arn in arns if arn.endswith(":database/tagged_db")]


def test_glue_database_tags_outlive_the_database_on_plain_moto(plain: str) -> None:
    assert _glue_database_tags(plain)


def test_glue_database_tags_go_with_the_database_through_the_emulator(endpoint: str) -> None:
    assert _glue_database_tags(endpoint) == []


def _group_rule_description(url: str) -> Any:
    ec2 = _client(url, "ec2")
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    group = ec2.create_security_group(GroupName=f"peers-{time.monotonic_ns()}", Description="d", VpcId=vpc)["GroupId"]
    rule = ec2.authorize_security_group_ingress(
        GroupId=group,
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 0, "ToPort": 65535,
                        "UserIdGroupPairs": [{"GroupId": group, "Description": "peers"}]}],
    )["SecurityGroupRules"][0]["SecurityGroupRuleId"]  # fmt: skip
    described = ec2.describe_security_group_rules(SecurityGroupRuleIds=[rule])["SecurityGroupRules"][0]
    return described.get("Description")


def test_group_rule_description_missing_on_plain_moto(plain: str) -> None:
    assert _group_rule_description(plain) is None


def test_group_rule_description_through_the_emulator(endpoint: str) -> None:
    assert _group_rule_description(endpoint) == "peers"


def _tagged_endpoint_config_arns(url: str) -> list[str]:
    sm, tagging = _client(url, "sagemaker"), _client(url, "resourcegroupstaggingapi")
    name = f"tagged-config-{time.monotonic_ns()}"
    sm.create_model(ModelName=name, ExecutionRoleArn=ROLE, PrimaryContainer={"Image": IMAGE})
    sm.create_endpoint_config(
        EndpointConfigName=name,
        ProductionVariants=[{"VariantName": "primary", "ModelName": name, "InstanceType": "ml.m5.large",
                             "InitialInstanceCount": 1}],
        Tags=[{"Key": "probe", "Value": name}],
    )  # fmt: skip
    found = tagging.get_resources(TagFilters=[{"Key": "probe", "Values": [name]}])
    return [mapping["ResourceARN"] for mapping in found["ResourceTagMappingList"]]


def test_endpoint_config_arn_in_the_tagging_api_is_a_tuple_on_plain_moto(plain: str) -> None:
    [arn] = _tagged_endpoint_config_arns(plain)
    assert arn.startswith("('arn:")


def test_endpoint_config_arn_in_the_tagging_api_through_the_emulator(endpoint: str) -> None:
    [arn] = _tagged_endpoint_config_arns(endpoint)
    assert arn.startswith("arn:aws:sagemaker:us-east-1:123456789012:endpoint-config/tagged-config-")


# --- instance types ------------------------------------------------------------------------------------


def _enum(operation: str, *members: str) -> list[str]:
    """The instance types botocore's model accepts for a request member (independently of the patch)."""
    import botocore.session

    shape = botocore.session.get_session().get_service_model("sagemaker").operation_model(operation).input_shape
    for member in members:
        shape = shape.member if shape.type_name == "list" else shape
        shape = shape.members[member]
    return list(shape.enum)


def _endpoint_config(sm: Any, name: str, instance_type: str) -> None:
    sm.create_model(ModelName=f"{name}-model", ExecutionRoleArn=ROLE, PrimaryContainer={"Image": IMAGE})
    sm.create_endpoint_config(
        EndpointConfigName=name,
        ProductionVariants=[{"VariantName": "primary", "ModelName": f"{name}-model", "InitialInstanceCount": 1,
                             "InstanceType": instance_type}],
    )  # fmt: skip


def test_gpu_instance_types_on_plain_moto(plain: str) -> None:
    sm = _sm(plain)
    assert "ml.g5.xlarge" in _enum("CreateEndpointConfig", "ProductionVariants", "InstanceType")
    with pytest.raises(ClientError) as endpoint:
        _endpoint_config(sm, "gpu-plain", "ml.g5.xlarge")
    assert _code(endpoint) == "ValidationException" and "ml.g5.xlarge" in str(endpoint.value)
    with pytest.raises(ClientError) as notebook:
        sm.create_notebook_instance(NotebookInstanceName="gpu-plain", InstanceType="ml.g5.xlarge", RoleArn=ROLE)
    assert _code(notebook) == "ValidationException"


def test_instance_types_through_the_emulator_follow_botocore(endpoint: str) -> None:
    sm = _sm(endpoint)
    _endpoint_config(sm, "gpu-fixed", "ml.g5.xlarge")
    variant = sm.describe_endpoint_config(EndpointConfigName="gpu-fixed")["ProductionVariants"][0]
    assert variant["InstanceType"] == "ml.g5.xlarge"
    sm.create_notebook_instance(NotebookInstanceName="gpu-fixed", InstanceType="ml.g5.xlarge", RoleArn=ROLE)
    assert sm.describe_notebook_instance(NotebookInstanceName="gpu-fixed")["InstanceType"] == "ml.g5.xlarge"
    # Still a check, not an open door: what botocore's model refuses, the emulator refuses, per API.
    with pytest.raises(ClientError) as bogus:
        _endpoint_config(sm, "gpu-bogus", "ml.g5.xlarj")
    assert _code(bogus) == "ValidationException" and "ml.g5.xlarj" in str(bogus.value)
    notebook_only = sorted(
        set(_enum("CreateNotebookInstance", "InstanceType"))
        - set(_enum("CreateEndpointConfig", "ProductionVariants", "InstanceType"))
    )
    assert notebook_only, "botocore's model no longer has a notebook-only instance type"
    with pytest.raises(ClientError) as wrong_api:
        _endpoint_config(sm, "gpu-wrong-api", notebook_only[0])
    assert _code(wrong_api) == "ValidationException"


# --- feature group and domain updates in place (patches/sagemaker_fidelity.py) -------------------------


def test_update_feature_group_and_throughput_on_plain_moto(plain: str) -> None:
    sm = _sm(plain)
    _feature_group(sm, "fg-throughput-plain")
    with pytest.raises(ClientError) as caught:
        sm.update_feature_group(FeatureGroupName="fg-throughput-plain", ThroughputConfig={"ThroughputMode": "OnDemand"})
    assert _status(caught) >= 400


def test_update_feature_group_and_throughput_through_the_emulator(endpoint: str) -> None:
    sm = _sm(endpoint)
    _feature_group(sm, "fg-throughput-fixed")
    assert sm.describe_feature_group(FeatureGroupName="fg-throughput-fixed")["ThroughputConfig"] == {
        "ThroughputMode": "OnDemand"
    }
    provisioned = {"ThroughputMode": "Provisioned", "ProvisionedReadCapacityUnits": 5,
                   "ProvisionedWriteCapacityUnits": 5}  # fmt: skip
    sm.update_feature_group(FeatureGroupName="fg-throughput-fixed", ThroughputConfig=provisioned,
                            OnlineStoreConfig={"TtlDuration": {"Unit": "Days", "Value": 7}})  # fmt: skip
    described = sm.describe_feature_group(FeatureGroupName="fg-throughput-fixed")
    assert described["ThroughputConfig"] == provisioned
    assert described["OnlineStoreConfig"]["TtlDuration"] == {"Unit": "Days", "Value": 7}
    assert described["OnlineStoreConfig"]["EnableOnlineStore"] is True  # the rest of the store is kept


def test_domain_tag_propagation_and_settings_on_plain_moto(plain: str) -> None:
    sm = _sm(plain)
    name = "dom-propagation-plain"
    sm.create_domain(
        DomainName=name, AuthMode="IAM", DefaultUserSettings={"ExecutionRole": ROLE}, SubnetIds=["subnet-1"],
        VpcId="vpc-1", TagPropagation="ENABLED",
    )  # fmt: skip
    domain_id = next(d["DomainId"] for d in sm.list_domains()["Domains"] if d["DomainName"] == name)
    assert "TagPropagation" not in sm.describe_domain(DomainId=domain_id)


def test_domain_tag_propagation_and_settings_through_the_emulator(endpoint: str) -> None:
    sm = _sm(endpoint)
    name = "dom-propagation-fixed"
    sm.create_domain(
        DomainName=name, AuthMode="IAM", DefaultUserSettings={"ExecutionRole": ROLE}, SubnetIds=["subnet-1"],
        VpcId="vpc-1", TagPropagation="ENABLED",
    )  # fmt: skip
    domain_id = next(d["DomainId"] for d in sm.list_domains()["Domains"] if d["DomainName"] == name)
    assert sm.describe_domain(DomainId=domain_id)["TagPropagation"] == "ENABLED"
    sm.update_domain(DomainId=domain_id, TagPropagation="DISABLED",
                     DomainSettingsForUpdate={"SecurityGroupIds": ["sg-1"]})  # fmt: skip
    described = sm.describe_domain(DomainId=domain_id)
    assert described["TagPropagation"] == "DISABLED"
    assert described["DomainSettings"]["SecurityGroupIds"] == ["sg-1"]
