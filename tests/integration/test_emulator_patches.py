"""moto gaps filled by mlplatform's emulator server: each shown on plain moto, then fixed through the server.

``plain`` is moto's own server without mlplatform's patches (a separate process, so no patch applied in
this test process can leak into it); ``endpoint`` is the session's ``mlplatform.emulator_server``. When a
"plain moto" test starts failing, moto has closed the gap: drop the patch in ``emulator_server.py``.
"""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.integration.harness import free_port

pytestmark = pytest.mark.integration

ROLE = "arn:aws:iam::123456789012:role/x"
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/model:1"


@pytest.fixture(scope="module")
def plain() -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                urllib.request.urlopen(f"{url}/moto-api/", timeout=1)  # loopback only
                break
            except OSError:
                assert process.poll() is None and time.monotonic() < deadline, "plain moto server did not start"
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


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
