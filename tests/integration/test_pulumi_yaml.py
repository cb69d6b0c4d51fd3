"""``Pulumi.yaml`` with the plain Pulumi CLI: ``pulumi preview -s local`` builds what ``mlplatform`` builds.

A project made by ``mlplatform init --env local`` (its ``Pulumi.yaml``, ``__main__.py`` and an env file that pins
no blueprint) is run two ways, against the test's own emulator:

* ``mlplatform preview --engine pulumi --blueprint level2`` (the Automation API, mlplatform's own backend);
* the plain ``pulumi`` CLI on the project's ``Pulumi.yaml``: a fresh ``file://`` backend, a passphrase, stack
  ``local`` with ``mlplatform:blueprint`` set, this environment's Python first on PATH (the runtime's ``python``
  imports mlplatform) and the emulator provider shim first on PATH (:func:`tests.integration.pulumi_env.isolated`).

Both must plan the same resources, every one a create. Then the plain CLI is pointed at the stack mlplatform
deployed (its backend, passphrase file and config file, as docs/pulumi-engine.md says) and must find nothing to
change. Each run of level2 costs tens of seconds (about 120 resources through the emulator provider).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.integration.cli import Cli
from tests.integration.pulumi_env import isolated, needs_cli

pytestmark = [pytest.mark.integration, *needs_cli]

STACK_TYPE = "pulumi:pulumi:Stack"


@dataclass
class Project:
    """A project made by ``mlplatform init``, run by ``mlplatform`` (``cli``) and by the plain Pulumi CLI."""

    cli: Cli
    root: Path

    def pulumi(self, *args: str, backend: str, code: int | None = 0, **env: str) -> subprocess.CompletedProcess[str]:
        """Run the plain ``pulumi`` in the project folder against ``backend``, with ``env`` on top."""
        environment = {
            **os.environ,
            **isolated(self.root),
            "MLPLATFORM_STATE_DIR": str(self.cli.state_dir),
            "PULUMI_BACKEND_URL": backend,
            "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
            "NO_COLOR": "1",
            **env,
        }
        # The runtime's `python` (toolchain pip, no virtualenv) is the first on PATH: this environment's.
        environment["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{environment['PATH']}"
        environment.pop("VIRTUAL_ENV", None)
        if "PULUMI_CONFIG_PASSPHRASE_FILE" in env:
            environment.pop("PULUMI_CONFIG_PASSPHRASE", None)
        result = subprocess.run(
            ["pulumi", *args, "--non-interactive"],
            cwd=self.cli.cwd,
            env=environment,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        if code is not None:
            assert result.returncode == code, (
                f"pulumi {' '.join(args)} exited {result.returncode}, expected {code}\n"
                f"--- stdout\n{result.stdout[-6000:]}\n--- stderr\n{result.stderr[-6000:]}"
            )
        return result


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Project]:
    root = tmp_path_factory.mktemp("pulumi-yaml")
    (root / "project").mkdir()
    (root / "plain-backend").mkdir()
    cli = Cli(root / "project", root / "state", extra_env=isolated(root))
    cli.run("init", "--env", "local")
    assert {"Pulumi.yaml", "__main__.py"} <= {path.name for path in cli.cwd.iterdir()}
    try:
        yield Project(cli, root)
    finally:
        cli.stop_emulator()


def _plain_steps(document: dict[str, Any], *, everything: bool = False) -> dict[str, tuple[str, str]]:
    """URN -> (type, op) of a ``pulumi preview --json`` document, without the stack resource.

    Unless ``everything``, only what mlplatform's plan JSON lists: custom resources, not components and not the
    provider (bookkeeping, docs/pulumi-engine.md "Differences between the engines").
    """
    steps = {}
    for step in document["steps"]:
        state = step.get("newState") or step.get("oldState") or {}
        type_ = state.get("type") or step["urn"].split("::")[2].split("$")[-1]
        listed = bool(state.get("custom")) and not type_.startswith("pulumi:providers:")
        if type_ != STACK_TYPE and (everything or listed):
            steps[step["urn"]] = (type_, step["op"])
    return steps


def test_plain_pulumi_preview_plans_the_resources_mlplatform_plans(project: Project) -> None:
    plan = project.cli.json("preview", "--engine", "pulumi", "--blueprint", "level2")
    ours = {change["urn"]: (change["type"], change["action"]) for change in plan["changes"]}
    assert plan["blueprint"] == "level2" and len(ours) > 100, plan["summary"]

    backend = (project.root / "plain-backend").as_uri()
    passphrase = {"PULUMI_CONFIG_PASSPHRASE": "test-only"}
    project.pulumi("stack", "init", "local", backend=backend, **passphrase)
    # stacks/local.yaml (from init) pins no blueprint: the program refuses to guess one, in one clear message.
    refused = project.pulumi("preview", "-s", "local", backend=backend, code=None, **passphrase)
    shown = refused.stdout + refused.stderr
    assert refused.returncode != 0, shown
    assert "invalid configuration: environment 'local': stacks/local.yaml pins no `blueprint:`" in shown, shown
    assert "pulumi config set mlplatform:blueprint <name> -s local" in shown, shown
    assert "Traceback" not in shown and "non-zero exit code" not in shown, shown

    project.pulumi("config", "set", "mlplatform:blueprint", "level2", "-s", "local", backend=backend, **passphrase)
    preview = project.pulumi("preview", "-s", "local", "--json", backend=backend, **passphrase)
    theirs = _plain_steps(json.loads(preview.stdout))
    assert {urn: type_ for urn, (type_, _) in theirs.items()} == {urn: type_ for urn, (type_, _) in ours.items()}
    assert {op for _, op in theirs.values()} == {"create"}
    assert {action for _, action in ours.values()} == {"create"}


def test_plain_pulumi_finds_nothing_to_change_in_the_stack_mlplatform_deployed(project: Project) -> None:
    state = project.cli.state_dir
    up = project.cli.json("up", "--engine", "pulumi", "--blueprint", "level2", "--yes")
    assert up["failed"] == 0 and up["summary"]["create"] > 100, up["summary"]

    # The stack mlplatform manages, as docs/pulumi-engine.md tells a user to reach it.
    shared = {
        "backend": (state / "pulumi-state").as_uri(),
        "PULUMI_CONFIG_PASSPHRASE_FILE": str(state / "pulumi" / "passphrase"),
    }
    config_file = str(state / "pulumi" / "local" / "Pulumi.local.yaml")
    preview = project.pulumi("preview", "-s", "local", "--json", "--config-file", config_file, **shared)
    # Every resource counts, components and the provider included (one the program left out would be a delete);
    # the JSON lists only the steps that change something, besides the stack's.
    document = json.loads(preview.stdout)
    summary = document["changeSummary"]
    assert set(summary) == {"same"} and summary["same"] > 120, (summary, _plain_steps(document, everything=True))
    assert _plain_steps(document, everything=True) == {}

    # And the other way round: after a plain `pulumi up` of that stack, mlplatform finds nothing to change.
    project.pulumi("up", "--yes", "-s", "local", "--config-file", config_file, **shared)
    again = project.cli.json("preview", "--engine", "pulumi")
    assert again["blueprint"] == "level2"
    assert {change["action"] for change in again["changes"]} == {"same"}, again["summary"]
