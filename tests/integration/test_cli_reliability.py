"""Fault scenarios, each run with the real CLI against the real emulator and checked with boto3.

* ``kill -9`` in the middle of ``up``, then ``up`` again: the platform converges with no duplicate and no
  leaked resource, and the interrupted operations are reported;
* two ``up`` runs on one environment: the second fails fast naming the lock holder;
* a failing API call: what succeeded is saved, the failure and the skipped dependents are reported,
  exit 4, and the next ``up`` finishes the job;
* ``kill -9`` in the middle of ``destroy``: the next ``destroy`` deletes the rest, nothing is left;
* Ctrl-C: steps in flight finish, state is saved, exit 8, the next ``up`` finishes;
* drift: a change made behind mlplatform's back shows in ``preview --refresh`` and ``up --refresh`` repairs it.
"""

from __future__ import annotations

import re
import signal
import subprocess
import time
from collections.abc import Iterator

import pytest

from tests.integration.cli import Cli

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cli]:
    root = tmp_path_factory.mktemp("reliability")
    (root / "work").mkdir()
    runner = Cli(root / "work", root / "state")
    try:
        yield runner
    finally:
        runner.stop_emulator()


def _env(cli: Cli, name: str) -> str:
    cli.run("init", "--env", name, "--blueprint", "level0", "--target", "local")
    return name


def _wait_for_lines(process: subprocess.Popen[str], marker: str, count: int, timeout: float = 300) -> list[str]:
    """Read the progress lines of a running ``up`` until ``count`` contain ``marker``."""
    assert process.stdout is not None
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while sum(marker in line for line in seen) < count:
        line = process.stdout.readline()
        if not line:
            raise AssertionError(f"up ended before {count} {marker!r} lines: {''.join(seen)[-3000:]}")
        seen.append(line)
        assert time.monotonic() < deadline, "timed out waiting for progress"
    return seen


def _inventory(cli: Cli, env: str) -> dict[str, int]:
    """Counts of the environment's resources in the emulator, found independently of mlplatform's state."""
    prefix = f"mlp-{env}"
    s3, ec2, iam = cli.client("s3"), cli.client("ec2"), cli.client("iam")
    tag = [{"Name": "tag:mlplatform:env", "Values": [env]}]
    kms = cli.client("kms")
    live_keys = 0
    for key in kms.list_keys()["Keys"]:
        meta = kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]
        tags = {t["TagKey"]: t["TagValue"] for t in kms.list_resource_tags(KeyId=key["KeyId"])["Tags"]}
        live_keys += meta["KeyState"] != "PendingDeletion" and tags.get("mlplatform:env") == env
    return {
        "buckets": len([b for b in s3.list_buckets()["Buckets"] if b["Name"].startswith(prefix + "-")]),
        "vpcs": len(ec2.describe_vpcs(Filters=tag)["Vpcs"]),
        "subnets": len(ec2.describe_subnets(Filters=tag)["Subnets"]),
        "security_groups": len(ec2.describe_security_groups(Filters=tag)["SecurityGroups"]),
        "endpoints": len(
            [e for e in ec2.describe_vpc_endpoints(Filters=tag)["VpcEndpoints"] if e["State"] != "deleted"]
        ),
        "roles": len([r for r in iam.list_roles()["Roles"] if r["RoleName"].startswith(prefix + "-")]),
        "keys": live_keys,
        "domains": len([d for d in cli.client("sagemaker").list_domains()["Domains"] if d["DomainName"] == prefix]),
        "repositories": len(
            [
                r
                for r in cli.client("ecr").describe_repositories()["repositories"]
                if r["repositoryName"].startswith(prefix)
            ]
        ),
    }


EXPECTED_LEVEL0 = {
    "buckets": 2, "vpcs": 1, "subnets": 2, "security_groups": 3, "endpoints": 3, "roles": 3, "keys": 1,
    "domains": 1, "repositories": 2,
}  # fmt: skip
"""Level0 in an env made by ``init``; the security groups are the two of the platform and the VPC's default
group, which the platform adopts, empties and tags."""


@pytest.mark.parametrize("after", [3, 25])
def test_kill_9_then_up_converges_without_duplicates(cli: Cli, after: int) -> None:
    env = _env(cli, f"kill{after}")
    process = cli.start("up", "--env", env, "--yes")
    _wait_for_lines(process, "created", after)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)

    result = cli.json("up", "--env", env, "--yes")
    assert result["failed"] == 0, [s for s in result["steps"] if s["status"] != "ok"]
    assert result["interrupted"], "the operations the killed run left pending are reported"
    assert _inventory(cli, env) == EXPECTED_LEVEL0
    again = cli.json("up", "--env", env, "--yes")
    assert (
        again["mutating_api_calls"] == 0
        and again["summary"]["same"]
        == result["summary"]["same"] + result["summary"]["create"] + result["summary"]["update"]
    )
    cli.run("destroy", "--env", env, "--yes")


