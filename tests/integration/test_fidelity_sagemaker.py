"""SageMaker handlers do in place what the provider does in place, and generate the names pulumi-aws generates.

Against mlplatform's emulator server. The in-place updates are driven through the handlers themselves (the
engine decides *whether* to update from the replace-rules table; these check that the update really reaches
AWS), the auto-names through a deployment.
"""

from __future__ import annotations

import re
from typing import Any

import pulumi
import pulumi_aws as aws
import pytest

from mlplatform.engine.embedded.handlers.appautoscaling import PolicyHandler
from mlplatform.engine.embedded.handlers.base import AwsContext, CallCounter, StepContext
from mlplatform.engine.embedded.handlers.sagemaker import FeatureGroupHandler
from mlplatform.engine.embedded.handlers.sagemaker_studio import DomainHandler, NotebookInstanceHandler
from tests.integration.harness import SERVICES, client, deploy, destroy, provider

pytestmark = pytest.mark.integration

ROLE = "arn:aws:iam::123456789012:role/sagemaker-execution"
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/model:1"
URN_TAG = "mlplatform:urn"


def _ctx(endpoint: str, name: str, type_: str = "aws:sagemaker/x:X") -> StepContext:
    aws_ctx = AwsContext(
        {"region": "us-east-1", "accessKey": "testing", "secretKey": "testing",
         "endpoints": [dict.fromkeys((*SERVICES, "resourcegroupstaggingapi"), endpoint)]},
        CallCounter(),
    )  # fmt: skip
    return StepContext(aws=aws_ctx, urn=f"urn:pulumi:test::fidelity::{type_}::{name}", name=name, urn_tag=URN_TAG)


def _feature_group(name: str, throughput: dict[str, Any]) -> dict[str, Any]:
    return {
        "featureGroupName": name,
        "recordIdentifierFeatureName": "id",
        "eventTimeFeatureName": "ts",
        "featureDefinitions": [{"featureName": "id", "featureType": "String"},
                               {"featureName": "ts", "featureType": "String"}],
        "roleArn": ROLE,
        "onlineStoreConfig": {"enableOnlineStore": True},
        "offlineStoreConfig": {"s3StorageConfig": {"s3Uri": "s3://mlp-fid/features"}},
        "throughputConfig": throughput,
    }  # fmt: skip


def test_feature_group_throughput_updates_in_place(endpoint: str) -> None:
    handler = FeatureGroupHandler()
    ctx = _ctx(endpoint, "features")
    sm = client(endpoint, "sagemaker")
    olds = _feature_group("mlp-fid-features", {"throughputMode": "Provisioned", "provisionedReadCapacityUnits": 5,
                                               "provisionedWriteCapacityUnits": 5})  # fmt: skip
    group_id, outputs = handler.create(ctx, olds)
    created = sm.describe_feature_group(FeatureGroupName=group_id)
    assert created["ThroughputConfig"]["ProvisionedReadCapacityUnits"] == 5
    try:
        news = {**olds, "throughputConfig": {**olds["throughputConfig"], "provisionedReadCapacityUnits": 20}}
        handler.update(ctx, group_id, olds, news, outputs)
        updated = sm.describe_feature_group(FeatureGroupName=group_id)
        assert updated["ThroughputConfig"] == {
            "ThroughputMode": "Provisioned", "ProvisionedReadCapacityUnits": 20, "ProvisionedWriteCapacityUnits": 5
        }  # fmt: skip
        assert updated["CreationTime"] == created["CreationTime"]  # the same group: its online records are kept
        assert handler.read(ctx, group_id, news)["throughputConfig"] == news["throughputConfig"]  # type: ignore[index]
    finally:
        handler.delete(ctx, group_id, olds, outputs)


def _domain(settings: dict[str, Any], propagation: str) -> dict[str, Any]:
    return {
        "domainName": "mlp-fid-domain",
        "authMode": "IAM",
        "vpcId": "vpc-1",
        "subnetIds": ["subnet-1"],
        "defaultUserSettings": {"executionRole": ROLE},
        "domainSettings": settings,
        "tagPropagation": propagation,
    }


