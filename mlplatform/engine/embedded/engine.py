"""The embedded engine: preview, up, destroy, refresh and outputs of one environment, in-process.

It ties the pieces together — the runner evaluates the program against the monitor, the deployment
diffs and applies, handlers talk to AWS (the emulator), the state store journals every step under the
environment's lock — and returns the plain data of :mod:`mlplatform.engine.model`.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from mlplatform.engine.embedded.deployment import Deployment, Events, Journal, Record, _no_events
from mlplatform.engine.embedded.handlers import registry
from mlplatform.engine.embedded.handlers.base import CallCounter
from mlplatform.engine.embedded.monitor import EngineMonitor
from mlplatform.engine.embedded.runner import run_program
from mlplatform.engine.embedded.state import PendingOperation, ResourceState, Snapshot, StateStore
from mlplatform.engine.model import Diagnostic, Plan, PlanMode, Result, Stack
from mlplatform.engine.values import UNKNOWN

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
        snapshot = self.snapshot(env)
        return snapshot.blueprint if snapshot.resources else None

    def outputs(self, env: str) -> dict[str, Any]:
        return dict(self.snapshot(env).outputs)

    # ---- plans and applies -------------------------------------------------------------------------

    def preview(self, stack: Stack, *, refresh: bool = False, targets: frozenset[str] | None = None) -> Plan:
        """What ``up`` would change (no mutating call; reads only with ``refresh``)."""
        store = self.store(stack.env)
        loaded = store.load()
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
        run_program(stack.program, EngineMonitor(deployment, PROJECT, stack.env), preview=True, parallel=self.parallel)
        if targets is None:
            deployment.delete(deployment.orphans(), parallel=self.parallel)
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
        return plan

    def preview_destroy(self, stack: Stack) -> Plan:
        snapshot = self.snapshot(stack.env)
        deployment = Deployment(
            previous=_by_urn(snapshot), handlers=registry(), endpoint_override=self.endpoint, preview=True
        )
        deployment.delete(list(_by_urn(snapshot).values()), parallel=self.parallel)
        return Plan(
            PlanMode.DESTROY, stack.env, snapshot.blueprint or stack.blueprint, stack.target, deployment.plan(), {}, []
        )

    def up(self, stack: Stack, *, refresh: bool = False, targets: frozenset[str] | None = None) -> Result:
        """Apply the program: create, update, replace and delete until state matches it."""
        store = self.store(stack.env)
        with store.lock("up"), _graceful_interrupt() as cancelled:
            loaded = store.load()
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
            if stack.blueprint != loaded.snapshot.blueprint:
                store.set_blueprint(stack.blueprint)
            try:
                run_program(
                    stack.program, EngineMonitor(deployment, PROJECT, stack.env), preview=False, parallel=self.parallel
                )
                if targets is None and not deployment.broken and not cancelled.is_set():
                    deployment.delete(deployment.orphans(), parallel=self.parallel)
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

    def destroy(self, stack: Stack) -> Result:
        """Delete everything in the environment's state, dependents first."""
        store = self.store(stack.env)
        with store.lock("destroy"), _graceful_interrupt() as cancelled:
            loaded = store.load()
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
