"""The platform program's resources, level by level: inventory, security properties, tags, protection.

The program runs through the embedded engine with fake handlers (see ``platform_plans``), so every
input — policies built from ARNs included — is known and inspected here. What Checkov cannot see is
enforced here: no IAM statement allows a wildcard action, training and monitoring jobs encrypt
inter-container traffic, data is never force-destroyed unless the env allows it, stateful resources are
protected when the env says so, and every taggable resource carries the four mlplatform tags.
"""

from __future__ import annotations

import inspect
import itertools
import json
import os
from pathlib import Path
from typing import Any

import pulumi_aws as aws
import pytest

from mlplatform import environments
from mlplatform.engine.embedded.handlers import supported_types
from mlplatform.engine.embedded.state import ResourceState
from tests.unit.platform_plans import PlatformPlan, evaluate, plan_for

GOLDEN = Path(__file__).parent / "golden"
LEVELS = ("level0", "level1", "level2")
TAGS = ("mlplatform:env", "mlplatform:blueprint", "mlplatform:component", "managed-by")
STATEFUL = (
    "aws:s3/bucket:Bucket",
    "aws:kms/key:Key",
    "aws:ecr/repository:Repository",
    "aws:sagemaker/modelPackageGroup:ModelPackageGroup",
    "aws:sagemaker/featureGroup:FeatureGroup",
)


def _resource_class(type_: str) -> Any:
    """``aws:s3/bucket:Bucket`` -> ``pulumi_aws.s3.Bucket``."""
    module = type_.split(":")[1].split("/")[0]
    return getattr(getattr(aws, module), type_.rsplit(":", 1)[1])


def _taggable(type_: str) -> bool:
    return "tags" in inspect.signature(_resource_class(type_)._internal_init).parameters


# A VPC endpoint's policy is a perimeter, not a grant: AWS's data-perimeter pattern allows every action of the
# service but only for the account's identities on the account's resources. tests/unit/test_network_policies.py
# holds those policies to that (and the S3 gateway's to the platform's buckets).
ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"


def _policies(plan: PlatformPlan) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for record in plan.custom():
        if record.type == ENDPOINT:
            continue
        for key in ("policy", "assumeRolePolicy"):
            value = record.inputs.get(key)
            document = json.loads(value) if isinstance(value, str) and value.strip().startswith("{") else None
            if document is not None and "Statement" in document:  # not e.g. an ECR lifecycle policy
                found.append((f"{plan.name(record)}.{key}", document))
    return found


@pytest.mark.parametrize("blueprint", LEVELS)
def test_inventory_matches_the_golden_list(blueprint: str) -> None:
    """The resources of each level, by type and name. Update deliberately: MLPLATFORM_UPDATE_GOLDEN=1."""
    inventory = "\n".join(plan_for(blueprint).inventory()) + "\n"
    path = GOLDEN / f"{blueprint}.txt"
    if os.environ.get("MLPLATFORM_UPDATE_GOLDEN"):
        path.write_text(inventory, encoding="utf-8")
    assert inventory == path.read_text(encoding="utf-8"), f"{blueprint} inventory changed; see {path}"


def test_each_level_contains_the_level_below() -> None:
    for lower, higher in itertools.pairwise(LEVELS):
        missing = set(plan_for(lower).inventory()) - set(plan_for(higher).inventory())
        assert not missing, f"{higher} lacks what {lower} has: {sorted(missing)}"


@pytest.mark.parametrize("blueprint", LEVELS)
def test_every_registered_type_has_a_handler(blueprint: str) -> None:
    missing = {r.type for r in plan_for(blueprint).custom()} - supported_types()
    assert not missing, f"no embedded-engine handler for {sorted(missing)}"


