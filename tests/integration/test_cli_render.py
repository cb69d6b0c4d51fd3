"""What a Terraform user reads, through the real CLI against the real emulator, checked with boto3.

One setting changes in an environment file (the artifact store keeps replaced object versions 30 days
instead of the blueprint's 90): ``preview --diff`` names the property path with ``90 => 30``, ``preview
--json`` carries before/after values as ints and the property diff, ``--detailed-exitcode`` says 2, ``up
--diff`` applies it (boto3 sees 30), and then ``--detailed-exitcode`` says 0. A closed stdout ends
quietly.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from tests.integration.cli import MLPLATFORM, Cli

pytestmark = pytest.mark.integration

ENV = "diffs"
LIFECYCLE = "artifact-store-artifacts-lifecycle"
PATH = "rules[0].noncurrentVersionExpiration.noncurrentDays"


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cli]:
    root = tmp_path_factory.mktemp("render")
    (root / "work").mkdir()
    runner = Cli(root / "work", root / "state")
    try:
        runner.run("init", "--env", ENV, "--blueprint", "level0", "--target", "local")
        first = runner.json("up", "--env", ENV, "--yes")
        assert first["failed"] == 0 and first["summary"]["failed"] == first["summary"]["skipped"] == 0
        yield runner
    finally:
        runner.stop_emulator()


def _set_noncurrent_days(cli: Cli, days: int) -> None:
    path = cli.cwd / "stacks" / f"{ENV}.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["overrides"]["artifact_store"] = {"noncurrent_version_expiration_days": days}
    path.write_text(yaml.safe_dump(data), encoding="utf-8")


def _lifecycle_change(document: dict[str, Any]) -> dict[str, Any]:
    (change,) = [c for c in document["changes"] if c["name"] == LIFECYCLE]
    return dict(change)


def _closed_stdout(cli: Cli, *args: str) -> subprocess.CompletedProcess[str]:
    read_end, write_end = os.pipe()
    os.close(read_end)  # as after `| head -1` has read its line and exited
    try:
        return subprocess.run(
            [MLPLATFORM, *args],
            cwd=cli.cwd,
            env=cli.env,
            stdout=write_end,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
            timeout=300,
            check=False,
        )
    finally:
        os.close(write_end)


def test_a_changed_setting_shows_its_property_path_and_values(cli: Cli) -> None:
    assert cli.run("preview", "--env", ENV, "--detailed-exitcode").returncode == 0
    _set_noncurrent_days(cli, 30)

    text = cli.run("preview", "--env", ENV, "--diff").stdout
    lines = text.splitlines()
    (header,) = [i for i, line in enumerate(lines) if LIFECYCLE in line]
    assert lines[header].lstrip().startswith("~ update")
    assert lines[header + 1] == f"      ~ {PATH}: 90 => 30"
    assert "Resources: 1 to update" in text
    assert ".0" not in lines[header + 1] and "Unknown object" not in text and "\x1b[" not in text  # NO_COLOR

    document = cli.json("preview", "--env", ENV)
    change = _lifecycle_change(document)
    assert change["action"] == "update" and change["diff"] == ["rules"]
    assert change["property_diff"] == [{"path": PATH, "kind": "update", "before": 90, "after": 30}]
    before_rule, after_rule = change["before"]["rules"][0], change["after"]["rules"][0]
    assert before_rule["noncurrentVersionExpiration"]["noncurrentDays"] == 90
    assert after_rule["noncurrentVersionExpiration"]["noncurrentDays"] == 30
    # Ints as the program wrote them, also for values that did not change (7, not 7.0).
    assert type(after_rule["abortIncompleteMultipartUpload"]["daysAfterInitiation"]) is int
    assert '"daysAfterInitiation": 7.0' not in json.dumps(document)

    assert cli.run("preview", "--env", ENV, "--detailed-exitcode", code=2).returncode == 2


def test_up_diff_shows_the_plan_then_applies_it(cli: Cli) -> None:
    _set_noncurrent_days(cli, 30)
    applied = cli.run("up", "--env", ENV, "--yes", "--diff", "--json")
    assert f"      ~ {PATH}: 90 => 30" in applied.stderr  # the plan goes to stderr under --json
    result = json.loads(applied.stdout)  # stdout is the result document only
    assert result["summary"]["update"] == 1 and result["summary"]["failed"] == 0

    bucket = next(b["Name"] for b in cli.client("s3").list_buckets()["Buckets"] if "artifacts" in b["Name"])
    (rule,) = cli.client("s3").get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    assert rule["NoncurrentVersionExpiration"]["NoncurrentDays"] == 30
    assert cli.run("preview", "--env", ENV, "--detailed-exitcode").returncode == 0


@pytest.mark.parametrize("args", [("state", "list"), ("preview",), ("outputs", "--json")], ids=" ".join)
def test_a_closed_stdout_ends_quietly(cli: Cli, args: tuple[str, ...]) -> None:
    result = _closed_stdout(cli, *args, "--env", ENV)
    assert (result.returncode, result.stderr) == (141, "")


def test_outputs_json_is_sorted(cli: Cli) -> None:
    text = cli.run("outputs", "--env", ENV, "--json").stdout
    assert text == json.dumps(json.loads(text), indent=2, sort_keys=True) + "\n"  # keys sorted at every level
    assert "repository_urls" in text
