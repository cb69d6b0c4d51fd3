"""The main job, as a new user runs it: the real CLI against the real emulator, checked with boto3.

``mlplatform up --blueprint level2 --yes`` from an empty directory provisions the whole platform into the
emulator it starts itself; boto3 then finds every property the security baseline promises; a second
``up`` changes nothing and makes no mutating API call; ``destroy`` leaves nothing tagged
``managed-by=mlplatform``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.cli import Cli

pytestmark = pytest.mark.integration

PLATFORM = "mlp-local"
ACCOUNT = "123456789012"


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cli]:
    root = tmp_path_factory.mktemp("lifecycle")
    (root / "work").mkdir()
    runner = Cli(root / "work", root / "state")
    try:
        yield runner
    finally:
        runner.stop_emulator()


def _tags(cli: Cli, service: str, arn: str) -> dict[str, str]:
    if service == "sagemaker":
        return {t["Key"]: t["Value"] for t in cli.client("sagemaker").list_tags(ResourceArn=arn)["Tags"]}
    raise AssertionError(service)


def test_up_level2_builds_the_platform_and_a_second_up_changes_nothing(cli: Cli) -> None:
    first = cli.json("up", "--blueprint", "level2", "--yes")
    assert first["failed"] == 0 and first["summary"]["create"] > 90, first["summary"]
    assert first["blueprint"] == "level2"
    outputs = first["outputs"]

    s3, kms, ecr = cli.client("s3"), cli.client("kms"), cli.client("ecr")
    key_arn = outputs["kms_key_arn"]
    assert kms.get_key_rotation_status(KeyId=key_arn)["KeyRotationEnabled"] is True
    buckets = [b["Name"] for b in s3.list_buckets()["Buckets"] if b["Name"].startswith(PLATFORM)]
    assert len(buckets) == 3, buckets
    for bucket in buckets:
        assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
        block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
        assert all(block.values()), (bucket, block)
        rule = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
        default = rule["ApplyServerSideEncryptionByDefault"]
        if "access-logs" in bucket:
            assert default["SSEAlgorithm"] == "AES256"
        else:
            assert default["SSEAlgorithm"] == "aws:kms" and default["KMSMasterKeyID"] == key_arn
            assert s3.get_bucket_logging(Bucket=bucket)["LoggingEnabled"]["TargetBucket"].endswith(
                "access-logs-" + ACCOUNT
            )
        policy = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
        assert any(s.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}} for s in policy["Statement"])
        tags = {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket=bucket)["TagSet"]}
        assert tags["managed-by"] == "mlplatform" and tags["mlplatform:blueprint"] == "level2"

    repos = ecr.describe_repositories()["repositories"]
    assert {r["repositoryName"] for r in repos} == {f"{PLATFORM}/training", f"{PLATFORM}/serving"}
    for repo in repos:
        assert repo["imageScanningConfiguration"]["scanOnPush"] is True
        assert repo["imageTagMutability"] == "IMMUTABLE"
        assert repo["encryptionConfiguration"]["encryptionType"] == "KMS"

    sm = cli.client("sagemaker")
    group = sm.describe_model_package_group(ModelPackageGroupName=f"{PLATFORM}-default")
    assert _tags(cli, "sagemaker", group["ModelPackageGroupArn"])["managed-by"] == "mlplatform"
    feature_group = sm.describe_feature_group(FeatureGroupName=f"{PLATFORM}-customers")
    assert feature_group["OfflineStoreConfig"]["S3StorageConfig"]["KmsKeyId"] == key_arn
    pipeline = sm.describe_pipeline(PipelineName=f"{PLATFORM}-continuous-training")
    definition = json.loads(pipeline["PipelineDefinition"])
    assert [s["Name"] for s in definition["Steps"]] == ["Preprocess", "Train", "Evaluate", "CheckMetric"]
    # The image is a parameter (CI runs a new immutable tag per execution); its default is the real repository.
    training_repo = next(r["repositoryUri"] for r in repos if r["repositoryName"] == f"{PLATFORM}/training")
    image = next(p for p in definition["Parameters"] if p["Name"] == "ImageUri")
    assert image["DefaultValue"] == f"{training_repo}:latest"
    assert definition["Steps"][1]["Arguments"]["AlgorithmSpecification"]["TrainingImage"] == {
        "Get": "Parameters.ImageUri"
    }
    endpoint = sm.describe_endpoint(EndpointName=f"{PLATFORM}-demo")
    config = sm.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
    assert config["KmsKeyId"] == key_arn and config["DataCaptureConfig"]["EnableCapture"] is True
    assert sm.describe_model(ModelName=config["ProductionVariants"][0]["ModelName"])["EnableNetworkIsolation"]
    schedule = sm.describe_monitoring_schedule(MonitoringScheduleName=f"{PLATFORM}-demo-data-quality")
    assert schedule["MonitoringScheduleConfig"]["MonitoringType"] == "DataQuality"
    domains = sm.list_domains()["Domains"]
    assert [d["DomainName"] for d in domains] == [PLATFORM]
    assert sm.describe_domain(DomainId=domains[0]["DomainId"])["AppNetworkAccessType"] == "VpcOnly"

    alarms = cli.client("cloudwatch").describe_alarms(AlarmNamePrefix=PLATFORM)["MetricAlarms"]
    assert len(alarms) == 3 and all(a["AlarmActions"] == [outputs["alarm_topic_arn"]] for a in alarms)
    rules = {r["Name"] for r in cli.client("events").list_rules(NamePrefix=PLATFORM)["Rules"]}
    assert {f"{PLATFORM}-model-approval", f"{PLATFORM}-drift", f"{PLATFORM}-continuous-training-schedule"} <= rules
    groups = cli.client("logs").describe_log_groups()["logGroups"]
    assert all(
        g.get("kmsKeyId") and g.get("retentionInDays", 0) >= 365 for g in groups if PLATFORM in g["logGroupName"]
    )
    assert cli.client("codepipeline").get_pipeline(name=f"{PLATFORM}-model-delivery")["pipeline"]["stages"]

    refreshed = cli.json("refresh")
    drift = [(step["name"], step["detail"]) for step in refreshed["steps"] if step["detail"]]
    assert not drift, f"refresh right after up reports drift: {drift}"

    second = cli.json("up", "--yes")  # no --blueprint: the env remembers level2
    assert second["blueprint"] == "level2"
    assert second["summary"]["create"] == second["summary"]["update"] == second["summary"]["delete"] == 0
    assert second["summary"]["same"] == first["summary"]["create"]
    assert second["mutating_api_calls"] == 0, second["mutating_api_calls"]

    plan = cli.json("preview", "--blueprint", "level2")
    assert plan["format_version"] and not any(c["action"] != "same" for c in plan["changes"])
    cli.run("preview", "--blueprint", "level2", "--detailed-exitcode", code=0)
    cli.run("preview", "--blueprint", "level1", "--expect-no-changes", code=7)
    downgrade = cli.run("preview", "--blueprint", "level1").stdout
    assert downgrade.splitlines()[1].startswith("blueprint level2 -> level1"), downgrade[:300]  # after the project line

    listed = cli.run("state", "list").stdout
    assert "aws:s3/bucket:Bucket" in listed
    shown = cli.json("outputs")
    assert shown["artifact_bucket"] == outputs["artifact_bucket"]


def test_destroy_leaves_nothing_tagged(cli: Cli) -> None:
    # Its own precondition: the level2 platform is deployed — by the test above, or here when this test runs
    # on its own — so that a destroy that removed nothing would fail the checks below.
    listed = cli.run("state", "list", code=None)  # exit 6: nothing was ever deployed from this project
    if listed.returncode == 6 or "no resources" in listed.stdout:
        assert cli.json("up", "--blueprint", "level2", "--yes")["failed"] == 0
    tagging = cli.client("resourcegroupstaggingapi")
    deployed = tagging.get_resources(TagFilters=[{"Key": "managed-by", "Values": ["mlplatform"]}])
    assert len(deployed["ResourceTagMappingList"]) > 10, deployed["ResourceTagMappingList"]

    cli.run("destroy", "--yes")
    leftovers = tagging.get_resources(TagFilters=[{"Key": "managed-by", "Values": ["mlplatform"]}])
    assert leftovers["ResourceTagMappingList"] == [], leftovers["ResourceTagMappingList"][:5]
    s3 = cli.client("s3")
    assert not [b for b in s3.list_buckets()["Buckets"] if b["Name"].startswith(PLATFORM)]
    assert not cli.client("ecr").describe_repositories()["repositories"]
    assert not [r for r in cli.client("iam").list_roles()["Roles"] if r["RoleName"].startswith(PLATFORM)]
    sm = cli.client("sagemaker")
    assert not sm.list_endpoints()["Endpoints"] and not sm.list_model_package_groups()["ModelPackageGroupSummaryList"]
    assert not sm.list_domains()["Domains"] and not sm.list_pipelines()["PipelineSummaries"]
    assert not cli.client("ec2").describe_vpcs(Filters=[{"Name": "tag:managed-by", "Values": ["mlplatform"]}])["Vpcs"]
    for key in cli.client("kms").list_keys()["Keys"]:
        meta = cli.client("kms").describe_key(KeyId=key["KeyId"])["KeyMetadata"]
        assert meta["KeyState"] == "PendingDeletion", meta
    assert "no resources" in cli.run("state", "list").stdout


@pytest.mark.parametrize(
    ("blueprint", "has_pipeline"),
    [("level0", False), ("level1", True)],
)
def test_each_lower_level_deploys_what_it_declares(cli: Cli, blueprint: str, has_pipeline: bool) -> None:
    """level0 and level1 in their own environments (level2 is the test above), checked with boto3."""
    env = f"tier-{blueprint}"
    cli.run("init", "--env", env, "--blueprint", blueprint, "--target", "local", "--force")
    golden = (Path(__file__).parents[1] / "unit" / "golden" / f"{blueprint}.txt").read_text(encoding="utf-8")
    first = cli.json("up", "--env", env, "--yes")
    assert first["failed"] == 0
    created = sorted(f"{step['type']} {step['name']}" for step in first["steps"] if step["action"] == "create")
    # The init'ed env declares no sample feature group or endpoint, so it deploys a subset of the golden list.
    assert set(created) <= set(golden.splitlines()), set(created) - set(golden.splitlines())
    prefix = f"mlp-{env}"
    sm = cli.client("sagemaker")
    pipelines = [
        p["PipelineName"] for p in sm.list_pipelines()["PipelineSummaries"] if p["PipelineName"].startswith(prefix)
    ]
    assert bool(pipelines) == has_pipeline
    assert sm.describe_model_package_group(ModelPackageGroupName=f"{prefix}-default")["ModelPackageGroupStatus"]
    endpoints = cli.client("ec2").describe_vpc_endpoints(Filters=[{"Name": "tag:mlplatform:env", "Values": [env]}])
    assert len(endpoints["VpcEndpoints"]) == (8 if blueprint == "level1" else 3)
    assert cli.json("up", "--env", env, "--yes")["mutating_api_calls"] == 0
    cli.run("destroy", "--env", env, "--yes")
    assert not [p for p in sm.list_pipelines()["PipelineSummaries"] if p["PipelineName"].startswith(prefix)]