def test_variants_have_handlers_too() -> None:
    """Notebook dev environment and GitHub OIDC CI/CD register other types than the defaults."""
    plan = _variant(
        "level2",
        {"dev_environment": {"kind": "notebook"}, "cicd": {"provider": "github-oidc", "repository": "acme/models"}},
    )
    types = {r.type for r in plan.custom()}
    assert {
        "aws:sagemaker/notebookInstance:NotebookInstance",
        "aws:iam/openIdConnectProvider:OpenIdConnectProvider",
    } <= types
    assert not types - supported_types()


@pytest.mark.parametrize("blueprint", LEVELS)
def test_every_taggable_resource_carries_the_four_tags(blueprint: str) -> None:
    plan = plan_for(blueprint)
    untagged = [
        plan.name(r)
        for r in plan.custom()
        if _taggable(r.type) and not all(k in (r.inputs.get("tags") or {}) for k in TAGS)
    ]
    assert not untagged
    tags = plan.of_type("aws:s3/bucket:Bucket")[0].inputs["tags"]
    assert tags["managed-by"] == "mlplatform" and tags["mlplatform:blueprint"] == blueprint


@pytest.mark.parametrize("blueprint", LEVELS)
def test_no_iam_statement_allows_a_wildcard_action(blueprint: str) -> None:
    plan = plan_for(blueprint)
    policies = _policies(plan)
    assert len(policies) > 5
    for where, document in policies:
        for item in document["Statement"]:
            if item["Effect"] != "Allow":
                continue
            actions = item.get("Action", [])
            for action in [actions] if isinstance(actions, str) else actions:
                assert action != "*" and not action.endswith(":*"), f"{where}: {item.get('Sid')} allows {action}"


@pytest.mark.parametrize("blueprint", LEVELS)
def test_storage_is_encrypted_versioned_private_and_tls_only(blueprint: str) -> None:
    plan = plan_for(blueprint)
    buckets = plan.of_type("aws:s3/bucket:Bucket")
    by_bucket: dict[str, dict[str, ResourceState]] = {}
    for record in plan.custom():
        if record.type.startswith("aws:s3/bucket") and record.type != "aws:s3/bucket:Bucket":
            bucket = record.inputs.get("bucket")
            by_bucket.setdefault(str(bucket), {})[record.type.split(":")[-1]] = record
    for bucket in buckets:
        config = by_bucket[bucket.id or ""]
        assert config["BucketVersioning"].inputs["versioningConfiguration"]["status"] == "Enabled"
        assert all(
            config["BucketPublicAccessBlock"].inputs[key]
            for key in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
        )
        rule = config["BucketServerSideEncryptionConfiguration"].inputs["rules"][0]
        algorithm = rule["applyServerSideEncryptionByDefault"]["sseAlgorithm"]
        if "access-logs" in (bucket.inputs.get("bucket") or ""):
            assert algorithm == "AES256"  # AWS requires SSE-S3 on server-access-log targets
        else:
            assert algorithm == "aws:kms"
            assert config["BucketLogging"].inputs["targetBucket"]
        policy = json.loads(config["BucketPolicy"].inputs["policy"])
        assert any(
            s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
            for s in policy["Statement"]
        )
        assert config["BucketLifecycleConfiguration"].inputs["rules"][0]["noncurrentVersionExpiration"]


def test_keys_rotate_and_repositories_scan_immutably_with_kms() -> None:
    plan = plan_for("level0")
    assert [k.inputs["enableKeyRotation"] for k in plan.of_type("aws:kms/key:Key")] == [True]
    for repo in plan.of_type("aws:ecr/repository:Repository"):
        assert repo.inputs["imageTagMutability"] == "IMMUTABLE"
        assert repo.inputs["imageScanningConfiguration"]["scanOnPush"] is True
        assert repo.inputs["encryptionConfigurations"][0]["encryptionType"] == "KMS"


def test_log_groups_are_encrypted_and_kept_a_year() -> None:
    for group in plan_for("level2").of_type("aws:cloudwatch/logGroup:LogGroup"):
        assert group.inputs["kmsKeyId"] and group.inputs["retentionInDays"] >= 365


