"""SageMaker handlers against mlplatform's emulator server, through the embedded engine; checked with boto3."""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pulumi_aws as aws
import pytest
from botocore.exceptions import ClientError

from mlplatform.engine.model import Action
from tests.integration.harness import client, deploy, destroy, provider

pytestmark = pytest.mark.integration

ROLE = "arn:aws:iam::123456789012:role/sagemaker-execution"
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/model:1"
KEY = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"


def _definition(steps: int) -> str:
    return json.dumps({
        "Version": "2020-12-01",
        "Parameters": [],
        "Steps": [{"Name": f"step-{i}", "Type": "Processing", "Arguments": {}} for i in range(steps)],
    })  # fmt: skip


def _tags(sm: Any, arn: str) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in sm.list_tags(ResourceArn=arn)["Tags"]}


def _ml_program(
    endpoint: str,
    *,
    config: str = "a",
    steps: int = 1,
    tags: dict[str, str] | None = None,
    cron: str = "cron(0 * ? * * *)",
) -> None:
    opts = pulumi.ResourceOptions(provider=provider(endpoint))
    tags = tags or {"managed-by": "mlplatform"}
    registry = aws.sagemaker.ModelPackageGroup(
        "registry", model_package_group_name="mlp-sm-registry", model_package_group_description="models",
        tags=tags, opts=opts)  # fmt: skip
    model = aws.sagemaker.Model(
        "model", name="mlp-sm-model", execution_role_arn=ROLE, enable_network_isolation=True,
        primary_container={"image": IMAGE, "model_data_url": "s3://mlp-sm/model.tar.gz",
                           "environment": {"LOG_LEVEL": "info"}, "mode": "SingleModel"},
        vpc_config={"subnets": ["subnet-1", "subnet-2"], "security_group_ids": ["sg-1"]},
        tags=tags, opts=opts)  # fmt: skip
    configs = {}
    for suffix, count in (("a", 1), ("b", 2)):
        configs[suffix] = aws.sagemaker.EndpointConfiguration(
            f"config-{suffix}", name=f"mlp-sm-config-{suffix}", kms_key_arn=KEY,
            production_variants=[{"variant_name": "AllTraffic", "model_name": model.name,
                                  "initial_instance_count": count, "instance_type": "ml.m5.large",
                                  "initial_variant_weight": 1}],
            data_capture_config={"enable_capture": True, "initial_sampling_percentage": 20,
                                 "destination_s3_uri": "s3://mlp-sm/capture", "kms_key_id": KEY,
                                 "capture_options": [{"capture_mode": "Input"}, {"capture_mode": "Output"}],
                                 "capture_content_type_header": {"csv_content_types": ["text/csv"]}},
            tags=tags, opts=opts)  # fmt: skip
    live = aws.sagemaker.Endpoint(
        "endpoint", name="mlp-sm-endpoint", endpoint_config_name=configs[config].name,
        deployment_config={
            "blue_green_update_policy": {
                "traffic_routing_configuration": {"type": "CANARY", "wait_interval_in_seconds": 300,
                                                  "canary_size": {"type": "CAPACITY_PERCENT", "value": 10}},
                "termination_wait_in_seconds": 120, "maximum_execution_timeout_in_seconds": 3600},
            "auto_rollback_configuration": {"alarms": [{"alarm_name": "mlp-sm-5xx"}]}},
        tags=tags, opts=opts)  # fmt: skip
    quality = aws.sagemaker.DataQualityJobDefinition(
        "quality", name="mlp-sm-quality", role_arn=ROLE,
        data_quality_app_specification={"image_uri": IMAGE},
        data_quality_job_input={"endpoint_input": {"endpoint_name": live.name, "local_path": "/opt/ml/processing/input",
                                                   "s3_input_mode": "File",
                                                   "s3_data_distribution_type": "FullyReplicated"}},
        data_quality_job_output_config={"kms_key_id": KEY, "monitoring_outputs": {"s3_output": {
            "s3_uri": "s3://mlp-sm/monitoring", "local_path": "/opt/ml/processing/output",
            "s3_upload_mode": "EndOfJob"}}},
        job_resources={"cluster_config": {"instance_count": 1, "instance_type": "ml.m5.large",
                                          "volume_size_in_gb": 20, "volume_kms_key_id": KEY}},
        network_config={"enable_inter_container_traffic_encryption": True, "enable_network_isolation": True,
                        "vpc_config": {"security_group_ids": ["sg-1"], "subnets": ["subnet-1"]}},
        stopping_condition={"max_runtime_in_seconds": 1800}, tags=tags, opts=opts)  # fmt: skip
    aws.sagemaker.MonitoringSchedule(
        "schedule", name="mlp-sm-schedule",
        monitoring_schedule_config={"monitoring_job_definition_name": quality.name, "monitoring_type": "DataQuality",
                                    "schedule_config": {"schedule_expression": cron}},
        tags=tags, opts=opts)  # fmt: skip
    aws.sagemaker.Pipeline(
        "pipeline", pipeline_name="mlp-sm-pipeline", pipeline_display_name="mlp-sm-pipeline",
        pipeline_definition=_definition(steps), role_arn=ROLE, pipeline_description="training",
        parallelism_configuration={"max_parallel_execution_steps": 2}, tags=tags, opts=opts)  # fmt: skip
    aws.sagemaker.FeatureGroup(
        "features", feature_group_name="mlp-sm-features", record_identifier_feature_name="id",
        event_time_feature_name="event_time",
        feature_definitions=[{"feature_name": "id", "feature_type": "String"},
                             {"feature_name": "event_time", "feature_type": "Fractional"},
                             {"feature_name": "score", "feature_type": "Integral"}],
        online_store_config={"enable_online_store": True, "security_config": {"kms_key_id": KEY}},
        offline_store_config={"s3_storage_config": {"s3_uri": "s3://mlp-sm/features", "kms_key_id": KEY},
                              "disable_glue_table_creation": True,
                              "data_catalog_config": {"catalog": "AwsDataCatalog", "database": "features",
                                                      "table_name": "mlp_sm_features"}},
        role_arn=ROLE, description="scores", tags=tags, opts=opts)  # fmt: skip
    pulumi.export("registry", registry.arn)


