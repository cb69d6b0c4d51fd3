"""The Engine protocol, checked by behaviour: any engine that honours it can drive the CLI.

Two engines go through the same CLI session (typer's CliRunner): :class:`ListEngine`, a deliberately small
engine written here against :class:`~mlplatform.engine.model.Engine` alone (its "program" is a fixed list
of resources, its positional parameters are named differently, options it ignores go to ``**_``), and
the real :class:`EmbeddedEngine` over the in-memory cloud of :mod:`tests.unit.fake_cloud`. The session is
preview, up, a second preview with no changes, outputs, state list, state show, unlock (free and held),
state rm, destroy — what each prints and exits with is the contract, not the engines' signatures.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pulumi
import pytest

from mlplatform.app import workspace as workspace_module
from mlplatform.engine.embedded.state import StateStore
from mlplatform.engine.model import (
    Action,
    Change,
    ConfirmForget,
    Engine,
    ImportPlan,
    Plan,
    PlanMode,
    Result,
    StackState,
    StateResource,
    StepResult,
    StepStatus,
)
from mlplatform.engine.model import Stack as StackDef
from tests.unit import fake_cloud
from tests.unit.conftest import Run
from tests.unit.fake_cloud import BUCKET, ENV, fake_engine

BUCKETS = ("data-raw", "data-clean", "logs")
OUTPUTS = {"bucket": "data-raw"}


def program() -> None:
    fake_cloud.program()
    pulumi.export("bucket", OUTPUTS["bucket"])


STACK = StackDef(env=ENV, blueprint="level0", target="local", program=program)


class ListEngine:
    """An engine that "deploys" a fixed list of buckets into a dict: the protocol and nothing else."""

    def __init__(self, declared: Iterable[str], outputs: dict[str, Any]) -> None:
        self.declared = list(declared)
        self.declared_outputs = dict(outputs)
        self.states: dict[str, StackState] = {}
        self.locks: dict[str, str] = {}
        self.serial = 0

    @staticmethod
    def _urn(environment: str, name: str) -> str:
        return f"urn:pulumi:{environment}::list::{BUCKET}::{name}"

    def _held(self, environment: str) -> list[str]:
        found = self.states.get(environment)
        return [resource.name for resource in found.resources] if found else []

    def _change(self, environment: str, name: str, action: Action) -> Change:
        return Change(self._urn(environment, name), BUCKET, name, None, action)

    def preview(self, the_stack: StackDef, **_: Any) -> Plan:
        held = self._held(the_stack.env)
        changes = [
            self._change(the_stack.env, name, Action.SAME if name in held else Action.CREATE) for name in self.declared
        ]
        changes += [self._change(the_stack.env, name, Action.DELETE) for name in held if name not in self.declared]
        return Plan(PlanMode.UPDATE, the_stack.env, the_stack.blueprint, the_stack.target, changes)

    def preview_destroy(self, the_stack: StackDef, **_: Any) -> Plan:
        changes = [self._change(the_stack.env, name, Action.DELETE) for name in self._held(the_stack.env)]
        return Plan(PlanMode.DESTROY, the_stack.env, the_stack.blueprint, the_stack.target, changes)

    def _apply(self, the_stack: StackDef, plan: Plan, keep: list[str], outputs: dict[str, Any]) -> Result:
        self.serial += 1
        self.states[the_stack.env] = StackState(
            the_stack.env,
            the_stack.blueprint,
            self.serial,
            "lineage-1",
            [StateResource(self._urn(the_stack.env, name), BUCKET, name, details={"id": name}) for name in keep],
            outputs,
        )
        steps = [StepResult(change, StepStatus.OK, 0.0) for change in plan.changes]
        return Result(plan.mode, the_stack.env, the_stack.blueprint, the_stack.target, steps, outputs)

    def up(self, the_stack: StackDef, *, approve: Callable[[Plan], bool] | None = None, **_: Any) -> Result | None:
        plan = self.preview(the_stack)
        if approve is not None and not approve(plan):
            return None
        return self._apply(the_stack, plan, list(self.declared), dict(self.declared_outputs))

    def destroy(self, the_stack: StackDef, *, approve: Callable[[Plan], bool] | None = None, **_: Any) -> Result | None:
        plan = self.preview_destroy(the_stack)
        if approve is not None and not approve(plan):
            return None
        return self._apply(the_stack, plan, [], {})

    def import_resources(self, the_stack: StackDef, *, confirm: Callable[[ImportPlan], bool]) -> ImportPlan:
        return ImportPlan(the_stack.env, the_stack.blueprint, the_stack.target)

    def refresh(self, the_stack: StackDef) -> Result:
        return Result(PlanMode.REFRESH, the_stack.env, the_stack.blueprint, the_stack.target)

    def outputs(self, environment: str) -> dict[str, Any]:
        found = self.states.get(environment)
        return dict(found.outputs) if found else {}

    def remembered_blueprint(self, environment: str) -> str | None:
        found = self.states.get(environment)
        return found.blueprint if found and found.resources else None

    def state(self, environment: str) -> StackState | None:
        return self.states.get(environment)

    def resource(self, environment: str, name: str) -> StateResource:
        found = self.states[environment]
        return next(resource for resource in found.resources if name in (resource.name, resource.urn))

    def forget(
        self, environment: str, names: Iterable[str], *, confirm: ConfirmForget, **_: Any
    ) -> list[StateResource]:
        found = self.states[environment]
        chosen = [resource for resource in found.resources if resource.name in set(names)]
        if not confirm(chosen):
            return []
        self.states[environment] = replace(found, resources=[r for r in found.resources if r not in chosen])
        return chosen

    def unlock(self, environment: str) -> str | None:
        return self.locks.pop(environment, None)


@contextmanager
def _list_lock(engine: ListEngine) -> Iterator[None]:
    engine.locks[ENV] = "an `up` in another terminal"
    yield


EngineUnderTest = tuple[Engine, Callable[[], AbstractContextManager[object]]]


@pytest.fixture(params=["list", "embedded"])
def engine(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> EngineUnderTest:
    """Each engine, put behind the CLI's two doors (opening an environment, and reading its state)."""
    hold_lock: Callable[[], AbstractContextManager[object]]
    chosen: Engine
    if request.param == "list":
        listed = ListEngine(BUCKETS, OUTPUTS)
        chosen, hold_lock = listed, lambda: _list_lock(listed)
    else:
        chosen, _ = fake_engine(tmp_path, monkeypatch)
        hold_lock = lambda: StateStore(tmp_path / "state", ENV).lock("up")  # noqa: E731
    resolved = SimpleNamespace(
        env=ENV, notes=(), warnings=(), blueprint_source="default", spec=SimpleNamespace(blueprint=STACK.blueprint)
    )
    opened = workspace_module.Workspace(resolved, chosen, STACK, None, tmp_path, tmp_path / "state")  # type: ignore[arg-type]
    monkeypatch.setattr(workspace_module, "open_workspace", lambda *args, **kwargs: opened)
    monkeypatch.setattr(workspace_module, "state_engine", lambda state_dir, env=None: chosen)
    monkeypatch.setenv("MLPLATFORM_STATE_DIR", str(tmp_path / "state"))
    return chosen, hold_lock


