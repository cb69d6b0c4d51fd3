"""The embedded engine: preview, up, destroy, refresh and outputs of one environment, in-process.

It ties the pieces together — the runner evaluates the program against the monitor, the deployment
diffs and applies, handlers talk to AWS (the emulator), the state store journals every step under the
environment's lock — and returns the plain data of :mod:`mlplatform.engine.model`.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from mlplatform.engine.embedded.deployment import PROVIDER_PREFIX, Deployment, Events, Journal, Record, _no_events
from mlplatform.engine.embedded.handlers import registry
from mlplatform.engine.embedded.handlers.base import CallCounter
from mlplatform.engine.embedded.monitor import EngineMonitor
from mlplatform.engine.embedded.runner import run_program
from mlplatform.engine.embedded.state import (
    LoadedState,
    PendingOperation,
    ResourceState,
    Snapshot,
    StateStore,
    remembered_blueprint,
)
from mlplatform.engine.model import Action, Diagnostic, Plan, PlanMode, Result, Stack, StepStatus
from mlplatform.engine.values import UNKNOWN
from mlplatform.errors import PlanError
from mlplatform.spec.models import COMPONENTS

PROJECT = "mlplatform"


class _StoreJournal(Journal):
    """Journal adapter: records which URNs the apply already journaled (the rest is reconciled later)."""

    def __init__(self, store: StateStore) -> None:
        self.store = store
        self.touched: set[str] = set()
        self.lock = threading.Lock()

    def begin(self, op: str, record: ResourceState | None, urn: str, type_: str, detail: dict[str, Any]) -> str:
        with self.lock:
            self.touched.add(urn)
        return self.store.begin(op, urn, type_, detail)  # type: ignore[arg-type]

    def succeed(self, op_id: str, record: ResourceState | None, urn: str) -> None:
        self.store.succeed(op_id, record)

    def fail(self, op_id: str, error: str) -> None:
        self.store.fail(op_id, error)


def plain(value: Any) -> Any:
    """Outputs as JSON data: the SDK's ``Unknown`` placeholders (previews) become the unknown marker."""
    if type(value).__name__ == "Unknown":
        return UNKNOWN
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    return value