def _changed(deployment: Any) -> dict[str, Action]:
    return {c.name: c.action for c in deployment.plan() if c.custom and c.action is not Action.SAME}


def _errors(deployment: Any) -> list[str]:
    return [f"{s.change.name}: {s.error}" for s in deployment.steps if s.error]


def test_ml_resources_create_noop_update_drift_and_destroy(endpoint: str) -> None:
    sm = client(endpoint, "sagemaker")
    first = deploy(lambda: _ml_program(endpoint))
    assert not first.broken, _errors(first)

    group = sm.describe_model_package_group(ModelPackageGroupName="mlp-sm-registry")
    assert group["ModelPackageGroupDescription"] == "models"
    assert first.stack_outputs["registry"] == group["ModelPackageGroupArn"]
    assert _tags(sm, group["ModelPackageGroupArn"]) == {"managed-by": "mlplatform"}

    model = sm.describe_model(ModelName="mlp-sm-model")
    assert model["PrimaryContainer"] == {"Image": IMAGE, "ModelDataUrl": "s3://mlp-sm/model.tar.gz",
                                         "Environment": {"LOG_LEVEL": "info"}, "Mode": "SingleModel"}  # fmt: skip
    assert model["VpcConfig"] == {"Subnets": ["subnet-1", "subnet-2"], "SecurityGroupIds": ["sg-1"]}
    assert model["ExecutionRoleArn"] == ROLE and model["EnableNetworkIsolation"] is True
    assert _tags(sm, model["ModelArn"]) == {"managed-by": "mlplatform"}

    config = sm.describe_endpoint_config(EndpointConfigName="mlp-sm-config-a")
    assert config["KmsKeyId"] == KEY
    assert config["ProductionVariants"] == [{"VariantName": "AllTraffic", "ModelName": "mlp-sm-model",
                                             "InitialInstanceCount": 1, "InstanceType": "ml.m5.large",
                                             "InitialVariantWeight": 1.0}]  # fmt: skip
    capture = config["DataCaptureConfig"]
    assert capture["EnableCapture"] is True and capture["InitialSamplingPercentage"] == 20
    assert capture["CaptureOptions"] == [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}]
    assert capture["CaptureContentTypeHeader"] == {"CsvContentTypes": ["text/csv"]}

    described = sm.describe_endpoint(EndpointName="mlp-sm-endpoint")
    assert described["EndpointConfigName"] == "mlp-sm-config-a" and described["EndpointStatus"] == "InService"
    assert _tags(sm, described["EndpointArn"]) == {"managed-by": "mlplatform"}

    quality = sm.describe_data_quality_job_definition(JobDefinitionName="mlp-sm-quality")
    assert quality["DataQualityJobInput"]["EndpointInput"]["EndpointName"] == "mlp-sm-endpoint"
    assert quality["DataQualityJobOutputConfig"]["MonitoringOutputs"] == [
        {
            "S3Output": {
                "S3Uri": "s3://mlp-sm/monitoring",
                "LocalPath": "/opt/ml/processing/output",
                "S3UploadMode": "EndOfJob",
            }
        }
    ]
    assert quality["JobResources"]["ClusterConfig"]["VolumeSizeInGB"] == 20
    assert quality["NetworkConfig"]["VpcConfig"] == {"SecurityGroupIds": ["sg-1"], "Subnets": ["subnet-1"]}
    assert quality["StoppingCondition"] == {"MaxRuntimeInSeconds": 1800}

    schedule = sm.describe_monitoring_schedule(MonitoringScheduleName="mlp-sm-schedule")
    assert schedule["MonitoringScheduleConfig"]["MonitoringJobDefinitionName"] == "mlp-sm-quality"
    assert schedule["EndpointName"] == "mlp-sm-endpoint" and schedule["MonitoringType"] == "DataQuality"
    assert _tags(sm, schedule["MonitoringScheduleArn"]) == {"managed-by": "mlplatform"}

    pipeline = sm.describe_pipeline(PipelineName="mlp-sm-pipeline")
    assert json.loads(pipeline["PipelineDefinition"]) == json.loads(_definition(1))
    assert pipeline["ParallelismConfiguration"] == {"MaxParallelExecutionSteps": 2}
    assert pipeline["PipelineDescription"] == "training" and pipeline["RoleArn"] == ROLE

    features = sm.describe_feature_group(FeatureGroupName="mlp-sm-features")
    assert features["OnlineStoreConfig"] == {"EnableOnlineStore": True, "SecurityConfig": {"KmsKeyId": KEY}}
    assert features["OfflineStoreConfig"]["DataCatalogConfig"]["TableName"] == "mlp_sm_features"
    assert [d["FeatureName"] for d in features["FeatureDefinitions"]] == ["id", "event_time", "score"]
    assert features["Description"] == "scores"
    assert _tags(sm, features["FeatureGroupArn"]) == {"managed-by": "mlplatform"}

    # Unchanged program: nothing to do, not a single API call.
    second = deploy(lambda: _ml_program(endpoint), first.records)
    assert {c.action for c in second.plan() if c.custom} == {Action.SAME}
    assert second.counter.mutating == 0 and second.counter.total == 0

    # A refresh of an unchanged stack finds no drift (reads normalise to input shape) ...
    calm = deploy(lambda: _ml_program(endpoint), second.records, refresh=True)
    assert _changed(calm) == {}, [c.detail for c in calm.plan() if c.detail]
    assert calm.counter.mutating == 0

    # ... and one after an out-of-band change to the pipeline definition repairs it.
    sm.update_pipeline(PipelineName="mlp-sm-pipeline", PipelineDefinition=_definition(3))
    repaired = deploy(lambda: _ml_program(endpoint), calm.records, refresh=True)
    assert _changed(repaired) == {"pipeline": Action.UPDATE}, _errors(repaired)
    assert json.loads(sm.describe_pipeline(PipelineName="mlp-sm-pipeline")["PipelineDefinition"]) == json.loads(
        _definition(1)
    )

    # Updates in place: the endpoint moves to configuration b, the pipeline gets a new definition, the
    # schedule a new expression, and every resource new tags; nothing is replaced.
    new_tags = {"managed-by": "mlplatform", "team": "ml"}
    updated = deploy(
        lambda: _ml_program(endpoint, config="b", steps=2, tags=new_tags, cron="cron(0 0 ? * * *)"), repaired.records
    )
    assert not updated.broken, _errors(updated)
    assert set(_changed(updated).values()) == {Action.UPDATE}
    assert set(_changed(updated)) == {"registry", "model", "config-a", "config-b", "endpoint", "quality", "schedule",
                                      "pipeline", "features"}  # fmt: skip
    described = sm.describe_endpoint(EndpointName="mlp-sm-endpoint")
    assert described["EndpointConfigName"] == "mlp-sm-config-b"
    assert described["ProductionVariants"][0]["CurrentInstanceCount"] == 2
    assert json.loads(sm.describe_pipeline(PipelineName="mlp-sm-pipeline")["PipelineDefinition"]) == json.loads(
        _definition(2)
    )
    schedule = sm.describe_monitoring_schedule(MonitoringScheduleName="mlp-sm-schedule")
    assert schedule["MonitoringScheduleConfig"]["ScheduleConfig"]["ScheduleExpression"] == "cron(0 0 ? * * *)"
    for arn in (group["ModelPackageGroupArn"], model["ModelArn"], described["EndpointArn"],
                quality["JobDefinitionArn"], schedule["MonitoringScheduleArn"], features["FeatureGroupArn"],
                pipeline["PipelineArn"]):  # fmt: skip
        assert _tags(sm, arn) == new_tags, arn

    gone = destroy(updated.records)
    assert not gone.records, _errors(gone)
    missing = [
        (sm.describe_model_package_group, {"ModelPackageGroupName": "mlp-sm-registry"}),
        (sm.describe_model, {"ModelName": "mlp-sm-model"}),
        (sm.describe_endpoint_config, {"EndpointConfigName": "mlp-sm-config-a"}),
        (sm.describe_endpoint_config, {"EndpointConfigName": "mlp-sm-config-b"}),
        (sm.describe_endpoint, {"EndpointName": "mlp-sm-endpoint"}),
        (sm.describe_data_quality_job_definition, {"JobDefinitionName": "mlp-sm-quality"}),
        (sm.describe_monitoring_schedule, {"MonitoringScheduleName": "mlp-sm-schedule"}),
        (sm.describe_pipeline, {"PipelineName": "mlp-sm-pipeline"}),
        (sm.describe_feature_group, {"FeatureGroupName": "mlp-sm-features"}),
    ]
    for call, args in missing:
        with pytest.raises(ClientError):
            call(**args)


