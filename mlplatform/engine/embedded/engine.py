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

from mlplatform.engine.conventions import Conventions
from mlplatform.engine.embedded import discovery
from mlplatform.engine.embedded.deployment import (
    PROVIDER_PREFIX,
    Deployment,
    Journal,
    Record,
    dependencies_of,
    dependents_of,
)
from mlplatform.engine.embedded.handlers import registry
from mlplatform.engine.embedded.handlers.base import AwsContext, CallCounter
from mlplatform.engine.embedded.monitor import EngineMonitor
from mlplatform.engine.embedded.runner import run_program
from mlplatform.engine.embedded.state import (
    LoadedState,
    PendingOperation,
    ResourceState,
    Snapshot,
    StateStore,
    remembered_blueprint,
    replaced_resources,
)
from mlplatform.engine.model import (
    Action,
    ConfirmForget,
    Diagnostic,
    Events,
    ImportPlan,
    Plan,
    PlanMode,
    Result,
    Stack,
    StackState,
    StateResource,
    StepStatus,
    approve_plan,
    no_events,
)
from mlplatform.engine.targets import logical_name, resolve_urns
from mlplatform.engine.values import plain
from mlplatform.errors import ConfigError, MlplatformError


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


class DependentsInStateError(ConfigError):
    """``state rm`` of resources that other resources in state depend on (exit 2)."""

    headline = "resources depend on it"


