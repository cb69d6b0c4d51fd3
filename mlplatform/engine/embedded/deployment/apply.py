"""Apply: the cloud side of a deployment — steps through handlers, journaled, and deletes along the graph.

:class:`Applier` holds what a run has done so far (the new records, changes, step results, diagnostics)
and performs the mutating calls: create, update and replace one resource (:meth:`~Applier._apply`), and
delete resources in state the program no longer declares — orphans — or everything, for ``destroy``,
walking the dependency graph in reverse (:mod:`~mlplatform.engine.embedded.graph`); ``mlplatform refresh``
(:meth:`~Applier.refresh_state`) records what it reads. Deciding *what* to do with each registration is
:class:`~mlplatform.engine.embedded.deployment.diff.Deployment`'s job, which builds on this class.

Failures do not abort the run: the failed resource answers with no outputs, everything that depends
on it is skipped, independent resources carry on, and the result reports all three. Orphans are not
deleted after a failure, like Pulumi, so a broken run never removes infrastructure the program may
still want.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any

from mlplatform.engine.conventions import NO_CONVENTIONS, Conventions
from mlplatform.engine.embedded import graph
from mlplatform.engine.embedded.handlers.base import (
    AwsContext,
    CallCounter,
    EndpointUnreachableError,
    Handler,
    StepContext,
)
from mlplatform.engine.embedded.monitor import Registration, dependencies_of, provider_urn
from mlplatform.engine.embedded.state import ResourceState
from mlplatform.engine.model import Action, Change, Diagnostic, Events, StepResult, StepStatus, no_events
from mlplatform.engine.targets import logical_name
from mlplatform.engine.values import UNKNOWN, conceal, mask, reveal, secret_texts
from mlplatform.errors import MlplatformError

PROVIDER_PREFIX = "pulumi:providers:"


class MissingHandlerError(MlplatformError):
    """A resource type the embedded engine has no handler for."""

    headline = "unsupported resource type"


class ProtectedResourceError(MlplatformError):
    """A protected resource would be deleted or replaced."""

    headline = "protected resource"
    exit_code = 4


Record = ResourceState
"""The engine tracks resources in exactly the shape the state store persists."""


def record_id(record: ResourceState) -> str:
    """A recorded resource's id (component resources have none)."""
    return record.id or ""


def deletes_first(handler: Handler, olds: dict[str, Any], news: dict[str, Any], requested: bool | None = None) -> bool:
    """Whether a replacement deletes the old resource before it creates the new one.

    Only when the physical name stays the same (two resources of one name cannot coexist); a changed or
    generated name creates first, so the old resource serves until its replacement exists. The resource's
    ``delete_before_replace`` option, when the program set it, decides instead. The Pulumi engine's stand-in
    provider answers ``Diff`` with the same rule (``engine/pulumi/emulator_provider.py``).

    Args:
        olds: the recorded inputs, secrets revealed.
        news: the requested inputs, secrets revealed.
        requested: the resource's ``delete_before_replace`` option, ``None`` when unset.
    """
    if requested is not None:
        return requested
    name = handler.physical_name(news)
    return name is not None and name == handler.physical_name(olds)


def guard(call: Callable[[], Any]) -> Any:
    """Run one handler call, turning an unreachable endpoint into one clear, run-stopping error."""
    try:
        return call()
    except Exception as exc:
        name = type(exc).__name__
        if name in ("EndpointConnectionError", "ConnectTimeoutError", "ConnectionClosedError"):
            raise EndpointUnreachableError(
                f"{exc}.",
                hint="For target local, start the emulator with `mlplatform emulator start` (preview and up start "
                "it automatically); check the endpoint in the provider settings otherwise.",
            ) from exc
        raise