class EmbeddedEngine:
    """Runs programs in-process and deploys them through boto3 handlers (the local target).

    Args:
        state_dir: where environments' state lives.
        parallel: how many resources may be applied at once.
        events: progress callback for renderers.
    """

    name = "embedded"

    def __init__(
        self, state_dir: Path, *, parallel: int = 10, events: Events = _no_events, endpoint: str | None = None
    ) -> None:
        self.state_dir = state_dir
        self.parallel = max(1, parallel)
        self.events = events
        self.endpoint = endpoint  # the emulator's current URL: destroy/refresh use it over the recorded one

    def store(self, env: str) -> StateStore:
        return StateStore(self.state_dir, env)

    # ---- read-only ---------------------------------------------------------------------------------

    def snapshot(self, env: str) -> Snapshot:
        """The environment's state as last written (no lock needed)."""
        return self.store(env).load().snapshot

    def remembered_blueprint(self, env: str) -> str | None:
        """The blueprint the environment was last deployed with, if it has state."""
        return remembered_blueprint(self.state_dir, env)

    def outputs(self, env: str) -> dict[str, Any]:
        return dict(self.snapshot(env).outputs)

    # ---- plans and applies -------------------------------------------------------------------------

    def preview(self, stack: Stack, *, refresh: bool = False, targets: frozenset[str] | None = None) -> Plan:
        """What ``up`` would change (no mutating call; reads only with ``refresh`` and to check planned deletes)."""
        return self._plan(stack, self.store(stack.env).load(), refresh=refresh, targets=targets)

    def _plan(self, stack: Stack, loaded: LoadedState, *, refresh: bool, targets: frozenset[str] | None) -> Plan:
        previous = _by_urn(loaded.snapshot)
        deployment = Deployment(
            previous=previous,
            handlers=registry(),
            endpoint_override=self.endpoint,
            preview=True,
            refresh=refresh,
            targets=targets,
            interrupted=[op.urn for op in loaded.interrupted],
        )
        if refresh:
            deployment.read_live(list(previous.values()), parallel=self.parallel)
        run_program(stack.program, EngineMonitor(deployment, PROJECT, stack.env), preview=True, parallel=self.parallel)
        if targets is None:
            deployment.delete(deployment.orphans(), parallel=self.parallel)
        deployment.check_deletes()
        plan = Plan(
            PlanMode.UPDATE,
            stack.env,
            stack.blueprint,
            stack.target,
            deployment.plan(),
            plain(deployment.stack_outputs),
            list(deployment.diagnostics),
            previous_blueprint=loaded.snapshot.blueprint if loaded.snapshot.resources else None,
        )
        plan.diagnostics += [Diagnostic("warning", text) for text in loaded.warnings]
        plan.diagnostics += [_interrupted_note(op) for op in loaded.interrupted]
        downgrade = _blueprint_change_note(plan)
        if downgrade is not None:
            plan.diagnostics.insert(0, downgrade)
        return plan

    def preview_destroy(self, stack: Stack) -> Plan:
        """What ``destroy`` would delete, with what would make a delete fail as error diagnostics."""
        return self._destroy_plan(stack, self.snapshot(stack.env))

    def _destroy_plan(self, stack: Stack, snapshot: Snapshot) -> Plan:
        deployment = Deployment(
            previous=_by_urn(snapshot), handlers=registry(), endpoint_override=self.endpoint, preview=True
        )
        deployment.delete(list(_by_urn(snapshot).values()), parallel=self.parallel)
        deployment.check_deletes()
        return Plan(
            PlanMode.DESTROY,
            stack.env,
            snapshot.blueprint or stack.blueprint,
            stack.target,
            deployment.plan(),
            {},
            list(deployment.diagnostics),
        )

    def up(
        self,
        stack: Stack,
        *,
        refresh: bool = False,
        targets: frozenset[str] | None = None,
        approve: Approve | None = None,
    ) -> Result | None:
        """Apply the program: create, update, replace and delete until state matches it.

        Args:
            approve: when given, the plan is made first, under the same lock as the apply (so no other run
                slips in between), and handed to ``approve`` — which shows it and says whether to go on. A plan
                with errors is never applied. Without it, the program is applied as it registers (no plan).

        Returns:
            What was done, or ``None`` when ``approve`` declined.

        Raises:
            PlanError: the plan has errors (nothing was changed).
        """
        store = self.store(stack.env)
        with store.lock("up"), _graceful_interrupt() as cancelled:
            loaded = store.load()
            if approve is not None and not _approved(
                self._plan(stack, loaded, refresh=refresh, targets=targets), approve
            ):
                return None
            previous = _by_urn(loaded.snapshot)
            journal = _StoreJournal(store)
            counter = CallCounter()
            deployment = Deployment(
                previous=previous,
                handlers=registry(),
                endpoint_override=self.endpoint,
                preview=False,
                refresh=refresh,
                targets=targets,
                journal=journal,
                events=self.events,
                counter=counter,
                interrupted=[op.urn for op in loaded.interrupted],
            )
            deployment.cancelled = cancelled
            if refresh:
                deployment.read_live(list(previous.values()), parallel=self.parallel)
            if stack.blueprint != loaded.snapshot.blueprint:
                store.set_blueprint(stack.blueprint)
            orphans: list[Record] = []
            try:
                run_program(
                    stack.program, EngineMonitor(deployment, PROJECT, stack.env), preview=False, parallel=self.parallel
                )
                orphans = deployment.orphans() if targets is None else []
                if orphans and not deployment.broken and not cancelled.is_set():
                    deployment.delete(orphans, parallel=self.parallel)
            finally:
                # Whatever happened, what was applied is journaled; fold it (and bookkeeping) into state.
                self._reconcile(
                    store,
                    previous,
                    deployment,
                    journal,
                    loaded.interrupted,
                    complete=not deployment.broken and not cancelled.is_set() and targets is None,
                )
                outputs = plain(deployment.stack_outputs)
                if (outputs or not deployment.broken) and outputs != loaded.snapshot.outputs:
                    store.set_outputs(outputs)
                deleted = {
                    step.change.urn
                    for step in deployment.steps
                    if step.change.action is Action.DELETE and step.status is StepStatus.OK
                }
                still_there = [orphan.urn for orphan in _infrastructure(orphans) if orphan.urn not in deleted]
                _record_run(store, loaded.snapshot, "up", deployment, cancelled, still_there)
                store.compact()
        result = Result(
            PlanMode.UPDATE,
            stack.env,
            stack.blueprint,
            stack.target,
            list(deployment.steps),
            plain(deployment.stack_outputs),
            list(deployment.diagnostics),
            counter.total,
            counter.mutating,
            cancelled.is_set(),
            [op.to_dict() for op in loaded.interrupted],
        )
        result.diagnostics += [Diagnostic("warning", text) for text in loaded.warnings + store.notes]
        return result

    def destroy(self, stack: Stack, *, approve: Approve | None = None) -> Result | None:
        """Delete everything in the environment's state, dependents first.

        Args:
            approve: as for :meth:`up`: the destroy plan is made under the lock and handed to it first.

        Returns:
            What was done, or ``None`` when ``approve`` declined.

        Raises:
            PlanError: something would make a delete fail (nothing was deleted).
        """
        store = self.store(stack.env)
        with store.lock("destroy"), _graceful_interrupt() as cancelled:
            loaded = store.load()
            if approve is not None and not _approved(self._destroy_plan(stack, loaded.snapshot), approve):
                return None
            previous = _by_urn(loaded.snapshot)
            journal = _StoreJournal(store)
            counter = CallCounter()
            deployment = Deployment(
                previous=previous,
                handlers=registry(),
                endpoint_override=self.endpoint,
                preview=False,
                journal=journal,
                events=self.events,
                counter=counter,
            )
            deployment.cancelled = cancelled
            try:
                deployment.delete(list(previous.values()), parallel=self.parallel)
            finally:
                if not deployment.records and loaded.snapshot.outputs:
                    store.set_outputs({})
                _record_run(
                    store,
                    loaded.snapshot,
                    "destroy",
                    deployment,
                    cancelled,
                    [record.urn for record in _infrastructure(deployment.records.values())],
                )
                store.compact()
        return Result(
            PlanMode.DESTROY,
            stack.env,
            loaded.snapshot.blueprint,
            stack.target,
            list(deployment.steps),
            {},
            list(deployment.diagnostics),
            counter.total,
            counter.mutating,
            cancelled.is_set(),
        )

    def refresh(self, stack: Stack) -> Result:
        """Read every resource's live state into state, without changing the cloud."""
        store = self.store(stack.env)
        with store.lock("refresh"):
            loaded = store.load()
            counter = CallCounter()
            deployment = Deployment(
                previous=_by_urn(loaded.snapshot),
                handlers=registry(),
                endpoint_override=self.endpoint,
                preview=True,
                counter=counter,
            )
            steps = deployment.refresh_state(list(_by_urn(loaded.snapshot).values()), store)
            store.compact()
        return Result(
            PlanMode.REFRESH,
            stack.env,
            loaded.snapshot.blueprint,
            stack.target,
            steps,
            {},
            list(deployment.diagnostics),
            counter.total,
            counter.mutating,
        )

    def unlock(self, env: str) -> Any:
        return self.store(env).force_unlock()

    # ---- bookkeeping ---------------------------------------------------------------------------------

    def _reconcile(
        self,
        store: StateStore,
        previous: dict[str, Record],
        deployment: Deployment,
        journal: _StoreJournal,
        interrupted: list[PendingOperation],
        *,
        complete: bool,
    ) -> None:
        """Journal what changed without a cloud call: components, providers, renames, metadata, adoptions.

        Steps that called the cloud were journaled as they ran; everything else the run learnt (a new
        component, a rename by alias, new dependencies of an unchanged resource, an adopted resource)
        is written here so the compacted snapshot matches the program.
        """
        for urn, record in list(deployment.records.items()):
            if urn in journal.touched:
                continue
            old = previous.get(urn) or previous.get(_renamed_from(deployment, urn) or "")
            if old is not None and _same_record(old, record):
                continue
            if old is None:
                op_id = store.begin("create", urn, record.type, {"bookkeeping": True})
            else:
                op_id = store.begin("update", old.urn, record.type, {"bookkeeping": True})
            store.succeed(op_id, record)
        for operation in interrupted:
            # An interrupted operation is resolved once this run has settled the resource.
            current = deployment.records.get(operation.urn)
            if current is not None:
                if operation.op == "delete":
                    store.fail(operation.op_id, "superseded: the resource is managed again")
                else:
                    store.succeed(operation.op_id, current)
            elif complete:
                store.fail(operation.op_id, "resolved: the resource is not in the program")


