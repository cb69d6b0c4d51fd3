"""A new user's first hour, through the real CLI against the real emulator, checked with boto3.

* The README's commands, run literally (the quickstart's ``mlplatform`` part, then every command of the
  block after it) in a copy of the repository and in an empty directory: they do what the README says.
* A blueprint downgrade that would delete a bucket still holding data is refused by the plan before
  anything changes; if the delete fails anyway (no plan), the bucket keeps its protection.
* After an emulator restart, ``up`` does what its preview said.
* The project is found from a subfolder; the emulator says when it was started; ``emulator status`` exits
  non-zero when it is not running.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.integration.cli import MLPLATFORM, Cli

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
ACCOUNT = "123456789012"


@dataclass
class ProjectCli(Cli):
    """The CLI as a new user runs it: no MLPLATFORM_STATE_DIR, so state lives in <project>/.mlplatform."""

    @property
    def env(self) -> dict[str, str]:
        env = {**os.environ, "NO_COLOR": "1"}
        env.pop("MLPLATFORM_STATE_DIR", None)
        return env


def readme_commands() -> list[list[str]]:
    """The quickstart's `mlplatform` command, then every command of the shell block that follows it."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```bash\n(.*?)```", text, re.S)
    quickstart = next(block for block in blocks if "mlplatform up --blueprint level2 --yes" in block)
    first = next(line for line in quickstart.splitlines() if "mlplatform up" in line)
    commands = [first.split("&&")[-1]]
    after = blocks[blocks.index(quickstart) + 1]
    commands += [line.split("#")[0] for line in after.splitlines() if line.strip().startswith(".venv/bin/mlplatform")]
    return [shlex.split(command.strip())[1:] for command in commands]  # without `.venv/bin/mlplatform`


def copy_of_the_repository(target: Path) -> Path:
    files = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout
    for name in files.decode().split("\0"):
        if name:
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            (target / name).write_bytes((REPO / name).read_bytes())
    return target


def test_the_readme_lists_the_commands_this_test_runs() -> None:
    commands = readme_commands()
    assert commands[0] == ["up", "--blueprint", "level2", "--yes"]
    assert ["up", "--yes"] in commands and ["destroy", "--yes"] in commands and commands[-1] == ["emulator", "stop"]


@pytest.mark.parametrize("where", ["clone", "empty-dir"])
def test_the_readme_does_what_it_says(tmp_path: Path, where: str) -> None:
    project = copy_of_the_repository(tmp_path / "repo") if where == "clone" else tmp_path / "empty"
    project.mkdir(exist_ok=True)
    cli = ProjectCli(project, project / ".mlplatform")
    results: dict[str, subprocess.CompletedProcess[str]] = {}
    try:
        for args in readme_commands():
            key = " ".join(args)
            if key in results:
                key += " (again)"
            results[key] = cli.run(*args)
            if args == ["up", "--blueprint", "level2", "--yes"]:
                # From a subfolder, the same project and emulator: no second platform (item: project root).
                sub = project / "blueprints" if where == "clone" else project / "notes"
                sub.mkdir(exist_ok=True)
                nested = ProjectCli(sub, project / ".mlplatform").run("preview")
                assert "No changes" in nested.stdout and "started the local AWS emulator" not in nested.stderr
                assert nested.stdout.startswith(f"project {project} · state .mlplatform · environment local")
    finally:
        cli.run("emulator", "stop", code=None)

    first = results["up --blueprint level2 --yes"]
    assert "started the local AWS emulator at http://127.0.0.1:" in first.stderr  # never silently
    plan = first.stdout.partition("\nResources: ")[0]
    assert re.search(r"^ \+ create +aws:kms/key:Key +encryption-key$", plan, re.M)  # the plan comes first
    created = re.search(r"^Resources: (\d+) created, 0 unchanged$", first.stdout, re.M)
    assert created and int(created.group(1)) > 100, first.stdout[-2000:]

    again = results["up --yes"]
    assert "blueprint level2 (remembered from the last deploy)" in again.stdout
    assert "No changes: the infrastructure matches the program." in again.stdout
    assert f"Resources: {created.group(1)} unchanged" in again.stdout
    assert not re.search(r"^ *[-+~]+ +(created|updated|deleted|replaced) ", again.stdout, re.M)

    outputs = results["outputs"].stdout
    assert f"mlp-local-artifacts-{ACCOUNT}" in outputs
    assert "emulator running at http://127.0.0.1:" in results["emulator status"].stdout
    assert f"Resources: {created.group(1)} deleted, 0 unchanged" in results["destroy --yes"].stdout
    assert "emulator stopped" in results["emulator stop"].stdout
    if where == "clone":
        assert not (project / "stacks" / "local.yaml.bak").exists()  # the README's flow edits no file


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProjectCli]:
    root = tmp_path_factory.mktemp("first-hour")
    (root / "stacks").mkdir()
    cli = ProjectCli(root, root / ".mlplatform")
    try:
        yield cli
    finally:
        cli.run("emulator", "stop", code=None)


def _bucket_protection(cli: Cli, bucket: str) -> dict[str, Any]:
    s3 = cli.client("s3")
    return {
        "encryption": s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0][
            "ApplyServerSideEncryptionByDefault"
        ]["SSEAlgorithm"],
        "public_access_block": all(
            s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"].values()
        ),
        "tls_only": "aws:SecureTransport" in s3.get_bucket_policy(Bucket=bucket)["Policy"],
    }