def dependents_of(records: Iterable[ResourceState], urns: Iterable[str]) -> set[str]:
    """Every record that depends on one of ``urns``, directly or through others (``urns`` excluded)."""
    direct: dict[str, set[str]] = {}
    for record in records:
        for dep in dependencies_of(record):
            direct.setdefault(dep, set()).add(record.urn)
    found: set[str] = set()
    pending = list(urns)
    while pending:
        for dependent in direct.get(pending.pop(), ()):
            if dependent not in found:
                found.add(dependent)
                pending.append(dependent)
    return found - set(urns)


class Journal:
    """What the deployment needs from the state store (a no-op during previews)."""

    def begin(self, op: str, record: ResourceState | None, urn: str, type_: str, detail: dict[str, Any]) -> str:
        return ""

    def succeed(self, op_id: str, record: ResourceState | None, urn: str) -> None:
        return None

    def fail(self, op_id: str, error: str) -> None:
        return None


class Applier:
    """The steps of a run and their results; the base of :class:`~.diff.Deployment`.

    Args:
        previous: the resources in state, by URN, in dependency order.
        handlers: resource type -> handler.
        preview: only plan; make no mutating call.
        journal: where steps are recorded (pending entry before each mutating call).
        events: progress callback.
        counter: counts the cloud calls made.
        endpoint_override: the emulator endpoint to use for recorded providers (instead of theirs).
        conventions: the application's conventions: which component each resource belongs to.
    """

    def __init__(
        self,
        *,
        previous: dict[str, Record],
        handlers: dict[str, Handler],
        preview: bool,
        journal: Journal | None = None,
        events: Events = no_events,
        counter: CallCounter | None = None,
        endpoint_override: str | None = None,
        conventions: Conventions = NO_CONVENTIONS,
    ) -> None:
        self.previous = previous
        self.conventions = conventions
        self.handlers = handlers
        self.preview = preview
        self.journal = journal or Journal()
        self.events = events
        self.counter = counter or CallCounter()
        self.endpoint_override = endpoint_override

        self.lock = threading.Lock()
        self.records: dict[str, Record] = {}  # the new state, in registration order
        self.changes: dict[str, Change] = {}
        self.steps: list[StepResult] = []
        self.diagnostics: list[Diagnostic] = []
        self.broken: set[str] = set()  # failed or skipped: dependents are skipped too
        self.renamed: dict[str, str] = {}  # old URN -> new URN (aliases)
        self.contexts: dict[str, AwsContext] = {}
        self.cancelled = threading.Event()
        self.live: dict[str, tuple[dict[str, Any] | None, Exception | None]] = {}  # urn -> read_live's answer
        self.replaced: list[tuple[str, Record]] = []  # (discard op id, old record): deleted by delete_replaced

    # ---- shared by registrations and steps -------------------------------------------------------

    def _context(self, provider: str | None, what: str) -> AwsContext:
        if not provider:
            raise MlplatformError(
                f"{what} has no explicit provider; the embedded engine only deploys through an explicit "
                "aws.Provider (pass opts=ResourceOptions(provider=...))."
            )
        ctx = self.contexts.get(provider_urn(provider))
        if ctx is None:
            raise MlplatformError(f"{what} uses provider {provider}, which the program did not register")
        return ctx

    def _record_for(
        self, reg: Registration, resource_id: str, outputs: dict[str, Any], inputs: dict[str, Any]
    ) -> Record:
        texts = secret_texts(inputs) | secret_texts(reg.inputs)
        return Record(
            urn=reg.urn,
            type=reg.type,
            id=resource_id,
            inputs=conceal(inputs, texts),
            outputs=conceal(outputs, texts),
            parent=reg.parent,
            dependencies=sorted(reg.dependencies),
            property_dependencies={key: sorted(urns) for key, urns in reg.property_dependencies.items()},
            provider=reg.provider,
            protect=reg.protect,
            retain_on_delete=reg.retain_on_delete,
            custom=reg.custom,
            delete_before_replace=bool(reg.delete_before_replace),
            deleted_with=reg.deleted_with,
        )

    def _placeholders(self, handler: Handler, news: dict[str, Any]) -> dict[str, Any]:
        """Outputs of a resource that does not exist (it failed or was skipped).

        In a preview they are unknown. During an apply the SDK turns unknowns and missing outputs into
        ``None`` and then drops ``None`` inputs *together with their dependency edges*, so a dependent
        would no longer look like one and would be sent to AWS with a missing ARN. Empty strings keep
        the edges, so :meth:`_resource` sees the broken dependency and skips the dependent too.
        """
        filler: Any = UNKNOWN if self.preview else ""
        return {**dict.fromkeys(handler.computed, filler), "id": filler, **news}

    # ---- steps -----------------------------------------------------------------------------------

    def _apply(
        self,
        handler: Handler,
        ctx: StepContext,
        reg: Registration,
        change: Change,
        old: Record | None,
        news: dict[str, Any],
        olds: dict[str, Any],
    ) -> tuple[str, dict[str, Any]]:
        """Apply one change. ``olds`` are the recorded inputs with any live values a refresh read over them,
        so an update repairs drift: the handler sees what is really there, not what was last applied."""
        with self.lock:
            self.changes[reg.urn] = change
        if change.action is Action.SAME and old is not None:
            with self.lock:
                self.records[reg.urn] = self._record_for(reg, record_id(old), old.outputs, news)
                self.steps.append(StepResult(change, StepStatus.OK, 0.0))
            return record_id(old), old.outputs
        started = time.monotonic()
        self.events("start", change, None, 0.0, None)
        op_id = ""
        try:
            if change.action is Action.REPLACE and old is not None and old.protect:
                raise ProtectedResourceError(
                    f"{reg.name} is protected and a change to {', '.join(change.replace_reasons)} needs a replacement;"
                    " set protect: false for this environment first, or undo the change."
                )
            revealed = reveal(news)
            physical = handler.physical_name(revealed)
            op_id = self.journal.begin(
                change.action.value, old, reg.urn, reg.type, {"physical_name": physical, "name": reg.name}
            )
            if change.action is Action.CREATE:
                resource_id, outputs = self._guard(lambda: handler.create(ctx, revealed))
            elif change.action is Action.UPDATE and old is not None:
                resource_id = record_id(old)
                outputs = self._guard(lambda: handler.update(ctx, record_id(old), reveal(olds), revealed, old.outputs))
            else:
                assert old is not None
                resource_id, outputs = self._replace(handler, ctx, reg, old, revealed)
            merged = {**outputs, **news}
            record = self._record_for(reg, resource_id, merged, news)
            self.journal.succeed(op_id, record, reg.urn)
        except Exception as exc:
            seconds = time.monotonic() - started
            if isinstance(exc, EndpointUnreachableError):
                raise
            message = exc.message if isinstance(exc, MlplatformError) else f"{type(exc).__name__}: {exc}"
            if op_id:
                self.journal.fail(op_id, message)
            with self.lock:
                self.broken.add(reg.urn)
                if old is not None:  # a failed update leaves the old resource in place
                    self.records[reg.urn] = old
                self.steps.append(StepResult(change, StepStatus.FAILED, seconds, message))
            self.events("end", change, StepStatus.FAILED, seconds, message)
            return (record_id(old), old.outputs) if old is not None else ("", self._placeholders(handler, news))
        seconds = time.monotonic() - started
        with self.lock:
            self.records[reg.urn] = record
            self.steps.append(StepResult(change, StepStatus.OK, seconds))
        self.events("end", change, StepStatus.OK, seconds, None)
        return resource_id, merged

    def _replace(
        self, handler: Handler, ctx: StepContext, reg: Registration, old: Record, revealed: dict[str, Any]
    ) -> tuple[str, dict[str, Any]]:
        """Delete-before-replace when the physical name is fixed (two cannot coexist), else create first."""
        if deletes_first(handler, reveal(old.inputs), revealed, reg.delete_before_replace):
            self._guard(lambda: handler.delete(ctx, record_id(old), reveal(old.inputs), old.outputs))
            created: tuple[str, dict[str, Any]] = self._guard(lambda: handler.create(ctx, revealed))
            return created
        created = self._guard(lambda: handler.create(ctx, revealed))
        # Pulumi's create-before-delete: the old resource goes last, once everything that pointed at it has been
        # updated to the replacement (``delete_replaced``), so no dependent ever points at a deleted resource.
        # The pending "discard" entry keeps the old resource on record until then: a run killed in between
        # deletes it next time instead of leaking it.
        op_id = self.journal.begin(
            "discard",
            old,
            old.urn,
            old.type,
            {
                "id": record_id(old),
                "resource": old.to_dict(),
                "physical_name": handler.physical_name(reveal(old.inputs)),
            },
        )
        with self.lock:
            self.replaced.append((op_id, old))
        return created

    def delete_replaced(self, earlier: Iterable[tuple[str, Record]] = ()) -> None:
        """Delete the old halves of this run's create-before-delete replacements, newest first, then those an
        earlier, interrupted run left (``earlier``: their pending ``discard`` operations and records).

        Replacements happen in registration order, which follows the dependency graph, so newest first deletes
        an old resource before the old resources it used. A delete that fails leaves its ``discard`` pending: the
        old resource stays on record and the next ``up`` or ``destroy`` tries again (Pulumi keeps such a resource
        as ``delete: true``).
        """
        with self.lock:
            pending = [*reversed(self.replaced), *earlier]
            self.replaced = []
        if not pending:
            return
        self._provider_contexts([*(record for _, record in pending), *self.previous.values()])
        for op_id, old in pending:
            if self.cancelled.is_set():
                return
            handler = self.handlers.get(old.type)
            name = logical_name(old.urn)
            change = Change(
                old.urn, old.type, name, self.conventions.component_of(old.urn, old.inputs), Action.DELETE,
                shown(old.inputs), None, detail=f"replaced: deleting the old resource {record_id(old)}",
            )  # fmt: skip
            self.events("start", change, None, 0.0, None)
            started = time.monotonic()
            try:
                if handler is None:
                    raise MissingHandlerError(f"no handler for {old.type}: cannot delete the replaced {old.urn}")
                ctx = StepContext(self._context(old.provider, old.urn), old.urn, name, self.conventions.urn_tag)
                self._guard(lambda h=handler, c=ctx, o=old: h.delete(c, record_id(o), reveal(o.inputs), o.outputs))  # type: ignore[misc]
            except EndpointUnreachableError:
                raise
            except Exception as exc:  # noqa: BLE001 - reported; the discard stays pending for the next run
                message = exc.message if isinstance(exc, MlplatformError) else f"{type(exc).__name__}: {exc}"
                seconds = time.monotonic() - started
                with self.lock:
                    self.steps.append(StepResult(change, StepStatus.FAILED, seconds, message))
                    self.broken.add(old.urn)
                self.events("end", change, StepStatus.FAILED, seconds, message)
                continue
            self.journal.succeed(op_id, None, old.urn)
            # No step of its own: it is the second half of the replacement, which the summary already counts.
            self.events("end", change, StepStatus.OK, time.monotonic() - started, None)

    def _guard(self, call: Callable[[], Any]) -> Any:
        return guard(call)

    def _note(self, severity: str, message: str, urn: str | None = None) -> None:
        with self.lock:
            self.diagnostics.append(Diagnostic(severity, message, urn))

    def _provider_contexts(self, records: Iterable[Record]) -> None:
        """AWS clients for the recorded providers (before or without the program registering them)."""
        for record in records:
            if record.type.startswith(PROVIDER_PREFIX) and record.urn not in self.contexts:
                self.contexts[record.urn] = AwsContext(reveal(record.inputs), self.counter, self.endpoint_override)

    # ---- after the program -----------------------------------------------------------------------

    def previous_of(self, urn: str) -> Record | None:
        """The recorded resource behind ``urn``, also when the program renamed it (an alias)."""
        old = self.previous.get(urn)
        if old is None:
            with self.lock:
                renamed = next((before for before, after in self.renamed.items() if after == urn), None)
            old = self.previous.get(renamed) if renamed else None
        return old

    def check_deletes(self) -> None:
        """Preview: find what would make a planned delete fail, by reading only, and report it as an error.

        Covers orphans, ``destroy`` and the delete half of a replacement. The engine refuses to apply a plan
        with errors, so a bucket that still holds data stops the run before anything changed — not after its
        neighbours (and its own encryption and public-access block) were deleted.
        """
        with self.lock:
            planned = [c for c in self.changes.values() if c.custom and c.action in (Action.DELETE, Action.REPLACE)]
        olds = [(change, old) for change in planned if (old := self.previous_of(change.urn)) is not None]
        self._provider_contexts(self.previous.values())
        going = {old.urn: (old.type, reveal(old.inputs)) for change, old in olds if change.action is Action.DELETE}
        for change, old in olds:
            handler = self.handlers.get(old.type)
            if handler is None or not old.provider:
                continue
            ctx = StepContext(self._context(old.provider, old.urn), old.urn, change.name, self.conventions.urn_tag)
            others = [item for urn, item in going.items() if urn != old.urn]
            try:
                reason = self._check_delete(handler, ctx, old, others)
            except EndpointUnreachableError:
                raise
            except Exception as exc:  # noqa: BLE001 - the check is a courtesy; the delete itself will tell
                self._note("warning", f"{change.name}: could not check whether it can be deleted: {exc}", change.urn)
                continue
            if reason:
                self._note("error", f"{change.name}: {reason}", change.urn)

    def _check_delete(
        self, handler: Handler, ctx: StepContext, old: Record, others: list[tuple[str, dict[str, Any]]]
    ) -> str | None:
        reason: str | None = self._guard(lambda: handler.check_delete(ctx, record_id(old), reveal(old.inputs), others))
        return reason

    def orphans(self) -> list[Record]:
        """Resources in state the program did not register (and did not rename), in state order."""
        registered = set(self.records) | set(self.changes)
        return [record for urn, record in self.previous.items() if urn not in registered and urn not in self.renamed]

    def plan_deletes(self, records: list[Record]) -> list[Change]:
        """DELETE changes for ``records``, dependents first."""
        # State is in dependency order, so this is usually that order reversed; sorting guards against state
        # written out of order.
        by_urn = {record.urn: record for record in records}
        forward = graph.order(list(by_urn), lambda urn: dependencies_of(by_urn[urn]))
        order = [by_urn[urn] for urn in reversed(forward)]
        return [
            Change(
                r.urn,
                r.type,
                logical_name(r.urn),
                self.conventions.component_of(r.urn, r.inputs),
                Action.DELETE,
                shown(r.inputs),
                None,
                custom=r.custom and not r.type.startswith(PROVIDER_PREFIX),
            )
            for r in order
        ]

    def delete(self, records: list[Record], *, parallel: int) -> None:
        """Delete ``records`` (orphans, or everything for destroy) in reverse dependency order."""
        by_urn = {record.urn: record for record in records}
        # The providers of a targeted destroy stay in state, but their resources still need their clients.
        self._provider_contexts([*records, *self.previous.values()])
        changes = {change.urn: change for change in self.plan_deletes(records)}
        with self.lock:
            self.changes.update(changes)
        if self.preview:
            return
        protected = [r for r in records if r.protect and r.custom]
        for record in protected:
            message = (
                f"{logical_name(record.urn)} is protected; to delete it set protect: false for this "
                "environment and run up first"
            )
            with self.lock:
                self.steps.append(StepResult(changes[record.urn], StepStatus.FAILED, 0.0, message))
                self.broken.add(record.urn)
        # Reverse graph: a record may be deleted once every record that depends on it is gone.
        dependents: dict[str, set[str]] = {urn: set() for urn in by_urn}
        for record in records:
            for dep in dependencies_of(record):
                if dep in dependents:
                    dependents[dep].add(record.urn)

        # Pulumi's ``deletedWith``: a resource that goes with another one (a bucket's encryption, public-access
        # block and policy go with the bucket) is not deleted by its own call when that one is deleted too. It
        # leaves state only once the other one is really gone, so a bucket whose delete fails (it still holds
        # data) keeps its protection instead of standing unencrypted and public-access-unblocked.
        goes_with = {
            record.urn: record.deleted_with
            for record in records
            if record.deleted_with in by_urn and record.custom and not record.retain_on_delete
        }

        def settle_deleted_with(owner: str) -> None:
            for urn in [urn for urn, target in goes_with.items() if target == owner]:
                record = by_urn[urn]
                self.journal.succeed(self.journal.begin("delete", record, urn, record.type, {}), None, urn)
                with self.lock:
                    self.records.pop(urn, None)
                    self.steps.append(
                        StepResult(changes[urn], StepStatus.OK, 0.0, f"deleted with {logical_name(owner)}")
                    )
                self.events("end", changes[urn], StepStatus.OK, 0.0, None)

        def run(urn: str) -> None:
            record = by_urn[urn]
            change = changes[urn]
            if urn in self.broken:
                raise ProtectedResourceError("protected")
            if urn in goes_with:
                return  # settled when the resource it goes with is deleted (settle_deleted_with)
            if not record.custom or record.type.startswith(PROVIDER_PREFIX) or record.retain_on_delete:
                with self.lock:
                    self.records.pop(urn, None)
                    self.steps.append(
                        StepResult(
                            change,
                            StepStatus.OK,
                            0.0,
                            "retained: dropped from state only" if record.retain_on_delete else None,
                        )
                    )
                self.journal.succeed(self.journal.begin("delete", record, urn, record.type, {}), None, urn)
                return
            handler = self.handlers.get(record.type)
            if handler is None:
                raise MissingHandlerError(f"no handler for {record.type}: cannot delete {urn}")
            ctx = StepContext(self._context(record.provider, urn), urn, logical_name(urn), self.conventions.urn_tag)
            self.events("start", change, None, 0.0, None)
            started = time.monotonic()
            op_id = self.journal.begin(
                "delete", record, urn, record.type, {"physical_name": handler.physical_name(reveal(record.inputs))}
            )
            try:
                self._guard(lambda: handler.delete(ctx, record_id(record), reveal(record.inputs), record.outputs))
            except Exception as exc:
                message = exc.message if isinstance(exc, MlplatformError) else f"{type(exc).__name__}: {exc}"
                self.journal.fail(op_id, message)
                seconds = time.monotonic() - started
                with self.lock:
                    self.steps.append(StepResult(change, StepStatus.FAILED, seconds, message))
                self.events("end", change, StepStatus.FAILED, seconds, message)
                raise
            self.journal.succeed(op_id, None, urn)
            seconds = time.monotonic() - started
            with self.lock:
                self.records.pop(urn, None)
                self.steps.append(StepResult(change, StepStatus.OK, seconds))
            self.events("end", change, StepStatus.OK, seconds, None)
            settle_deleted_with(urn)

        outcome = graph.walk(dependents, run, parallel=parallel, should_stop=self.cancelled.is_set)
        for urn, target in goes_with.items():
            if outcome[urn][0] is graph.Outcome.OK and outcome[target][0] is not graph.Outcome.OK:
                # Its own step ran (as a no-op) but what it goes with was not deleted: it is kept, intact.
                outcome[urn] = (graph.Outcome.SKIPPED, None)
                with self.lock:
                    self.records[urn] = by_urn[urn]
                    self.steps.append(
                        StepResult(
                            changes[urn], StepStatus.SKIPPED, 0.0, f"kept: {logical_name(target)} was not deleted"
                        )
                    )
        reported = {step.change.urn for step in self.steps}
        for urn, (result, error) in outcome.items():
            if result is graph.Outcome.SKIPPED and urn in goes_with and urn in self.records:
                continue  # reported just above
            if result is graph.Outcome.FAILED and urn not in reported:
                # Failed before its delete call (no handler, no provider): still a failure the user must see.
                message = error.message if isinstance(error, MlplatformError) else f"{type(error).__name__}: {error}"
                with self.lock:
                    self.steps.append(StepResult(changes[urn], StepStatus.FAILED, 0.0, message))
            if result is graph.Outcome.SKIPPED:
                with self.lock:
                    self.steps.append(
                        StepResult(
                            changes[urn],
                            StepStatus.SKIPPED,
                            0.0,
                            "cancelled" if self.cancelled.is_set() else "a dependent was not deleted",
                        )
                    )
            if result is not graph.Outcome.OK:
                with self.lock:  # still in state: it was not deleted
                    self.records.setdefault(urn, by_urn[urn])

    def refresh_state(self, records: list[Record], store: Any) -> list[StepResult]:
        """Read every custom resource's live state and journal it (``mlplatform refresh``).

        A resource that no longer exists leaves state; one changed outside mlplatform keeps its recorded
        inputs overlaid with the live values, so the next preview shows the update that restores it.
        """
        for record in records:
            if record.type.startswith(PROVIDER_PREFIX):
                self.contexts[record.urn] = AwsContext(reveal(record.inputs), self.counter, self.endpoint_override)
        steps: list[StepResult] = []
        for record in records:
            if not record.custom or record.type.startswith(PROVIDER_PREFIX):
                continue
            handler = self.handlers.get(record.type)
            if handler is None:
                raise MissingHandlerError(f"no handler for {record.type}: cannot refresh {record.urn}")
            ctx = StepContext(
                self._context(record.provider, record.urn),
                record.urn,
                logical_name(record.urn),
                self.conventions.urn_tag,
            )
            started = time.monotonic()
            live: dict[str, Any] | None = self._guard(
                lambda h=handler, c=ctx, r=record: h.read(c, record_id(r), reveal(r.inputs))  # type: ignore[misc]
            )
            name = logical_name(record.urn)
            detail: str | None
            if live is None:
                detail = "deleted outside mlplatform: removed from state"
                store.succeed(store.begin("read", record.urn, record.type, {}), None)
            else:
                drifted = [key for key, value in live.items() if reveal(record.inputs.get(key)) != value]
                detail = f"changed outside mlplatform: {', '.join(drifted)}" if drifted else None
                if drifted:
                    # Live values come back in plaintext: wrap what matches a recorded secret again.
                    updated = replace(record, inputs=conceal({**record.inputs, **live}, secret_texts(record.inputs)))
                    store.succeed(store.begin("read", record.urn, record.type, {}), updated)
            change = Change(
                record.urn,
                record.type,
                name,
                self.conventions.component_of(record.urn, record.inputs),
                Action.READ,
                shown(record.inputs),
                shown(live) if live is not None else None,
                detail=detail,
            )
            step = StepResult(change, StepStatus.OK, time.monotonic() - started, None)
            steps.append(step)
            self.events("end", change, StepStatus.OK, step.seconds, None)
        return steps

    def plan(self) -> list[Change]:
        """Every change, in registration order (deletes last)."""
        with self.lock:
            return list(self.changes.values())


def shown(inputs: dict[str, Any] | None) -> dict[str, Any] | None:
    """Inputs as a plan shows them (secrets masked)."""
    return None if inputs is None else mask(inputs)