def test_domain_settings_and_tag_propagation_update_in_place(endpoint: str) -> None:
    handler = DomainHandler()
    ctx = _ctx(endpoint, "studio")
    sm = client(endpoint, "sagemaker")
    olds = _domain({"executionRoleIdentityConfig": "DISABLED"}, "DISABLED")
    domain_id, outputs = handler.create(ctx, olds)
    try:
        described = sm.describe_domain(DomainId=domain_id)
        assert described["TagPropagation"] == "DISABLED"
        news = _domain({"executionRoleIdentityConfig": "USER_PROFILE_NAME"}, "ENABLED")
        handler.update(ctx, domain_id, olds, news, outputs)
        updated = sm.describe_domain(DomainId=domain_id)
        assert updated["DomainId"] == domain_id  # in place: the users' home file system stays
        assert updated["TagPropagation"] == "ENABLED"
        assert updated["DomainSettings"]["ExecutionRoleIdentityConfig"] == "USER_PROFILE_NAME"
        live = handler.read(ctx, domain_id, news)
        assert live is not None
        assert live["tagPropagation"] == "ENABLED"
        assert live["domainSettings"] == news["domainSettings"]
    finally:
        handler.delete(ctx, domain_id, olds, outputs)


def test_an_auto_named_notebook_instance_is_named_like_pulumi_and_found_again(endpoint: str) -> None:
    handler = NotebookInstanceHandler()
    ctx = _ctx(endpoint, "Notebook", "aws:sagemaker/notebookInstance:NotebookInstance")
    inputs = {"instanceType": "ml.t3.medium", "roleArn": ROLE}
    name, outputs = handler.create(ctx, inputs)
    try:
        assert re.fullmatch(r"Notebook-[0-9a-f]{7}", name), name
        assert outputs["name"] == name
        found = handler.find(ctx, inputs)  # an interrupted run's instance: found by its URN tag
        assert found is not None and found[0] == name
        assert handler.find(_ctx(endpoint, "other", "aws:sagemaker/notebookInstance:NotebookInstance"), inputs) is None
    finally:
        handler.delete(ctx, name, inputs, outputs)


def test_an_auto_named_scaling_policy_has_pulumis_name(endpoint: str) -> None:
    target = {"serviceNamespace": "sagemaker", "resourceId": "endpoint/mlp-fid/variant/AllTraffic",
              "scalableDimension": "sagemaker:variant:DesiredInstanceCount"}  # fmt: skip
    aas = client(endpoint, "application-autoscaling")
    aas.register_scalable_target(**{k[0].upper() + k[1:]: v for k, v in target.items()}, MinCapacity=1, MaxCapacity=2)
    handler = PolicyHandler()
    ctx = _ctx(endpoint, "scale", "aws:appautoscaling/policy:Policy")
    metric = {"predefinedMetricType": "SageMakerVariantInvocationsPerInstance"}
    tracking = {"targetValue": 70.0, "predefinedMetricSpecification": metric}
    inputs = {**target, "policyType": "TargetTrackingScaling", "targetTrackingScalingPolicyConfiguration": tracking}
    name, outputs = handler.create(ctx, inputs)
    try:
        assert re.fullmatch(r"scale-[0-9a-f]{7}", name), name
        assert handler.find(ctx, inputs) is None  # no name to look up, and no URN tag on a policy
    finally:
        handler.delete(ctx, name, inputs, outputs)


def _named_program(endpoint: str) -> None:
    opts = pulumi.ResourceOptions(provider=provider(endpoint))
    model = aws.sagemaker.Model(
        "fidmodel", execution_role_arn=ROLE, primary_container={"image": IMAGE, "mode": "SingleModel"}, opts=opts
    )
    aws.sagemaker.EndpointConfiguration(
        "fidconfig", name_prefix="mlp-fid-",
        production_variants=[{"variant_name": "AllTraffic", "model_name": model.name, "initial_instance_count": 1,
                              "instance_type": "ml.m5.large"}],
        opts=opts,
    )  # fmt: skip


def test_models_and_endpoint_configurations_get_pulumis_names(endpoint: str) -> None:
    sm = client(endpoint, "sagemaker")
    first = deploy(lambda: _named_program(endpoint))
    assert not first.broken, first.errors if hasattr(first, "errors") else first
    try:
        models = [m["ModelName"] for m in sm.list_models()["Models"] if m["ModelName"].startswith("fidmodel-")]
        assert len(models) == 1 and re.fullmatch(r"fidmodel-[0-9a-f]{7}", models[0]), models
        configs = [c["EndpointConfigName"] for c in sm.list_endpoint_configs()["EndpointConfigs"]
                   if c["EndpointConfigName"].startswith("mlp-fid-")]  # fmt: skip
        # Terraform's prefixed unique id: the prefix and 26 characters, no dash between.
        assert len(configs) == 1 and re.fullmatch(r"mlp-fid-\d{18}[0-9a-f]{8}", configs[0]), configs
    finally:
        destroy(first.records)