def test_a_downgrade_that_would_delete_data_is_refused_before_anything_changes(project: ProjectCli) -> None:
    (project.cwd / "stacks" / "data.yaml").write_text(
        "target: local\noverrides:\n  allow_destroy_data: false\n", encoding="utf-8"
    )
    project.run("up", "--env", "data", "--blueprint", "level2", "--yes")
    bucket = f"mlp-data-cicd-{ACCOUNT}"
    s3, codepipeline = project.client("s3"), project.client("codepipeline")
    assert bucket in {b["Name"] for b in s3.list_buckets()["Buckets"]}, "the CI/CD bucket level1 does not have"
    s3.put_object(Bucket=bucket, Key="builds/42/model.tar.gz", Body=b"weights")
    state_before = project.run("state", "list", "--env", "data").stdout

    preview = project.run("preview", "--env", "data", "--blueprint", "level1", code=4)
    assert preview.stdout.splitlines()[1].startswith("blueprint level2 -> level1")
    assert re.search(
        r"^warning: blueprint level2 -> level1 deletes \d+ resources \(components: .*cicd", preview.stdout, re.M
    )
    assert f"bucket {bucket} still holds 1 object version(s) (1 key(s): builds/42/model.tar.gz)" in preview.stdout
    assert "allow_destroy_data: true" in preview.stdout and "empty it yourself" in preview.stdout

    refused = project.run("up", "--env", "data", "--blueprint", "level1", "--yes", code=4)
    assert "blueprint level2 -> level1" in refused.stdout  # --yes still shows the plan first
    assert "error: the plan has errors: 1 planned change would fail" in refused.stderr
    assert project.run("state", "list", "--env", "data").stdout == state_before  # nothing changed
    assert codepipeline.get_pipeline(name="mlp-data-model-delivery")["pipeline"]["stages"]
    protection = _bucket_protection(project, bucket)

    # Without the plan, the delete itself fails; what goes with the bucket is still there, and so is the data.
    failed = project.run("up", "--env", "data", "--blueprint", "level1", "--yes", "--skip-preview", code=4)
    assert "BucketNotEmpty" in failed.stdout
    assert (
        _bucket_protection(project, bucket)
        == protection
        == {
            "encryption": "aws:kms",
            "public_access_block": True,
            "tls_only": True,
        }
    )
    assert s3.get_object(Bucket=bucket, Key="builds/42/model.tar.gz")["Body"].read() == b"weights"
    unfinished = project.run("outputs", "--env", "data")
    assert "warning: the last `up` did not finish (failed: 1 failed" in unfinished.stderr
    assert "cicd-artifacts-bucket" in unfinished.stderr  # still deployed, though not in the outputs

    # The user empties the bucket; the downgrade then goes through and the bucket is gone.
    for version in s3.list_object_versions(Bucket=bucket)["Versions"]:
        s3.delete_object(Bucket=bucket, Key=version["Key"], VersionId=version["VersionId"])
    project.run("up", "--env", "data", "--blueprint", "level1", "--yes")
    assert bucket not in {b["Name"] for b in s3.list_buckets()["Buckets"]}
    assert "warning" not in project.run("outputs", "--env", "data").stderr

    # destroy is refused the same way (the access-log bucket holds the emulator's access logs) ...
    refused_destroy = project.run("destroy", "--env", "data", "--yes", code=4)
    assert f"bucket mlp-data-access-logs-{ACCOUNT} still holds" in refused_destroy.stdout
    assert bucket.replace("cicd", "artifacts") in {b["Name"] for b in s3.list_buckets()["Buckets"]}
    # ... until the environment allows it: recorded by `up`, then honoured by destroy (the hint's second way).
    (project.cwd / "stacks" / "data.yaml").write_text("target: local\n", encoding="utf-8")
    project.run("up", "--env", "data", "--yes")
    project.run("destroy", "--env", "data", "--yes")
    assert not [b for b in s3.list_buckets()["Buckets"] if b["Name"].startswith("mlp-data-")]


def test_up_after_an_emulator_restart_does_what_its_preview_said(project: ProjectCli) -> None:
    (project.cwd / "stacks" / "restart.yaml").write_text("blueprint: level0\ntarget: local\n", encoding="utf-8")
    project.run("up", "--env", "restart", "--yes")
    project.run("emulator", "stop")

    plan = project.json("preview", "--env", "restart")
    assert plan["diagnostics"][0]["message"].startswith("the emulator was restarted")
    result = project.json("up", "--env", "restart", "--yes")

    assert result["failed"] == 0
    assert {k: v for k, v in result["summary"].items() if k in plan["summary"]} == plan["summary"]
    assert plan["summary"]["create"] > 20 and plan["summary"]["update"] == 0
    project.run("destroy", "--env", "restart", "--yes")


def test_emulator_status_exits_1_when_it_is_not_running(project: ProjectCli) -> None:
    project.run("emulator", "stop", code=None)
    stopped = project.run("emulator", "status", code=1)
    assert "emulator not running" in stopped.stdout
    document = json.loads(project.run("emulator", "status", "--json", code=1).stdout)
    assert document["running"] is False


def test_the_console_script_is_the_one_under_test() -> None:
    assert Path(MLPLATFORM).parent == Path(sys.executable).parent