def _network(endpoint: str) -> tuple[str, list[str], list[str]]:
    ec2 = client(endpoint, "ec2")
    vpc = ec2.create_vpc(CidrBlock="10.42.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.42.{i}.0/24", AvailabilityZone=f"us-east-1{zone}")["Subnet"][
            "SubnetId"
        ]
        for i, zone in enumerate("ab")
    ]
    groups = [ec2.create_security_group(GroupName=f"mlp-sm-{i}", Description="studio", VpcId=vpc)["GroupId"]
              for i in range(2)]  # fmt: skip
    return vpc, subnets, groups


def _studio_program(
    endpoint: str, vpc: str, subnets: list[str], groups: list[str], *, group: int = 0, volume: int = 10,
    tags: dict[str, str] | None = None,
) -> None:  # fmt: skip
    opts = pulumi.ResourceOptions(provider=provider(endpoint))
    tags = tags or {"managed-by": "mlplatform"}
    domain = aws.sagemaker.Domain(
        "domain", domain_name="mlp-sm-studio", auth_mode="IAM", vpc_id=vpc, subnet_ids=subnets,
        app_network_access_type="VpcOnly", kms_key_id=KEY,
        default_user_settings={"execution_role": ROLE, "security_groups": [groups[group]]},
        retention_policy={"home_efs_file_system": "Delete"}, tags=tags, opts=opts)  # fmt: skip
    aws.sagemaker.NotebookInstance(
        "notebook", name="mlp-sm-notebook", role_arn=ROLE, instance_type="ml.t3.medium", subnet_id=subnets[0],
        security_groups=[groups[0]], kms_key_id=KEY, direct_internet_access="Disabled", root_access="Disabled",
        volume_size=volume, platform_identifier="notebook-al2-v3",
        instance_metadata_service_configuration={"minimum_instance_metadata_service_version": "2"},
        tags=tags, opts=opts)  # fmt: skip
    pulumi.export("domain_url", domain.url)
    pulumi.export("efs", domain.home_efs_file_system_id)


