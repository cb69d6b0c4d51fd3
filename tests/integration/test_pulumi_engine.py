"""The Pulumi engine through the real CLI: ``mlplatform ... --engine pulumi`` on level2, checked with boto3.

Real parts throughout: the ``mlplatform`` console script in a subprocess, the Pulumi CLI from
``scripts/pulumi-cli``, the emulator provider plugin (the ``pulumi-resource-aws`` shim first on PATH, in an
isolated ``PULUMI_HOME``), Pulumi's file backend under the state folder, and the test's own emulator. The
tests run in file order on one environment: up, a no-op up, a changed setting (update), a replace-forcing
change, drift found by ``preview --refresh`` and repaired, a concurrent ``up`` refused on Pulumi's lock,
``destroy``, then an ``up`` killed with SIGKILL and what the next runs do about it.

Each Pulumi run costs seconds (CLI and plugin start, the program, ~120 resources); the timings of the
level2 runs are printed (``pytest -s``) for docs/performance.md.
"""

from __future__ import annotations

import json
import os
import signal
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


PULUMI_LEVEL2 = ("--engine", "pulumi", "--blueprint", "level2")
"""Named on every run of the test below, so it passes alone too (not only after the tests above)."""


def _urn_tags(cli: Cli) -> list[str]:
    """The ``mlplatform:urn`` tag of every live resource tagged for the environment (one per resource made)."""
    pages = cli.client("resourcegroupstaggingapi").get_paginator("get_resources").paginate(TagFilters=[ENV_TAG])
    return [
        tag["Value"]
        for page in pages
        for item in page["ResourceTagMappingList"]
        for tag in item.get("Tags", [])
        if tag["Key"] == "mlplatform:urn"
    ]


def _checkpoint(cli: Cli) -> dict[str, Any]:
    latest = cli.state_dir / "pulumi-state" / ".pulumi" / "stacks" / "mlplatform" / "local.json"
    return dict(json.loads(latest.read_text(encoding="utf-8"))["checkpoint"]["latest"])


def _no_duplicates(cli: Cli) -> None:
    tags = _urn_tags(cli)
    twice = sorted({urn for urn in tags if tags.count(urn) > 1})
    assert tags and not twice, f"made twice: {twice}"


def test_an_up_killed_with_sigkill_is_reported_and_the_next_up_converges(cli: Cli) -> None:
    # --json: the progress lines go to stderr, which is read here (stdout holds the result at the end).
    running = cli.start("up", *PULUMI_LEVEL2, "--yes", "--json", new_session=True)
    assert running.stderr is not None
    created = 0
    for line in running.stderr:
        created += " created " in line
        if created >= 20:
            break
    os.killpg(running.pid, signal.SIGKILL)  # the CLI and the Pulumi CLI (the plugin has a process group of its own)
    running.wait(timeout=60)
    assert created >= 20
    # The orphaned provider plugin notices its parent is gone and stops (it would otherwise live on).
    deadline = time.monotonic() + 15
    while _plugins(cli) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not _plugins(cli), "the provider plugin outlived the killed run"
    pending = _checkpoint(cli).get("pending_operations") or []
    assert pending, "the kill left no pending operation (it came too late?)"

    plan = cli.json("preview", *PULUMI_LEVEL2)
    warned = " ".join(d["message"] for d in plan["diagnostics"] if d["severity"] == "warning")
    for operation in pending:
        assert logical(operation["resource"]["urn"]) in warned, warned
    # The dead run's lock: refused, naming it, until `unlock` (Pulumi cannot tell a dead holder from a live one).
    locked = cli.run("up", *PULUMI_LEVEL2, "--yes", code=1)
    assert "mlplatform unlock --env local" in locked.stderr, locked.stderr
    assert (_checkpoint(cli).get("pending_operations") or []) == pending, "the refused run changed the state"
    unlocked = cli.run("unlock")
    assert "cancelled" in unlocked.stdout and not _locks(cli), unlocked.stdout

    # Pulumi alone would drop the pending creates and create them again (a second VPC, a second KMS key): the
    # engine looks for each first, adopts what exists, and finishes the platform.
    converged = _timed(cli, "up", *PULUMI_LEVEL2, "--yes")
    assert converged["failed"] == 0, converged
    note = "\n".join(d["message"] for d in converged["diagnostics"])
    assert "an earlier run was killed during" in note, converged["diagnostics"]
    assert not _checkpoint(cli).get("pending_operations")
    _no_duplicates(cli)
    assert len(_vpcs(cli)) == 1
    assert not _changed(cli.json("preview", "--refresh"))


def logical(urn: str) -> str:
    return urn.rsplit("::", 1)[-1]