Approve = Callable[[Plan], bool]
"""Shown a plan before it is applied; ``False`` stops the run with nothing changed."""


def _approved(plan: Plan, approve: Approve) -> bool:
    """Hand ``plan`` to ``approve``; a plan with errors is refused whatever the answer."""
    accepted = approve(plan)
    if plan.errors:
        count = len(plan.errors)
        raise PlanError(
            f"{count} planned change{'s' if count != 1 else ''} would fail (see above); nothing was changed.",
            [diagnostic.message for diagnostic in plan.errors],
        )
    return accepted


def _blueprint_change_note(plan: Plan) -> Diagnostic | None:
    """A warning naming what a blueprint change deletes (never a silent downgrade)."""
    if not plan.previous_blueprint or not plan.blueprint or plan.previous_blueprint == plan.blueprint:
        return None
    deleted = [c for c in plan.changes if c.custom and c.action is Action.DELETE]
    if not deleted:
        return Diagnostic("info", f"blueprint {plan.previous_blueprint} -> {plan.blueprint}: nothing is deleted")
    # Tagged resources name their spec component; untagged children (policies, rules) only their class.
    components = sorted({c.component for c in deleted if c.component in COMPONENTS})
    return Diagnostic(
        "warning",
        f"blueprint {plan.previous_blueprint} -> {plan.blueprint} deletes {len(deleted)} resource"
        f"{'s' if len(deleted) != 1 else ''}" + (f" (components: {', '.join(components)})" if components else ""),
    )


