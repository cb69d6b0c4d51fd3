"""The reviewer's lost-state scenario, with the real CLI against the real emulator, checked with boto3.

``up --blueprint level1``, then the environment's state folder is deleted (the emulator keeps running):
``up`` must stop before creating anything, naming what already exists and the ways out; ``import``
adopts the platform without a single mutating call; ``up`` then converges — the resource deleted by hand
is created again, the drifted tag is repaired, nothing is duplicated or replaced. Lost a second time and
imported with level0 (as after a blueprint downgrade), the level1-only resources are reported as tagged
but not in the program; ``destroy`` after the full import leaves nothing tagged for the environment.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration.cli import Cli

pytestmark = pytest.mark.integration

ENV = "local"
PLATFORM = "mlp-local"
ALARM = f"{PLATFORM}-demo-5xx-errors"


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cli]:
    root = tmp_path_factory.mktemp("lost-state")
    (root / "work").mkdir()
    runner = Cli(root / "work", root / "state")
    try:
        yield runner
    finally:
        runner.stop_emulator()


def _tagged(cli: Cli) -> list[str]:
    """ARNs tagged for the environment, straight from the tagging API."""
    pages = cli.client("resourcegroupstaggingapi").get_paginator("get_resources")
    filters = [{"Key": "mlplatform:env", "Values": [ENV]}]
    return sorted(
        item["ResourceARN"] for page in pages.paginate(TagFilters=filters) for item in page["ResourceTagMappingList"]
    )


def _inventory(cli: Cli) -> dict[str, Any]:
    """What exists in the emulator, found without mlplatform (counts, and the ids that must not change)."""
    ec2, kms, iam, sm = cli.client("ec2"), cli.client("kms"), cli.client("iam"), cli.client("sagemaker")
    tag = [{"Name": "tag:mlplatform:env", "Values": [ENV]}]
    keys = []
    for key in kms.list_keys()["Keys"]:
        tags = {t["TagKey"]: t["TagValue"] for t in kms.list_resource_tags(KeyId=key["KeyId"])["Tags"]}
        state = kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["KeyState"]
        if tags.get("mlplatform:env") == ENV and state != "PendingDeletion":
            keys.append(key["KeyId"])
    return {
        "vpcs": sorted(v["VpcId"] for v in ec2.describe_vpcs(Filters=tag)["Vpcs"]),
        "keys": sorted(keys),
        "subnets": len(ec2.describe_subnets(Filters=tag)["Subnets"]),
        "roles": len([r for r in iam.list_roles()["Roles"] if r["RoleName"].startswith(PLATFORM + "-")]),
        "models": len(sm.list_models()["Models"]),
        "endpoint_configs": len(sm.list_endpoint_configs()["EndpointConfigs"]),
        "buckets": len([b for b in cli.client("s3").list_buckets()["Buckets"] if b["Name"].startswith(PLATFORM)]),
    }


def test_lost_state_is_refused_then_imported_and_up_converges_without_duplicates(cli: Cli) -> None:
    first = cli.json("up", "--blueprint", "level1", "--yes")
    assert first["failed"] == 0, [s for s in first["steps"] if s["status"] != "ok"]
    deployed = _inventory(cli)
    assert len(deployed["vpcs"]) == 1 and len(deployed["keys"]) == 1, deployed
    tagged_before = _tagged(cli)

    shutil.rmtree(cli.state_dir / "stacks" / ENV)  # the state is lost; the emulator keeps running

    # up stops before changing anything, and says why and what to do.
    refused = cli.run("up", "--yes", code=4)
    assert "error: the plan has errors: 1 planned change would fail; nothing was changed:" in refused.stderr
    assert "- resources already exist: environment 'local' has no resources in its state" in refused.stderr
    assert "deployed with blueprint level1" in refused.stderr
    assert "mlplatform import --env local --blueprint level1" in refused.stderr
    assert _inventory(cli) == deployed and _tagged(cli) == tagged_before
    assert not (cli.state_dir / "stacks" / ENV / "state.json").exists()
    preview = cli.run("preview", code=4)
    assert "error: resources already exist" in preview.stdout

    # Meanwhile, someone deletes an alarm and retags the artifact bucket by hand.
    cli.client("cloudwatch").delete_alarms(AlarmNames=[ALARM])
    s3 = cli.client("s3")
    bucket = next(b["Name"] for b in s3.list_buckets()["Buckets"] if b["Name"].startswith(f"{PLATFORM}-artifacts"))
    tags = s3.get_bucket_tagging(Bucket=bucket)["TagSet"]
    s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": [*tags, {"Key": "edited", "Value": "by-hand"}]})

    # Off a terminal, import asks for --yes and records nothing.
    cli.run("import", "--blueprint", "level1", code=2)
    assert not (cli.state_dir / "stacks" / ENV / "state.json").exists()

    # import adopts the platform; what is gone is reported missing; nothing in the cloud changes.
    imported = cli.json("import", "--blueprint", "level1", "--yes")
    assert imported["imported"] and imported["mutating_api_calls"] == 0 and imported["unmanaged"] == []
    assert [change["name"] for change in imported["missing"]] == ["serving-demo-5xx"]
    assert imported["summary"] == {"import": first["summary"]["create"] - 1, "missing": 1, "in_state": 0}
    adopted = {change["name"]: change for change in imported["adopted"]}
    assert adopted["artifact-store-artifacts-bucket"]["diff"] == ["tags"]
    assert adopted["encryption-key"]["id"] == deployed["keys"][0]
    assert _inventory(cli) == {**deployed} and _tagged(cli) == [arn for arn in tagged_before if ALARM not in arn]

    # up converges: the alarm is created, the drifted tag repaired; no duplicate, no replacement, no failure.
    second = cli.json("up", "--yes")
    assert second["failed"] == 0, [s for s in second["steps"] if s["status"] != "ok"]
    changed = sorted((s["action"], s["name"]) for s in second["steps"] if s["action"] != "same")
    assert changed == [("create", "serving-demo-5xx"), ("update", "artifact-store-artifacts-bucket")]
    assert _inventory(cli) == deployed and _tagged(cli) == tagged_before
    assert {"Key": "edited", "Value": "by-hand"} not in s3.get_bucket_tagging(Bucket=bucket)["TagSet"]
    assert cli.json("up", "--yes")["mutating_api_calls"] == 0

    # Lost again, and imported with the blueprint the environment falls back to (level0): the level1-only
    # resources are reported as tagged but not in the program, with the blueprint they were deployed with.
    shutil.rmtree(cli.state_dir / "stacks" / ENV)
    level0 = cli.json("import", "--yes")
    assert level0["imported"] and level0["mutating_api_calls"] == 0 and level0["missing"] == []
    unmanaged = {item["arn"].rsplit(":", 1)[-1] for item in level0["unmanaged"]}
    assert {f"feature-group/{PLATFORM}-customers", f"pipeline/{PLATFORM}-continuous-training"} <= unmanaged
    assert any("deployed with blueprint level1" in d["message"] for d in level0["diagnostics"])
    rest = cli.json("import", "--blueprint", "level1", "--yes")
    assert rest["summary"]["in_state"] == level0["summary"]["import"] and rest["unmanaged"] == []

    cli.run("destroy", "--yes")
    assert _tagged(cli) == []
    left = _inventory(cli)
    assert left == {"vpcs": [], "keys": [], "subnets": 0, "roles": 0, "models": 0, "endpoint_configs": 0, "buckets": 0}
