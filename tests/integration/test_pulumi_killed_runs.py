"""The Pulumi engine after a killed run: the real CLI, the Pulumi CLI, the emulator provider, the emulator.

An ``up`` killed with SIGKILL (the CLI and the Pulumi CLI at once), then what the next runs do about the
operations Pulumi left pending: ``preview`` names them, ``up`` settles them and converges without a second copy
of anything, checked with boto3. As a kill lands where it lands, the checkpoint is then edited into each case
(a create that happened, one that did not, an interrupted update) and ``up`` and ``destroy`` are checked on
each. A module of its own (its own environment), so it runs beside ``test_pulumi_engine.py``.
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

from tests.integration.cli import Cli
from tests.integration.pulumi_env import isolated, needs_cli
from tests.integration.test_pulumi_engine import ENV_TAG, _changed, _locks, _tagged, _timed, _vpcs, _write_env

pytestmark = [pytest.mark.integration, *needs_cli]


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cli]:
    root = tmp_path_factory.mktemp("pulumi-killed")
    (root / "work").mkdir()
    runner = Cli(root / "work", root / "state", extra_env=isolated(root))
    _write_env(runner)
    try:
        yield runner
    finally:
        runner.stop_emulator()


PULUMI_LEVEL2 = ("--engine", "pulumi", "--blueprint", "level2")
"""Named on every run below: the first run of this module deploys level2 through the Pulumi engine."""


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
