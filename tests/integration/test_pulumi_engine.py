"""The Pulumi engine through the real CLI: ``mlplatform ... --engine pulumi`` on level2, checked with boto3.

Real parts throughout: the ``mlplatform`` console script in a subprocess, the Pulumi CLI from
``scripts/pulumi-cli``, the emulator provider plugin (the ``pulumi-resource-aws`` shim first on PATH, in an
isolated ``PULUMI_HOME``), Pulumi's file backend under the state folder, and the test's own emulator. The
tests run in file order on one environment: up, a no-op up, a changed setting (update), a replace-forcing
change, drift found by ``preview --refresh`` and repaired, a concurrent ``up`` refused on Pulumi's lock,
``destroy``. What happens after a run killed with SIGKILL is in ``test_pulumi_killed_runs.py``.

Each Pulumi run costs seconds (CLI and plugin start, the program, ~120 resources); the timings of the
level2 runs are printed (``pytest -s``) for docs/performance.md.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.integration.cli import Cli
from tests.integration.pulumi_env import isolated, needs_cli

pytestmark = [pytest.mark.integration, *needs_cli]

PLATFORM = "mlp-local"
ENV_TAG = {"Key": "mlplatform:env", "Values": ["local"]}
PROVIDER_SECRET = "mlplatform-local"
"""The program's emulator provider credentials (``make_provider``): pulumi-aws marks them secret."""


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cli]:
    root = tmp_path_factory.mktemp("pulumi-engine")
    (root / "work").mkdir()
    runner = Cli(root / "work", root / "state", extra_env=isolated(root))
    try:
        yield runner
    finally:
        runner.stop_emulator()


def _timed(cli: Cli, *args: str, code: int | None = 0) -> dict[str, Any]:
    started = time.monotonic()
    result = cli.json(*args, code=code)
    print(f"\n[timing] mlplatform {' '.join(args)}: {time.monotonic() - started:.1f} s")
    return result


def _write_env(cli: Cli, **overrides: Any) -> None:
    (cli.cwd / "stacks").mkdir(exist_ok=True)
    document = {
        "target": "local",
        "samples": True,
        "overrides": {"protect": False, "allow_destroy_data": True, **overrides},
    }
    (cli.cwd / "stacks" / "local.yaml").write_text(yaml.safe_dump(document), encoding="utf-8")


def _changed(plan: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {change["name"]: change for change in plan["changes"] if change["action"] != "same"}


def _vpcs(cli: Cli) -> list[dict[str, Any]]:
    return list(cli.client("ec2").describe_vpcs(Filters=[{"Name": "tag:mlplatform:env", "Values": ["local"]}])["Vpcs"])


def _tagged(cli: Cli) -> list[str]:
    pages = cli.client("resourcegroupstaggingapi").get_paginator("get_resources").paginate(TagFilters=[ENV_TAG])
    return [item["ResourceARN"] for page in pages for item in page["ResourceTagMappingList"]]


def _locks(cli: Cli) -> list[Path]:
    return sorted((cli.state_dir / "pulumi-state" / ".pulumi" / "locks").rglob("*.json"))


def test_up_level2_then_a_second_up_changes_nothing(cli: Cli) -> None:
    plan = _timed(cli, "preview", "--blueprint", "level2", "--engine", "pulumi")
    assert plan["summary"]["create"] > 90, plan["summary"]
    first = _timed(cli, "up", "--blueprint", "level2", "--engine", "pulumi", "--yes")
    assert first["failed"] == 0 and first["summary"]["create"] == plan["summary"]["create"], first["summary"]
    outputs = first["outputs"]

    s3, kms = cli.client("s3"), cli.client("kms")
    assert kms.get_key_rotation_status(KeyId=outputs["kms_key_arn"])["KeyRotationEnabled"] is True
    buckets = [b["Name"] for b in s3.list_buckets()["Buckets"] if b["Name"].startswith(PLATFORM)]
    assert len(buckets) == 3, buckets
    for bucket in buckets:
        tags = {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket=bucket)["TagSet"]}
        assert tags["managed-by"] == "mlplatform" and tags["mlplatform:blueprint"] == "level2", (bucket, tags)
    assert len(_vpcs(cli)) == 1
    assert cli.client("sagemaker").describe_endpoint(EndpointName=f"{PLATFORM}-demo")["EndpointStatus"]

    second = _timed(cli, "up", "--yes")  # the env remembers its engine and its blueprint
    assert second["blueprint"] == "level2"
    assert {k: second["summary"][k] for k in ("create", "update", "replace", "delete")} == dict.fromkeys(
        ("create", "update", "replace", "delete"), 0
    ), second["summary"]
    assert second["summary"]["same"] == first["summary"]["create"]


def _leaves(value: Any) -> Iterator[Any]:
    if isinstance(value, dict):
        for item in value.values():
            yield from _leaves(item)
    elif isinstance(value, list):
        for item in value:
            yield from _leaves(item)
    else:
        yield value