def test_what_a_killed_run_left_is_adopted_created_again_or_read_again(cli: Cli) -> None:
    """The three outcomes, made certain: a kill lands where it lands, so the checkpoint is edited to hold what a
    kill after the provider answered (the flow log exists: it has no name, only its URN tag finds it), before it
    acted (the dashboard is gone) and during an update (the bucket) would have left."""
    checkpoint = _checkpoint(cli)
    resources = checkpoint["resources"]
    needed = {urn for r in resources for urn in r.get("dependencies", [])}
    made = next(r for r in resources if r["type"] == "aws:ec2/flowLog:FlowLog" and r["urn"] not in needed)
    never = next(r for r in resources if r["type"] == "aws:cloudwatch/dashboard:Dashboard" and r["urn"] not in needed)
    updating = next(r for r in resources if r["type"] == "aws:s3/bucket:Bucket")
    cli.client("cloudwatch").delete_dashboards(DashboardNames=[never["id"]])
    flow_logs = cli.client("ec2").describe_flow_logs()["FlowLogs"]

    def pending(record: dict[str, Any], op: str) -> dict[str, Any]:
        kept = {k: v for k, v in record.items() if k not in ("outputs", "created", "modified")}
        return {"resource": kept if op == "updating" else {**kept, "id": ""}, "type": op}

    checkpoint["resources"] = [r for r in resources if r["urn"] not in (made["urn"], never["urn"])]
    checkpoint["pending_operations"] = [pending(made, "creating"), pending(never, "creating")]
    checkpoint["pending_operations"].append(pending(updating, "updating"))
    # Into the file backend's checkpoint directly: `pulumi stack import` drops pending operations.
    _write_checkpoint(cli, checkpoint)

    converged = _timed(cli, "up", *PULUMI_LEVEL2, "--yes")
    assert converged["failed"] == 0, converged
    note = "\n".join(d["message"] for d in converged["diagnostics"])
    assert f"adopted {logical(made['urn'])!r} ({made['id']})" in note, note
    assert f"{logical(never['urn'])!r} was not created by the interrupted run" in note, note
    assert f"{logical(updating['urn'])!r} was being updated: read live again" in note, note
    created = {s["urn"] for s in converged["steps"] if s["action"] == "create"}
    assert never["urn"] in created and made["urn"] not in created, created
    assert cli.client("ec2").describe_flow_logs()["FlowLogs"] == flow_logs  # adopted, not made twice
    assert cli.client("cloudwatch").get_dashboard(DashboardName=never["id"])["DashboardBody"]
    after = _checkpoint(cli)
    assert not after.get("pending_operations")
    assert next(r for r in after["resources"] if r["urn"] == made["urn"])["id"] == made["id"]
    _no_duplicates(cli)
    assert not _changed(cli.json("preview", "--refresh"))


def test_destroy_after_a_killed_run_destroys_what_it_created_too(cli: Cli) -> None:
    checkpoint = _checkpoint(cli)
    needed = {urn for r in checkpoint["resources"] for urn in r.get("dependencies", [])}
    made = next(r for r in checkpoint["resources"] if r["type"] == "aws:ec2/flowLog:FlowLog" and r["urn"] not in needed)
    kept = {k: v for k, v in made.items() if k not in ("outputs", "created", "modified")}
    checkpoint["resources"] = [r for r in checkpoint["resources"] if r["urn"] != made["urn"]]
    checkpoint["pending_operations"] = [{"resource": {**kept, "id": ""}, "type": "creating"}]
    _write_checkpoint(cli, checkpoint)

    destroyed = _timed(cli, "destroy", "--yes")
    assert destroyed["failed"] == 0, destroyed
    note = "\n".join(d["message"] for d in destroyed["diagnostics"])
    assert f"adopted {logical(made['urn'])!r} ({made['id']})" in note, note
    assert _tagged(cli) == []  # Pulumi alone would have left the flow log behind, outside its state
    assert not cli.client("ec2").describe_flow_logs()["FlowLogs"]


def _write_checkpoint(cli: Cli, deployment: dict[str, Any]) -> None:
    path = cli.state_dir / "pulumi-state" / ".pulumi" / "stacks" / "mlplatform" / "local.json"
    document = json.loads(path.read_text(encoding="utf-8"))
    document["checkpoint"]["latest"] = deployment
    path.write_text(json.dumps(document), encoding="utf-8")


def _plugins(cli: Cli) -> list[int]:
    """The emulator provider plugin processes of this test's Pulumi home (read from /proc)."""
    home = f"PULUMI_HOME={cli.extra_env['PULUMI_HOME']}".encode()
    found = []
    for proc in Path("/proc").iterdir():
        try:
            cmdline = (proc / "cmdline").read_bytes()
            environ = (proc / "environ").read_bytes()
        except OSError:
            continue
        if b"mlplatform.app.emulator_provider" in cmdline and home in environ.split(b"\0"):
            found.append(int(proc.name))
    return found
