"""How failures reach a user or a CI job: JSON errors, ``--detailed-exitcode`` and a closed stdout.

JSON errors and exit codes go through typer's ``CliRunner`` (the same group handler a user runs); a
closed pipe cannot be reproduced in-process, so those tests run the real console script.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import typer
from typer.testing import Result

from mlplatform import environments
from mlplatform.app import workspace
from mlplatform.engine.model import Action, Change, Plan, PlanMode
from mlplatform.errors import MlplatformError

Run = Callable[..., Result]
MLPLATFORM = str(Path(sys.executable).parent / "mlplatform")
BAD_SPEC = "blueprint: level0\ntarget: local\noverrides:\n  training:\n    max_parallel_jobs: 0\n"


def json_error(result: Result, exit_code: int) -> dict[str, Any]:
    """The ``--json`` error contract: the exit code, and stdout is exactly one JSON object naming the error."""
    assert result.exit_code == exit_code, result.output
    document = json.loads(result.stdout)  # nothing else on stdout, or this fails
    error = document["error"]
    assert error["exit_code"] == exit_code
    assert {"type", "headline", "message", "hint", "exit_code"} <= set(error)
    assert "Traceback" not in result.stdout
    return dict(document)


# ------------------------------------------------------------------------------------------- --json errors


@pytest.mark.parametrize(
    ("args", "exit_code", "headline"),
    [
        (("validate", "--env", "nope"), 6, "environment not found"),
        (("preview", "--env", "nope"), 6, "environment not found"),
        (("up", "--env", "nope", "--yes"), 6, "environment not found"),
        (("destroy", "--env", "Not_A_Name", "--yes"), 2, "invalid environment name"),
        (("refresh", "--env", "nope"), 6, "environment not found"),
        (("state", "list", "--env", "Not_A_Name"), 2, "invalid environment name"),
        (("outputs", "--env", "Not_A_Name"), 2, "invalid environment name"),
        (("blueprints", "diff", "level0", "nope"), 2, "unknown blueprint"),
        (("blueprints", "list", "--no-such-flag"), 2, "invalid usage"),
        (("emulator", "status", "--no-such-flag"), 2, "invalid usage"),
    ],
    ids=lambda value: " ".join(value) if isinstance(value, tuple) else None,
)
def test_errors_under_json_are_one_json_object_on_stdout(
    run: Run, args: tuple[str, ...], exit_code: int, headline: str
) -> None:
    result = run(*args, "--json")
    error = json_error(result, exit_code)["error"]
    assert error["headline"] == headline
    assert result.stderr  # the human text is still on stderr
    without = run(*args)
    assert without.exit_code == exit_code and without.stdout == ""  # same code; plain text stays off stdout


def test_invalid_spec_under_json_keeps_validates_fields_and_the_problems(run: Run, tmp_path: Path) -> None:
    (tmp_path / "stacks").mkdir()
    (tmp_path / "stacks" / "local.yaml").write_text(BAD_SPEC, encoding="utf-8")
    for command in ("validate", "preview"):
        document = json_error(run(command, "--json"), 2)
        problems = document["error"]["problems"]
        assert [problem["path"] for problem in problems] == ["overrides.training.max_parallel_jobs"]
        assert problems[0]["file"] == "stacks/local.yaml" and problems[0]["value"] == "0"
    validate = json.loads(run("validate", "--json").stdout)
    assert validate["valid"] is False and validate["problems"] == validate["error"]["problems"]


def test_internal_error_and_interrupt_under_json(run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom from a test")

    monkeypatch.setattr(environments, "resolve", boom)
    result = run("validate", "--json")
    error = json_error(result, 255)["error"]
    assert error["headline"] == "internal error" and error["message"] == "RuntimeError: boom from a test"
    assert "Traceback" in result.stderr  # a bug keeps its traceback, on stderr

    def interrupt(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(environments, "resolve", interrupt)
    assert json_error(run("validate", "--json"), 8)["error"]["headline"] == "cancelled"

    def abort(*args: object, **kwargs: object) -> None:
        raise typer.Abort  # what click raises on Ctrl-C at a confirmation prompt

    monkeypatch.setattr(environments, "resolve", abort)
    assert json_error(run("validate", "--json"), 1)["error"]["type"] == "Abort"
    assert run("validate").exit_code == 1  # without --json: click's "Aborted!", as before


# ------------------------------------------------------------------------------------ --detailed-exitcode


class FakeEngine:
    """Answers preview with a fixed plan, or raises the error it was given."""

    def __init__(self, plan: Plan | None = None, error: Exception | None = None) -> None:
        self.plan, self.error = plan, error

    def preview(self, stack: object, **kwargs: object) -> Plan:
        if self.error is not None:
            raise self.error
        assert self.plan is not None
        return self.plan


def fake_workspace(monkeypatch: pytest.MonkeyPatch, engine: FakeEngine) -> None:
    resolved = SimpleNamespace(
        env="local", notes=(), warnings=(), blueprint_source="default", spec=SimpleNamespace(blueprint="level0")
    )
    monkeypatch.setattr(
        workspace,
        "open_workspace",
        lambda *args, **kwargs: SimpleNamespace(
            engine=engine,
            stack=None,
            resolved=resolved,
            project=Path("/project"),
            state_dir=Path("/state"),
            endpoint=None,
            emulator_restarted=False,
            emulator_started=False,
        ),
    )


def plan_with(*actions: Action) -> Plan:
    changes = [
        Change(f"urn::{index}", "aws:s3/bucket:Bucket", f"b{index}", None, action)
        for index, action in enumerate(actions)
    ]
    return Plan(PlanMode.UPDATE, "local", "level0", "local", changes)


def test_detailed_exitcode_is_0_without_changes_and_2_with(run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_workspace(monkeypatch, FakeEngine(plan_with(Action.SAME)))
    assert run("preview", "--detailed-exitcode").exit_code == 0
    fake_workspace(monkeypatch, FakeEngine(plan_with(Action.SAME, Action.UPDATE)))
    assert run("preview", "--detailed-exitcode").exit_code == 2
    assert run("preview").exit_code == 0


def test_detailed_exitcode_makes_every_error_1(run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_open_workspace = workspace.open_workspace
    assert run("preview", "--env", "nope", "--detailed-exitcode").exit_code == 1  # 6 without the flag
    assert run("preview", "--detailed-exitcode", "--no-such-flag").exit_code == 1  # click's usage error: 2
    fake_workspace(monkeypatch, FakeEngine(plan_with(Action.CREATE)))
    assert run("preview", "--detailed-exitcode", "--expect-no-changes").exit_code == 1  # 7 without the flag
    fake_workspace(monkeypatch, FakeEngine(error=RuntimeError("engine bug")))
    assert run("preview", "--detailed-exitcode").exit_code == 1  # 255 without the flag
    engine_error = MlplatformError("the emulator went away")
    engine_error.exit_code = 4
    fake_workspace(monkeypatch, FakeEngine(error=engine_error))
    assert run("preview", "--detailed-exitcode").exit_code == 1

    monkeypatch.setattr(workspace, "open_workspace", real_open_workspace)  # resolving fails before any emulator
    (tmp_path / "stacks").mkdir()
    (tmp_path / "stacks" / "local.yaml").write_text(BAD_SPEC, encoding="utf-8")
    invalid = run("preview", "--detailed-exitcode")
    assert invalid.exit_code == 1, invalid.output  # an invalid spec must never read as "changes"
    assert "max_parallel_jobs" in invalid.stderr
    assert run("preview").exit_code == 2
    assert json_error(run("preview", "--detailed-exitcode", "--json"), 1)["error"]["headline"] == "invalid spec"


# ------------------------------------------------------------------------------------------ closed stdout


@pytest.mark.parametrize(
    "args",
    [
        ("state", "list"),
        ("outputs",),
        ("blueprints", "list"),
        ("validate",),
        ("state", "list", "--json"),
        ("--help",),
        ("preview", "--help"),
    ],
    ids=" ".join,
)
def test_a_closed_stdout_ends_quietly(tmp_path: Path, args: tuple[str, ...]) -> None:
    """``mlplatform state list | head -1``: the reader is gone; exit 141 like `git log | head`, say nothing."""
    from mlplatform.engine.embedded.state import StateStore

    store = StateStore(tmp_path / "state", "local")
    with store.lock("up"):  # an environment that was deployed (and emptied): state list/outputs print lines
        store.set_outputs({"bucket": "b"})
        store.compact()
    read_end, write_end = os.pipe()
    os.close(read_end)  # no reader at all: the first write fails with EPIPE, as when head has exited
    try:
        result = subprocess.run(
            [MLPLATFORM, *args],
            cwd=tmp_path,
            env={**os.environ, "MLPLATFORM_STATE_DIR": str(tmp_path / "state"), "NO_COLOR": "1"},
            stdout=write_end,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        os.close(write_end)
    assert (result.returncode, result.stderr) == (141, "")