def _record_run(
    store: StateStore,
    before: Snapshot,
    command: str,
    deployment: Deployment,
    cancelled: threading.Event,
    not_deleted: list[str],
) -> None:
    """Journal how the run ended when it did not finish (or when it clears an unfinished one).

    ``outputs`` reads it: after a run that failed or was cancelled, the outputs are the program's, but some
    resources the program no longer declares may still be deployed — it says so instead of letting the
    outputs claim they are gone. A clean run after a clean run writes nothing (a no-op stays a no-op).
    """
    failed = sum(1 for step in deployment.steps if step.status is StepStatus.FAILED and step.change.custom)
    skipped = sum(1 for step in deployment.steps if step.status is StepStatus.SKIPPED and step.change.custom)
    status = "cancelled" if cancelled.is_set() else ("failed" if failed or skipped else "ok")
    if status == "ok" and not not_deleted and (before.last_run is None or before.last_run.get("status") == "ok"):
        return
    store.set_last_run(
        {
            "command": command,
            "status": status,
            "failed": failed,
            "skipped": skipped,
            "not_deleted": not_deleted,
            "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
    )


def _infrastructure(records: Iterable[Record]) -> list[Record]:
    """The records that are cloud resources (not components, not providers)."""
    return [record for record in records if record.custom and not record.type.startswith(PROVIDER_PREFIX)]


def _renamed_from(deployment: Deployment, urn: str) -> str | None:
    return next((old for old, new in deployment.renamed.items() if new == urn), None)


def _same_record(a: ResourceState, b: ResourceState) -> bool:
    return replace(a, created_at=None, updated_at=None) == replace(b, created_at=None, updated_at=None)


def _by_urn(snapshot: Snapshot) -> dict[str, Record]:
    return {resource.urn: resource for resource in snapshot.resources}


def _interrupted_note(operation: PendingOperation) -> Diagnostic:
    name = operation.urn.rsplit("::", 1)[-1]
    return Diagnostic(
        "warning",
        f"an earlier run was interrupted during {operation.op} of {name} ({operation.started_at}); up will adopt or "
        "redo it",
        operation.urn,
    )


@contextmanager
def _graceful_interrupt() -> Iterator[threading.Event]:
    """First Ctrl-C: stop starting new steps, let in-flight ones finish and be saved. Second: abort now."""
    cancelled = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield cancelled
        return

    def handler(signum: int, frame: Any) -> None:
        if cancelled.is_set():
            raise KeyboardInterrupt
        cancelled.set()

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield cancelled
    finally:
        signal.signal(signal.SIGINT, previous)