def test_network_defaults_deny_and_flow_logs_record() -> None:
    plan = plan_for("level1")
    default = plan.of_type("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")[0]
    assert default.inputs.get("ingress", []) == [] and default.inputs.get("egress", []) == []
    assert plan.of_type("aws:ec2/flowLog:FlowLog")[0].inputs["trafficType"] == "ALL"
    assert all(not s.inputs.get("mapPublicIpOnLaunch") for s in plan.of_type("aws:ec2/subnet:Subnet"))


def test_dev_environment_is_vpc_only_without_root_or_internet() -> None:
    domain = plan_for("level0").of_type("aws:sagemaker/domain:Domain")[0]
    assert domain.inputs["appNetworkAccessType"] == "VpcOnly" and domain.inputs["kmsKeyId"]
    notebook = _variant("level0", {"dev_environment": {"kind": "notebook"}}).of_type(
        "aws:sagemaker/notebookInstance:NotebookInstance"
    )[0]
    assert notebook.inputs["rootAccess"] == "Disabled" and notebook.inputs["directInternetAccess"] == "Disabled"
    assert notebook.inputs["instanceMetadataServiceConfiguration"]["minimumInstanceMetadataServiceVersion"] == "2"


def test_serving_is_encrypted_isolated_and_rolls_back() -> None:
    plan = plan_for("level2")
    assert all(m.inputs["enableNetworkIsolation"] for m in plan.of_type("aws:sagemaker/model:Model"))
    config = plan.of_type("aws:sagemaker/endpointConfiguration:EndpointConfiguration")[0]
    assert config.inputs["kmsKeyArn"] and config.inputs["dataCaptureConfig"]["kmsKeyId"]
    endpoint = plan.of_type("aws:sagemaker/endpoint:Endpoint")[0]
    policy = endpoint.inputs["deploymentConfig"]
    assert policy["blueGreenUpdatePolicy"]["trafficRoutingConfiguration"]["type"] == "CANARY"
    assert len(policy["autoRollbackConfiguration"]["alarms"]) == 3
    assert plan.of_type("aws:appautoscaling/policy:Policy")


def test_jobs_encrypt_inter_container_traffic() -> None:
    plan = plan_for("level1")
    definition = json.loads(plan.of_type("aws:sagemaker/pipeline:Pipeline")[0].inputs["pipelineDefinition"])
    train = next(step for step in definition["Steps"] if step["Type"] == "Training")
    assert train["Arguments"]["EnableInterContainerTrafficEncryption"] is True
    assert train["Arguments"]["ResourceConfig"]["VolumeKmsKeyId"]
    assert train["Arguments"]["VpcConfig"]["Subnets"]
    for job in plan.of_type("aws:sagemaker/dataQualityJobDefinition:DataQualityJobDefinition"):
        assert job.inputs["networkConfig"]["enableInterContainerTrafficEncryption"] is True
        assert job.inputs["dataQualityJobOutputConfig"]["kmsKeyId"]


def test_local_data_may_be_destroyed_but_real_environments_protect_it() -> None:
    local = plan_for("level2")
    assert all(b.inputs["forceDestroy"] for b in local.of_type("aws:s3/bucket:Bucket"))
    assert not any(r.protect for r in local.custom())
    dev = plan_for("level2", "prod")
    assert dev.spec.protect and not dev.spec.allow_destroy_data
    assert not any(b.inputs.get("forceDestroy") for b in dev.of_type("aws:s3/bucket:Bucket"))
    assert not any(r.inputs.get("forceDelete") for r in dev.of_type("aws:ecr/repository:Repository"))
    for type_ in STATEFUL:
        records = dev.of_type(type_)
        if type_ != "aws:sagemaker/featureGroup:FeatureGroup":
            assert records, type_
        assert all(r.protect for r in records), type_