def test_a_second_up_fails_fast_naming_the_lock_holder(cli: Cli) -> None:
    env = _env(cli, "locked")
    first = cli.start("up", "--env", env, "--yes")
    _wait_for_lines(first, "created", 1)
    # Freeze the first run while it holds the lock, so the two runs overlap whatever the machine's speed.
    first.send_signal(signal.SIGSTOP)
    try:
        started = time.monotonic()
        second = cli.run("up", "--env", env, "--yes", code=None)
        fast = time.monotonic() - started
    finally:
        first.send_signal(signal.SIGCONT)
    assert second.returncode not in (0, 4), second
    assert str(first.pid) in second.stderr, second.stderr
    assert "unlock" in second.stderr
    assert fast < 60, "the second run must fail fast, not wait for the lock"
    first.wait(timeout=600)
    assert first.returncode == 0, first.stderr.read() if first.stderr else ""
    assert cli.json("up", "--env", env, "--yes")["mutating_api_calls"] == 0
    cli.run("destroy", "--env", env, "--yes")


def test_a_failing_api_call_saves_progress_exits_4_and_the_next_up_finishes(cli: Cli) -> None:
    env = _env(cli, "failing")
    iam = cli.client("iam")
    # A role with the platform's physical name already exists: creating it fails (EntityAlreadyExists).
    iam.create_role(
        RoleName=f"mlp-{env}-sagemaker-serving", AssumeRolePolicyDocument='{"Version":"2012-10-17","Statement":[]}'
    )
    failed = cli.run("up", "--env", env, "--yes", code=4)
    assert "identity-serving" in failed.stdout and "EntityAlreadyExists" in failed.stdout
    assert "identity-serving-policy" in failed.stdout and "skipped" in failed.stdout
    planned, summary = [line for line in failed.stdout.splitlines() if line.startswith("Resources:")]
    assert planned.startswith("Resources: ") and " to create" in planned  # the plan comes first, also with --yes
    assert re.fullmatch(r"Resources: \d+ created, 1 failed, [1-9]\d* skipped, 0 unchanged", summary), summary
    assert failed.stdout.rstrip().splitlines()[-1] == (
        f"hint: fix the error above and run `mlplatform up --env {env}` again: what succeeded is saved"
    )
    saved = cli.run("state", "list", "--env", env).stdout
    assert "aws:s3/bucket:Bucket" in saved  # what succeeded is in state
    iam.delete_role(RoleName=f"mlp-{env}-sagemaker-serving")
    finished = cli.json("up", "--env", env, "--yes")
    assert finished["failed"] == 0 and finished["summary"]["create"] >= 2
    assert _inventory(cli, env) == EXPECTED_LEVEL0
    cli.run("destroy", "--env", env, "--yes")


def test_ctrl_c_finishes_steps_in_flight_saves_state_and_exits_8(cli: Cli) -> None:
    env = _env(cli, "cancel")
    process = cli.start("up", "--env", env, "--yes")
    _wait_for_lines(process, "created", 10)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 8, stderr
    assert "Traceback" not in stderr
    saved = cli.run("state", "list", "--env", env).stdout
    assert saved.count("aws:") >= 10
    result = cli.json("up", "--env", env, "--yes")
    assert result["failed"] == 0 and result["summary"]["create"] > 0
    assert _inventory(cli, env) == EXPECTED_LEVEL0
    cli.run("destroy", "--env", env, "--yes")


def test_drift_is_shown_by_refresh_and_repaired_by_up(cli: Cli) -> None:
    env = _env(cli, "drift")
    outputs = cli.json("up", "--env", env, "--yes")["outputs"]
    bucket = outputs["artifact_bucket"]
    s3, sns = cli.client("s3"), cli.client("sns")
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})
    sns.delete_topic(TopicArn=outputs["alarm_topic_arn"])

    plan = cli.json("preview", "--env", env, "--refresh")
    changed = {c["name"]: c for c in plan["changes"] if c["action"] != "same"}
    assert changed["artifact-store-artifacts-versioning"]["action"] == "update"
    assert "versioningConfiguration" in changed["artifact-store-artifacts-versioning"]["diff"]
    assert changed["monitoring-alarms"]["action"] == "create"
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Suspended"  # preview changed nothing

    repaired = cli.json("up", "--env", env, "--yes", "--refresh")
    assert repaired["failed"] == 0
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    assert any(t["TopicArn"].endswith(f"mlp-{env}-alarms") for t in sns.list_topics()["Topics"])
    assert cli.json("up", "--env", env, "--yes", "--refresh")["mutating_api_calls"] == 0
    cli.run("destroy", "--env", env, "--yes")


@pytest.mark.parametrize("after", [10, 40])
def test_kill_9_during_destroy_then_destroy_finishes(cli: Cli, after: int) -> None:
    env = _env(cli, f"killdestroy{after}")
    cli.run("up", "--env", env, "--yes")
    process = cli.start("destroy", "--env", env, "--yes")
    _wait_for_lines(process, "deleted", after)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)

    result = cli.json("destroy", "--env", env, "--yes")
    assert result["failed"] == 0, [s for s in result["steps"] if s["status"] != "ok"]
    assert _inventory(cli, env) == dict.fromkeys(EXPECTED_LEVEL0, 0)
    assert "no resources" in cli.run("state", "list", "--env", env).stdout