def test_studio_domain_and_notebook(endpoint: str) -> None:
    vpc, subnets, groups = _network(endpoint)
    sm = client(endpoint, "sagemaker")
    first = deploy(lambda: _studio_program(endpoint, vpc, subnets, groups))
    assert not first.broken, _errors(first)

    domains = [d for d in sm.list_domains()["Domains"] if d["DomainName"] == "mlp-sm-studio"]
    assert len(domains) == 1
    domain_id = domains[0]["DomainId"]
    domain = sm.describe_domain(DomainId=domain_id)
    assert domain["AuthMode"] == "IAM" and domain["VpcId"] == vpc and sorted(domain["SubnetIds"]) == sorted(subnets)
    assert domain["AppNetworkAccessType"] == "VpcOnly" and domain["KmsKeyId"] == KEY
    assert domain["DefaultUserSettings"] == {"ExecutionRole": ROLE, "SecurityGroups": [groups[0]]}
    assert _tags(sm, domain["DomainArn"]) == {"managed-by": "mlplatform"}
    assert first.stack_outputs["domain_url"] == domain["Url"]
    assert first.stack_outputs["efs"] == domain["HomeEfsFileSystemId"]

    notebook = sm.describe_notebook_instance(NotebookInstanceName="mlp-sm-notebook")
    assert notebook["NotebookInstanceStatus"] == "InService"
    assert notebook["SubnetId"] == subnets[0] and notebook["SecurityGroups"] == [groups[0]]
    assert notebook["DirectInternetAccess"] == "Disabled" and notebook["RootAccess"] == "Disabled"
    assert notebook["VolumeSizeInGB"] == 10 and notebook["KmsKeyId"] == KEY
    assert notebook["PlatformIdentifier"] == "notebook-al2-v3"
    assert notebook["InstanceMetadataServiceConfiguration"] == {"MinimumInstanceMetadataServiceVersion": "2"}
    assert _tags(sm, notebook["NotebookInstanceArn"]) == {"managed-by": "mlplatform"}

    second = deploy(lambda: _studio_program(endpoint, vpc, subnets, groups), first.records)
    assert {c.action for c in second.plan() if c.custom} == {Action.SAME}
    assert second.counter.mutating == 0 and second.counter.total == 0

    # Drift: a tag removed from the domain behind mlplatform's back; refresh sees it and up restores it.
    sm.delete_tags(ResourceArn=domain["DomainArn"], TagKeys=["managed-by"])
    repaired = deploy(lambda: _studio_program(endpoint, vpc, subnets, groups), second.records, refresh=True)
    assert _changed(repaired) == {"domain": Action.UPDATE}, _errors(repaired)
    assert _tags(sm, domain["DomainArn"]) == {"managed-by": "mlplatform"}

    # In place: the users' security group (UpdateDomain), the notebook's volume (stop, update, start) and tags.
    new_tags = {"managed-by": "mlplatform", "team": "ml"}
    updated = deploy(
        lambda: _studio_program(endpoint, vpc, subnets, groups, group=1, volume=20, tags=new_tags), repaired.records
    )
    assert _changed(updated) == {"domain": Action.UPDATE, "notebook": Action.UPDATE}, _errors(updated)
    assert sm.describe_domain(DomainId=domain_id)["DefaultUserSettings"]["SecurityGroups"] == [groups[1]]
    notebook = sm.describe_notebook_instance(NotebookInstanceName="mlp-sm-notebook")
    assert notebook["VolumeSizeInGB"] == 20 and notebook["NotebookInstanceStatus"] == "InService"
    assert _tags(sm, domain["DomainArn"]) == new_tags == _tags(sm, notebook["NotebookInstanceArn"])

    gone = destroy(updated.records)
    assert not gone.records, _errors(gone)
    with pytest.raises(ClientError):
        sm.describe_domain(DomainId=domain_id)
    with pytest.raises(ClientError):
        sm.describe_notebook_instance(NotebookInstanceName="mlp-sm-notebook")