def test_outputs_name_what_data_scientists_need() -> None:
    outputs = plan_for("level2").outputs
    for key in (
        "artifact_bucket",
        "user_role_arn",
        "training_role_arn",
        "serving_role_arn",
        "monitoring_role_arn",
        "repository_urls",
        "model_package_groups",
        "feature_groups",
        "pipeline_arn",
        "endpoints",
        "alarm_topic_arn",
        "dashboard_name",
    ):
        assert outputs.get(key), key
    assert outputs["repository_urls"]["serving"].startswith("fake-repositoryUrl")


def test_an_endpoint_without_a_model_prepares_alarms_but_no_endpoint() -> None:
    plan = _variant("level0", {"serving": {"endpoints": [{"name": "later"}]}})
    assert not plan.of_type("aws:sagemaker/endpoint:Endpoint")
    assert plan.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
    assert "no model" in plan.outputs["endpoint_status"]["later"]


def _variant(blueprint: str, overrides: dict[str, Any]) -> PlatformPlan:
    local = environments.BUILTIN_LOCAL
    merged = dict(local.overrides or {})
    merged.update(overrides)
    settings = local.model_copy(update={"overrides": merged})
    return evaluate(environments.resolve_loaded("local", None, settings, blueprint=blueprint).spec)


def test_model_quality_monitoring_is_refused_rather_than_ignored() -> None:
    from mlplatform.errors import MlplatformError

    with pytest.raises(MlplatformError, match="model-quality monitoring cannot be provisioned"):
        _variant("level2", {"monitoring": {"model_quality": {"enabled": True}}})


def _resource_table() -> str:
    counts: dict[str, dict[str, int]] = {}
    for level in LEVELS:
        for record in plan_for(level).custom():
            counts.setdefault(record.type, dict.fromkeys(LEVELS, 0))[level] += 1
    rows = ["| AWS resource (pulumi-aws type) | level0 | level1 | level2 |", "| --- | --- | --- | --- |"]
    for type_ in sorted(counts):
        cells = " | ".join(str(counts[type_][level] or "—") for level in LEVELS)
        rows.append(f"| `{type_}` | {cells} |")
    totals = " | ".join(str(len(plan_for(level).custom())) for level in LEVELS)
    rows.append(f"| **total** | {totals} |")
    return "\n".join(rows)


def test_docs_list_exactly_what_each_level_deploys() -> None:
    """docs/blueprints.md's resource table is the inventory of the built-in local env, level by level."""
    path = Path(__file__).parents[2] / "docs" / "blueprints.md"
    text = path.read_text(encoding="utf-8")
    start, end = "<!-- resources-table:start -->\n", "\n<!-- resources-table:end -->"
    before, rest = text.split(start, 1)
    _, after = rest.split(end, 1)
    table = _resource_table()
    if os.environ.get("MLPLATFORM_UPDATE_GOLDEN"):
        path.write_text(before + start + table + end + after, encoding="utf-8")
        return
    assert rest.split(end, 1)[0] == table, "docs/blueprints.md is stale: MLPLATFORM_UPDATE_GOLDEN=1 pytest tests/unit"


def test_an_endpoint_image_must_name_one_of_the_platforms_repositories() -> None:
    from mlplatform.errors import MlplatformError

    endpoint = {"name": "churn", "model": {"image": "servng:1.0"}}
    with pytest.raises(MlplatformError) as caught:
        _variant("level0", {"serving": {"endpoints": [endpoint]}})
    assert "serving.endpoints[0].model.image" in str(caught.value) and "'servng'" in str(caught.value)
    full = {"name": "churn", "model": {"image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/other:1.0"}}
    plan = _variant("level0", {"serving": {"endpoints": [full]}})
    model = plan.of_type("aws:sagemaker/model:Model")[0]
    assert model.inputs["primaryContainer"]["image"] == full["model"]["image"]