def test_no_plaintext_secret_in_the_pulumi_state(cli: Cli) -> None:
    files = sorted((cli.state_dir / "pulumi-state" / ".pulumi").rglob("*.json"))
    latest = cli.state_dir / "pulumi-state" / ".pulumi" / "stacks" / "mlplatform" / "local.json"
    assert latest in files and len(files) > 2, files  # the stack, its backups and history
    for path in files:
        assert PROVIDER_SECRET not in list(_leaves(json.loads(path.read_text(encoding="utf-8")))), path
    deployment = json.loads(latest.read_text(encoding="utf-8"))["checkpoint"]["latest"]
    provider = next(r for r in deployment["resources"] if r["type"] == "pulumi:providers:aws")
    # Encrypted with the stack's passphrase: Pulumi's secret envelope, not the value.
    assert set(provider["inputs"]["secretKey"]) == {"4dabf18193072939515e22adb298388d", "ciphertext"}


def test_a_changed_setting_is_an_update_and_a_replace_forcing_one_a_replace(cli: Cli) -> None:
    _write_env(cli, artifact_store={"noncurrent_version_expiration_days": 45})
    plan = _changed(cli.json("preview"))
    assert {name: c["action"] for name, c in plan.items()} == {"artifact-store-artifacts-lifecycle": "update"}
    applied = _timed(cli, "up", "--yes")
    assert applied["summary"]["update"] == 1 and applied["failed"] == 0, applied["summary"]
    rules = cli.client("s3").get_bucket_lifecycle_configuration(Bucket=f"{PLATFORM}-artifacts-123456789012")["Rules"]
    days = [r["NoncurrentVersionExpiration"]["NoncurrentDays"] for r in rules if "NoncurrentVersionExpiration" in r]
    assert days == [45]

    _write_env(cli, artifact_store={"noncurrent_version_expiration_days": 45}, serving={"data_capture_percent": 50})
    plan = _changed(cli.json("preview"))
    config = plan["serving-demo-config"]
    assert config["action"] == "replace" and config["replace_reasons"] == ["dataCaptureConfig"], config
    assert plan["serving-demo-endpoint"]["action"] == "update"  # it moves to the new configuration
    applied = _timed(cli, "up", "--yes")
    assert applied["summary"]["replace"] == 1 and applied["failed"] == 0, applied["summary"]
    sm = cli.client("sagemaker")
    name = sm.describe_endpoint(EndpointName=f"{PLATFORM}-demo")["EndpointConfigName"]
    assert sm.describe_endpoint_config(EndpointConfigName=name)["DataCaptureConfig"]["InitialSamplingPercentage"] == 50


def test_drift_is_found_by_preview_refresh_and_repaired_by_up_refresh(cli: Cli) -> None:
    logs = cli.client("logs")
    group = f"/aws/sagemaker/Endpoints/{PLATFORM}-demo"
    logs.put_retention_policy(logGroupName=group, retentionInDays=7)

    assert not _changed(cli.json("preview")), "without --refresh Pulumi compares with its state only"
    plan = _changed(_timed(cli, "preview", "--refresh"))
    assert list(plan) == [f"monitoring-{PLATFORM}-demo-logs"], plan
    assert plan[f"monitoring-{PLATFORM}-demo-logs"]["diff"] == ["retentionInDays"]

    repaired = _timed(cli, "up", "--refresh", "--yes")
    assert repaired["failed"] == 0 and repaired["summary"]["update"] == 1, repaired["summary"]
    found = logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]
    assert [g["retentionInDays"] for g in found] == [365]


def test_a_concurrent_up_is_refused_naming_the_lock(cli: Cli) -> None:
    background = cli.start("up", "--refresh", "--yes")
    deadline = time.monotonic() + 60
    while not _locks(cli) and background.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _locks(cli), "the first up never took Pulumi's lock"
    # --skip-preview: straight to Pulumi's update, while the first one still holds the lock.
    refused = cli.run("up", "--skip-preview", "--yes", code=1)
    assert "environment locked" in refused.stderr and "mlplatform unlock --env local" in refused.stderr
    assert str(_locks(cli)[0].parent) in refused.stderr or "locked by" in refused.stderr, refused.stderr
    _, err = background.communicate(timeout=300)
    assert background.returncode == 0, err[-3000:]
    assert not _locks(cli)


def test_destroy_leaves_nothing_tagged(cli: Cli) -> None:
    destroyed = _timed(cli, "destroy", "--yes")
    assert destroyed["failed"] == 0 and destroyed["summary"]["delete"] > 90, destroyed["summary"]
    assert _tagged(cli) == []
    assert not [b for b in cli.client("s3").list_buckets()["Buckets"] if b["Name"].startswith(PLATFORM)]
    assert cli.json("state", "list")["resources"] == []