class EmbeddedEngine:
    """Runs programs in-process and deploys them through boto3 handlers (the local target).

    Args:
        state_dir: where environments' state lives.
        conventions: the application's project name, component types and tags (the engine hard-codes none).
        parallel: how many resources may be applied at once.
        events: progress callback for renderers.
        endpoint: the emulator's current URL: destroy and refresh use it over the one recorded in state.
    """

    name = "embedded"

    def __init__(
        self,
        state_dir: Path,
        *,
        conventions: Conventions,
        parallel: int = 10,
        events: Events = no_events,
        endpoint: str | None = None,
    ) -> None:
        self.state_dir = state_dir
        self.conventions = conventions
        self.parallel = max(1, parallel)
        self.events = events
        self.endpoint = endpoint

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
        """The stack outputs as last saved (secrets still wrapped)."""
        return dict(self.snapshot(env).outputs)

    def state(self, env: str) -> StackState | None:
        """The environment's state as last written (no lock needed); ``None`` when it has none here."""
        store = self.store(env)
        if not store.snapshot_path.exists() and not store.journal_path.exists():
            return None
        snapshot = store.load().snapshot
        return StackState(
            env=env,
            blueprint=snapshot.blueprint,
            serial=snapshot.serial,
            lineage=snapshot.lineage,
            resources=[_entry(record) for record in snapshot.resources],
            outputs=dict(snapshot.outputs),
            last_run=snapshot.last_run,
        )

    # ---- plans and applies -------------------------------------------------------------------------

    def preview(self, stack: Stack, *, refresh: bool = False, targets: frozenset[str] | None = None) -> Plan:
        """What ``up`` would change (no mutating call; reads only with ``refresh`` and to check planned deletes).

        Raises:
            UnknownResourceError, AmbiguousResourceError: a target names no resource, or several (exit 2).
        """
        loaded = self.store(stack.env).load()
        return self._plan(stack, loaded, refresh=refresh, targets=self._targets(stack, loaded, targets))

    def _targets(self, stack: Stack, loaded: LoadedState, targets: frozenset[str] | None) -> frozenset[str] | None:
        """``--target`` as typed (URNs, logical names, ``<type>::<name>``) -> URNs of resources in state or in
        the program; anything else is an error with suggestions, never a silent "No changes"."""
        if targets is None:
            return None
        candidates = [record.urn for record in loaded.snapshot.resources if _infrastructure(record)]
        if not targets <= set(candidates):
            # Names, or resources only the program declares (not created yet): learn the program's URNs.
            program = self._plan(stack, loaded, refresh=False, targets=None)
            known = set(candidates)
            candidates += [change.urn for change in program.changes if change.custom and change.urn not in known]
        return frozenset(
            resolve_urns(
                sorted(targets),
                candidates,
                where=f"environment {stack.env!r} (its state and its program)",
                hint="`mlplatform preview` names every resource of the program; `mlplatform state list` shows URNs.",
            )
        )

    def _plan(self, stack: Stack, loaded: LoadedState, *, refresh: bool, targets: frozenset[str] | None) -> Plan:
        previous = _by_urn(loaded.snapshot)
        deployment = Deployment(
            previous=previous,
            handlers=registry(),
            endpoint_override=self.endpoint,
            preview=True,
            refresh=refresh,
            targets=targets,
            interrupted=[op.urn for op in loaded.unsettled],
            preflight=_lost_state_check(stack.env, loaded, self.conventions),
            conventions=self.conventions,
        )
        if refresh:
            deployment.read_live(list(previous.values()), parallel=self.parallel)
        self._run(stack, deployment, preview=True)
        if targets is None:
            deployment.delete(deployment.orphans(), parallel=self.parallel)
        deployment.check_deletes()
        deployment.note_untargeted()
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
        plan.diagnostics += [_interrupted_note(op) for op in loaded.unsettled]
        plan.diagnostics += [_replaced_note(record) for _, record in loaded.replaced]
        downgrade = _blueprint_change_note(plan, self.conventions.components)
        if downgrade is not None:
            plan.diagnostics.insert(0, downgrade)
        return plan

    def preview_destroy(self, stack: Stack, *, targets: frozenset[str] | None = None) -> Plan:
        """What ``destroy`` would delete: everything, or the ``targets`` and what depends on them; what would
        make a delete fail is an error diagnostic.

        Raises:
            UnknownResourceError, AmbiguousResourceError: a target names no resource, or several (exit 2).
        """
        return self._destroy_plan(stack, self.snapshot(stack.env), targets)

    def _destroy_plan(self, stack: Stack, snapshot: Snapshot, targets: frozenset[str] | None) -> Plan:
        previous = _by_urn(snapshot)
        chosen, because = _destroy_set(stack.env, previous, targets)
        deployment = Deployment(
            previous=previous,
            handlers=registry(),
            endpoint_override=self.endpoint,
            preview=True,
            conventions=self.conventions,
        )
        deployment.delete(chosen, parallel=self.parallel)
        deployment.check_deletes()
        changes = [
            replace(change, detail=f"depends on {because[change.urn]}") if change.urn in because else change
            for change in deployment.plan()
        ]
        diagnostics = list(deployment.diagnostics)
        if targets is None:
            diagnostics += [_replaced_note(record) for _, record in replaced_resources(snapshot.pending)]
        dependents = [urn for urn in because if _infrastructure(previous[urn])]
        if dependents:
            diagnostics.append(
                Diagnostic(
                    "info",
                    f"{len(dependents)} more resources depend on the targets and are deleted with them: "
                    + ", ".join(logical_name(urn) for urn in dependents),
                )
            )
        return Plan(
            PlanMode.DESTROY,
            stack.env,
            snapshot.blueprint or stack.blueprint,
            stack.target,
            changes,
            {},
            diagnostics,
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
            UnknownResourceError, AmbiguousResourceError: a target names no resource, or several (exit 2).
        """
        store = self.store(stack.env)
        with store.lock("up"), _graceful_interrupt() as cancelled:
            loaded = store.load()
            targets = self._targets(stack, loaded, targets)
            if approve is not None and not approve_plan(
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
                interrupted=[op.urn for op in loaded.unsettled],
                preflight=_lost_state_check(stack.env, loaded, self.conventions, store, stack.blueprint),
                conventions=self.conventions,
            )
            deployment.cancelled = cancelled
            if refresh:
                deployment.read_live(list(previous.values()), parallel=self.parallel)
            if stack.blueprint != loaded.snapshot.blueprint and deployment.preflight is None:
                store.set_blueprint(stack.blueprint)
            orphans: list[Record] = []
            try:
                self._run(stack, deployment, preview=False)
                if deployment.refusal is not None:
                    raise deployment.refusal  # stopped before the first create: nothing happened, nothing to record
                deployment.note_untargeted()
                if not deployment.broken and not cancelled.is_set():
                    # After every create and update, so nothing points at them any more (Pulumi's order).
                    deployment.delete_replaced(loaded.replaced)
                orphans = deployment.orphans() if targets is None else []
                if orphans and not deployment.broken and not cancelled.is_set():
                    deployment.delete(orphans, parallel=self.parallel)
            finally:
                # Whatever happened, what was applied is journaled; fold it (and bookkeeping) into state.
                if deployment.refusal is None:
                    # Nothing was created, so the check (which records the blueprint) never ran.
                    never_checked = deployment.preflight is not None and not deployment.preflight_ran
                    if never_checked and stack.blueprint != loaded.snapshot.blueprint:
                        store.set_blueprint(stack.blueprint)
                    self._reconcile(
                        store,
                        previous,
                        deployment,
                        journal,
                        loaded.unsettled,
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
                    still_there = [o.urn for o in orphans if _infrastructure(o) and o.urn not in deleted]
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
            _metrics(counter),
            cancelled.is_set(),
            [op.to_dict() for op in loaded.interrupted],
        )
        result.diagnostics += [Diagnostic("warning", text) for text in loaded.warnings + store.notes]
        return result

    def destroy(
        self, stack: Stack, *, targets: frozenset[str] | None = None, approve: Approve | None = None
    ) -> Result | None:
        """Delete everything in the environment's state, dependents first; with ``targets``, only those
        resources and everything that depends on them (``terraform destroy -target``).

        Args:
            approve: as for :meth:`up`: the destroy plan is made under the lock and handed to it first.

        Returns:
            What was done, or ``None`` when ``approve`` declined.

        Raises:
            PlanError: something would make a delete fail (nothing was deleted).
            UnknownResourceError, AmbiguousResourceError: a target names no resource, or several (exit 2).
        """
        store = self.store(stack.env)
        with store.lock("destroy"), _graceful_interrupt() as cancelled:
            loaded = store.load()
            if approve is not None and not approve_plan(self._destroy_plan(stack, loaded.snapshot, targets), approve):
                return None
            previous = _by_urn(loaded.snapshot)
            chosen, _ = _destroy_set(stack.env, previous, targets)
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
                conventions=self.conventions,
            )
            deployment.cancelled = cancelled
            try:
                if targets is None:
                    deployment.delete_replaced(loaded.replaced)  # before what they may still use
                deployment.delete(chosen, parallel=self.parallel)
            finally:
                # The outputs describe the platform: they go with the last resource, not with a targeted few.
                if targets is None and not deployment.records and loaded.snapshot.outputs:
                    store.set_outputs({})
                _record_run(
                    store,
                    loaded.snapshot,
                    "destroy",
                    deployment,
                    cancelled,
                    [record.urn for record in deployment.records.values() if _infrastructure(record)],
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
            _metrics(counter),
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
                conventions=self.conventions,
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
            _metrics(counter),
        )

    def unlock(self, env: str) -> str | None:
        """Remove the environment's lock whoever holds it; who held it, or ``None`` when it was not locked."""
        holder = self.store(env).force_unlock()
        return None if holder is None else holder.describe()

    # ---- lost state and state surgery ----------------------------------------------------------------

    def import_resources(self, stack: Stack, *, confirm: Callable[[ImportPlan], bool]) -> ImportPlan:
        """Adopt into state the resources the program declares that exist in the cloud but not in state.

        Runs the program; every resource state does not hold is looked up (``handler.find``) and read.
        Under the environment's lock the whole time: ``confirm`` sees what would be adopted, what was not
        found (the next ``up`` creates it) and what is tagged for the environment but matches nothing (left
        alone); when it returns ``True`` the adopted resources — with the program's components and provider
        — are journaled into state. Never creates, updates or deletes anything in the cloud.

        Args:
            stack: the environment's program.
            confirm: asked once there is something to adopt; may raise to cancel.

        Returns:
            the import plan, ``imported`` telling whether it was recorded.
        """
        store = self.store(stack.env)
        with store.lock("import"):
            loaded = store.load()
            previous = _by_urn(loaded.snapshot)
            counter = CallCounter()
            deployment = Deployment(
                previous=previous,
                handlers=registry(),
                endpoint_override=self.endpoint,
                preview=True,
                counter=counter,
                importing=True,
                conventions=self.conventions,
            )
            self._run(stack, deployment, preview=True)
            changes = [change for change in deployment.plan() if change.custom]
            adopted = [change for change in changes if change.action is Action.IMPORT]
            records = [deployment.records[change.urn] for change in adopted]
            unmanaged = []
            context = next(iter(deployment.contexts.values()), None)
            if context is not None:
                tagged = discovery.tagged_resources(context, stack.env, self.conventions)
                unmanaged = discovery.unaccounted(tagged, [*previous.values(), *records])
                deployed = discovery.deployed_blueprint(tagged)
                if deployed and stack.blueprint and deployed != stack.blueprint:
                    deployment.diagnostics.append(
                        Diagnostic(
                            "warning",
                            f"the resources tagged for environment {stack.env!r} were deployed with blueprint "
                            f"{deployed}, but this import uses {stack.blueprint}: to adopt the platform as it was "
                            f"deployed, run `mlplatform import --env {stack.env} --blueprint {deployed}`",
                        )
                    )
            plan = ImportPlan(
                stack.env,
                stack.blueprint,
                stack.target,
                adopted=adopted,
                ids={record.urn: record.id or "" for record in records},
                missing=[change for change in changes if change.action is Action.CREATE],
                unmanaged=unmanaged,
                in_state=sum(1 for change in changes if change.urn in previous),
                diagnostics=list(deployment.diagnostics),
            )
            if adopted and confirm(plan):
                if stack.blueprint != loaded.snapshot.blueprint:
                    store.set_blueprint(stack.blueprint)
                for urn, record in deployment.records.items():
                    if urn not in previous:  # adopted resources, and the components and provider around them
                        store.succeed(store.begin("create", urn, record.type, {"import": record.custom}), record)
                store.compact()
                plan.imported = True
            plan.metrics = _metrics(counter)
        return plan

    def resource(self, env: str, name: str) -> StateResource:
        """One resource of the environment's state, by URN or logical name (``state show``).

        Raises:
            UnknownResourceError, AmbiguousResourceError: ``name`` names no resource, or several (exit 2).
        """
        snapshot = self.snapshot(env)
        [urn] = _resolve(env, [name], snapshot.resources)
        record = snapshot.resource(urn)
        assert record is not None
        return _entry(record)

    def forget(
        self, env: str, names: Iterable[str], *, with_dependents: bool = False, confirm: ConfirmForget
    ) -> list[StateResource]:
        """Remove resources from state without deleting them (``state rm``, ``pulumi state delete``).

        Refused when other resources in state depend on one of them (their parent, provider or a
        dependency), unless those are named too or ``with_dependents`` adds them: state must never hold a
        resource whose dependency it no longer knows. Journaled under the lock like every other change.

        Args:
            env: the environment.
            names: URNs or logical names.
            with_dependents: also remove everything that depends on them.
            confirm: asked with the resources that would be removed; may raise to cancel.

        Returns:
            the removed resources (none when ``confirm`` said no).

        Raises:
            UnknownResourceError, AmbiguousResourceError: a name matches no resource, or several (exit 2).
            DependentsInStateError: resources outside the selection depend on it (exit 2).
        """
        store = self.store(env)
        with store.lock("state rm"):
            snapshot = store.load().snapshot
            chosen = set(_resolve(env, names, snapshot.resources))
            dependents = dependents_of(snapshot.resources, chosen)
            if with_dependents:
                chosen |= dependents
            elif dependents:
                raise _dependents_error(env, snapshot.resources, chosen, dependents)
            removed = [_entry(record) for record in snapshot.resources if record.urn in chosen]
            if not confirm(removed):
                return []
            for entry in reversed(removed):  # dependents first, like a delete
                store.succeed(store.begin("delete", entry.urn, entry.type, {"forget": True}), None)
            store.compact()
        return removed

    def _run(self, stack: Stack, deployment: Deployment, *, preview: bool) -> None:
        """Evaluate the stack's program with ``deployment`` answering every registration."""
        monitor = EngineMonitor(deployment, self.conventions.project, stack.env)
        run_program(stack.program, monitor, preview=preview, parallel=self.parallel)

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


def _blueprint_change_note(plan: Plan, known: frozenset[str]) -> Diagnostic | None:
    """A warning naming what a blueprint change deletes (never a silent downgrade)."""
    if not plan.previous_blueprint or not plan.blueprint or plan.previous_blueprint == plan.blueprint:
        return None
    deleted = [c for c in plan.changes if c.custom and c.action is Action.DELETE]
    if not deleted:
        return Diagnostic("info", f"blueprint {plan.previous_blueprint} -> {plan.blueprint}: nothing is deleted")
    # Tagged resources name their spec component; untagged children (policies, rules) only their class.
    components = sorted({c.component for c in deleted if c.component in known})
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


def _infrastructure(record: ResourceState) -> bool:
    """A cloud resource (not a component or a provider, which are bookkeeping)."""
    return record.custom and not record.type.startswith(PROVIDER_PREFIX)


def _lost_state_check(
    env: str,
    loaded: LoadedState,
    conventions: Conventions,
    store: StateStore | None = None,
    blueprint: str | None = None,
) -> Callable[[AwsContext], MlplatformError | None] | None:
    """The preflight of an environment whose state holds nothing and no run was interrupted (an interrupted
    first run left pending operations: its resources are adopted by URN, not refused).

    During ``up`` (``store`` given) the blueprint is journaled once the check has passed, still before the
    first create: a refused run leaves the environment's state exactly as it was.
    """
    if loaded.snapshot.resources or loaded.unsettled or loaded.replaced:
        return None
    check = discovery.existing_check(env, conventions)
    if check is None or store is None or blueprint == loaded.snapshot.blueprint:
        return check

    def check_then_record(aws: AwsContext) -> MlplatformError | None:
        error: MlplatformError | None = None
        try:
            error = check(aws)
        finally:  # a check that could not run does not stop the run (see Deployment): record it then too
            if error is None:
                store.set_blueprint(blueprint)
        return error

    return check_then_record


def _resolve(env: str, names: Iterable[str], records: Iterable[ResourceState]) -> list[str]:
    return resolve_urns(
        names,
        [record.urn for record in records],
        where=f"the state of environment {env!r}",
        hint=f"`mlplatform state list --env {env}` lists the resources in state.",
    )


def _destroy_set(
    env: str, previous: dict[str, Record], targets: frozenset[str] | None
) -> tuple[list[Record], dict[str, str]]:
    """The records a destroy deletes, and for each one only there as a dependent, the target it depends on."""
    if targets is None:
        return list(previous.values()), {}
    chosen = _resolve(env, sorted(targets), previous.values())
    because: dict[str, str] = {}
    for target in chosen:
        for urn in dependents_of(previous.values(), [target]):
            if urn not in chosen:
                because.setdefault(urn, logical_name(target))
    selected = set(chosen) | set(because)
    return [record for urn, record in previous.items() if urn in selected], because


def _dependents_error(
    env: str, records: list[ResourceState], chosen: set[str], dependents: set[str]
) -> DependentsInStateError:
    lines = []
    for record in records:
        if record.urn in dependents:
            on = sorted(logical_name(urn) for urn in dependencies_of(record) if urn in chosen | dependents)
            lines.append(f"  {record.urn} (depends on {', '.join(on)})")
    names = " ".join(logical_name(urn) for urn in sorted(chosen))
    return DependentsInStateError(
        f"{len(dependents)} other resources in the state of environment {env!r} depend on what you asked to "
        "remove; removing it alone would leave them pointing at a resource state no longer knows:\n" + "\n".join(lines),
        hint=f"Name them too (`mlplatform state rm {names} ...`), or pass --target-dependents to remove them as well.",
    )


def _renamed_from(deployment: Deployment, urn: str) -> str | None:
    return next((old for old, new in deployment.renamed.items() if new == urn), None)


def _same_record(a: ResourceState, b: ResourceState) -> bool:
    return replace(a, created_at=None, updated_at=None) == replace(b, created_at=None, updated_at=None)


def _entry(record: ResourceState) -> StateResource:
    """A state record as the engine-neutral :class:`StateResource` the CLI shows."""
    return StateResource(record.urn, record.type, record.id, record.protect, record.to_dict())


def _metrics(counter: CallCounter) -> dict[str, int]:
    """The embedded engine's own counters in a result: cloud API calls, and how many of them mutated."""
    return {"api_calls": counter.total, "mutating_api_calls": counter.mutating}


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


def _replaced_note(record: Record) -> Diagnostic:
    return Diagnostic(
        "warning",
        f"{logical_name(record.urn)} was replaced by an earlier run that did not delete the old resource "
        f"({record.id}); up or destroy deletes it",
        record.urn,
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