def bucket_names(run: Run) -> list[str]:
    listed = run("state", "list", "--env", ENV, "--json")
    assert listed.exit_code == 0, listed.output
    return sorted(r["urn"].rsplit("::", 1)[-1] for r in json.loads(listed.stdout)["resources"] if r["type"] == BUCKET)


def test_an_engine_that_honours_the_protocol_drives_the_cli(run: Run, engine: EngineUnderTest) -> None:
    chosen, hold_lock = engine
    assert isinstance(chosen, Engine)

    assert run("state", "list", "--env", ENV).exit_code == 6  # nothing deployed yet

    preview = run("preview", "--env", ENV, "--json")
    assert preview.exit_code == 0, preview.output
    assert json.loads(preview.stdout)["summary"]["create"] == len(BUCKETS)
    assert run("outputs", "--env", ENV).exit_code == 6  # a preview changes nothing

    up = run("up", "--env", ENV, "--yes", "--json")
    assert up.exit_code == 0, up.output
    result = json.loads(up.stdout)
    assert result["summary"]["create"] == len(BUCKETS) and result["failed"] == 0

    assert run("preview", "--env", ENV, "--detailed-exitcode").exit_code == 0  # no changes left

    outputs = run("outputs", "--env", ENV, "--json")
    assert outputs.exit_code == 0, outputs.output
    assert json.loads(outputs.stdout) == OUTPUTS

    assert bucket_names(run) == sorted(BUCKETS)
    shown = run("state", "show", "logs", "--env", ENV, "--json")
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout)["id"] == "logs"

    free = run("unlock", "--env", ENV)
    assert free.exit_code == 0 and f"environment {ENV!r} was not locked" in free.stdout
    with hold_lock():
        held = run("unlock", "--env", ENV)
    assert held.exit_code == 0 and f"removed the lock of environment {ENV!r} held by " in held.stdout

    forgotten = run("state", "rm", "logs", "--env", ENV, "--yes")
    assert forgotten.exit_code == 0, forgotten.output
    assert "removed 1 resources" in forgotten.stdout
    assert bucket_names(run) == ["data-clean", "data-raw"]

    destroyed = run("destroy", "--env", ENV, "--yes", "--json")
    assert destroyed.exit_code == 0, destroyed.output
    assert json.loads(destroyed.stdout)["summary"]["delete"] == 2
    assert bucket_names(run) == []
