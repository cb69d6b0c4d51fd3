"""Diff and apply: what the embedded engine does with each registration.

``Deployment`` is the monitor's :class:`~mlplatform.engine.embedded.monitor.Registrar`. For every
resource the program registers it finds the resource's previous state (by URN, or by an alias when it
was renamed), diffs the inputs, and decides an :class:`~mlplatform.engine.model.Action`. In a preview
it only records the change and answers with predicted outputs (unknown where only the cloud knows).
During ``up`` it applies the step right away — *apply on register*: the SDK cannot register a
resource before the resources whose outputs it uses have returned, so the program's own data flow
orders the steps, and the SDK's thread pool bounds their parallelism.

After the program finishes, resources in state that were not registered (orphans) are deleted in
reverse dependency order. ``destroy`` is the same walk over everything in state.

Failures do not abort the run: the failed resource answers with no outputs, everything that depends
on it is skipped (it registers, but is not applied), independent resources carry on, and the result
reports all three. Orphans are not deleted after a failure, like Pulumi, so a broken run never
removes infrastructure the program may still want.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any

from mlplatform.engine.conventions import NO_CONVENTIONS, Conventions
from mlplatform.engine.diff import property_diff
from mlplatform.engine.embedded import graph
from mlplatform.engine.embedded.handlers.base import (
    AwsContext,
    CallCounter,
    EndpointUnreachableError,
    Handler,
    StepContext,
)
from mlplatform.engine.embedded.monitor import Registration, provider_urn
from mlplatform.engine.embedded.state import ResourceState
from mlplatform.engine.model import Action, Change, Diagnostic, Events, StepResult, StepStatus, no_events
from mlplatform.engine.values import (
    UNKNOWN,
    conceal,
    contains_unknown,
    is_secret,
    mask,
    plain,
    reveal,
    secret,
    secret_texts,
)
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


def _id(record: ResourceState) -> str:
    """A recorded resource's id (component resources have none)."""
    return record.id or ""


def dependencies_of(record: ResourceState) -> set[str]:
    """Everything a recorded resource depends on: explicit and property dependencies, parent, provider."""
    deps = set(record.dependencies)
    for urns in record.property_dependencies.values():
        deps.update(urns)
    if record.parent:
        deps.add(record.parent)
    if record.provider:
        deps.add(provider_urn(record.provider))
    return deps


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


def diff_keys(olds: dict[str, Any], news: dict[str, Any]) -> list[str]:
    """Top-level input keys whose values differ (secrets compared by value; unknown always differs)."""
    keys = []
    for key in sorted(set(olds) | set(news)):
        new = news.get(key)
        if contains_unknown(new) or reveal(olds.get(key)) != reveal(new):
            keys.append(key)
    return keys


_PLAN_ONLY = Handler()
"""Stands in for a missing handler in an offline plan: no CRUD, outputs beyond the inputs unknown."""


class Deployment:
    """Registrar that diffs registrations against state and, unless previewing, applies them.

    Args:
        previous: the resources in state, by URN, in dependency order.
        handlers: resource type -> handler.
        preview: only plan; make no mutating call.
        refresh: read every resource's live state first, so drift shows up as a change.
        targets: if given, only these URNs change; others keep their state.
        journal: where steps are recorded (pending entry before each mutating call).
        interrupted: URNs with an operation a previous run began but never finished.
        events: progress callback.
        offline: plan without handlers for types the engine cannot deploy (``mlplatform export``): such
            resources answer with their inputs and every other output unknown. Preview only.
        importing: ``mlplatform import``: every resource not in state is looked up in the cloud and, when
            found, recorded as it is (action ``import``); nothing is created, updated or deleted.
        preflight: runs once, before the first create, with that resource's provider; the error it returns
            stops an apply (nothing is created) and is an error diagnostic in a preview. The lost-state
            check of an environment whose state is empty.
        conventions: the application's conventions: which component each resource belongs to.
    """

    def __init__(
        self,
        *,
        previous: dict[str, Record],
        handlers: dict[str, Handler],
        preview: bool,
        refresh: bool = False,
        targets: frozenset[str] | None = None,
        journal: Journal | None = None,
        interrupted: Iterable[str] = (),
        events: Events = no_events,
        counter: CallCounter | None = None,
        endpoint_override: str | None = None,
        offline: bool = False,
        importing: bool = False,
        preflight: Callable[[AwsContext], MlplatformError | None] | None = None,
        conventions: Conventions = NO_CONVENTIONS,
    ) -> None:
        self.previous = previous
        self.offline = offline and preview
        self.handlers = handlers
        self.preview = preview
        self.refresh = refresh
        self.targets = targets
        self.journal = journal or Journal()
        self.interrupted = set(interrupted)
        self.events = events
        self.counter = counter or CallCounter()
        self.endpoint_override = endpoint_override
        self.importing = importing and preview
        self.preflight = preflight
        self.conventions = conventions
        self._preflight_lock = threading.Lock()
        self._preflight_ran = False
        self._preflight_error: MlplatformError | None = None

        self.lock = threading.Lock()
        self.records: dict[str, Record] = {}  # the new state, in registration order
        self.changes: dict[str, Change] = {}
        self.steps: list[StepResult] = []
        self.diagnostics: list[Diagnostic] = []
        self.broken: set[str] = set()  # failed or skipped: dependents are skipped too
        self.renamed: dict[str, str] = {}  # old URN -> new URN (aliases)
        self.component_outputs: dict[str, dict[str, Any]] = {}
        self.stack_outputs: dict[str, Any] = {}
        self.stack_urn: str | None = None
        self.contexts: dict[str, AwsContext] = {}
        self.cancelled = threading.Event()
        self.live: dict[str, tuple[dict[str, Any] | None, Exception | None]] = {}  # urn -> read_live's answer
        self.not_targeted: dict[str, str] = {}  # urn -> name: new resources left out by --target

    # ---- Registrar -------------------------------------------------------------------------------

    def register(self, reg: Registration) -> tuple[str, dict[str, Any]]:
        old = self._previous_for(reg)
        if not reg.custom:
            return self._component(reg, old)
        if reg.type.startswith(PROVIDER_PREFIX):
            return self._provider(reg, old)
        return self._resource(reg, old)

    def register_outputs(self, urn: str, outputs: dict[str, Any]) -> None:
        with self.lock:
            if urn.split("::")[2] == "pulumi:pulumi:Stack":
                self.stack_urn = urn
                self.stack_outputs = outputs
            else:
                self.component_outputs[urn] = outputs

    def invoke(self, token: str, args: dict[str, Any], provider: str | None) -> dict[str, Any]:
        ctx = self._context(provider, token)
        if token == "aws:index/getCallerIdentity:getCallerIdentity":
            account = ctx.account_id
            return {
                "accountId": account,
                "arn": f"arn:{ctx.partition}:iam::{account}:root",
                "userId": account,
                "id": account,
            }
        if token == "aws:index/getRegion:getRegion":
            return {"name": ctx.region, "region": ctx.region, "id": ctx.region, "endpoint": ""}
        if token == "aws:index/getPartition:getPartition":
            return {"partition": ctx.partition, "dnsSuffix": "amazonaws.com", "id": ctx.partition}
        raise MlplatformError(
            f"the program calls the data source {token}, which the embedded engine does not answer; pass the value "
            "in through the spec instead."
        )

    # ---- registrations ---------------------------------------------------------------------------

    def _previous_for(self, reg: Registration) -> Record | None:
        old = self.previous.get(reg.urn)
        if old is not None:
            return old
        for alias in reg.aliases:
            old = self.previous.get(alias)
            if old is not None:
                with self.lock:
                    self.renamed[alias] = reg.urn
                return replace(old, urn=reg.urn)
        return None

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

    def _component(self, reg: Registration, old: Record | None) -> tuple[str, dict[str, Any]]:
        action = Action.SAME if old is not None else Action.CREATE
        change = Change(reg.urn, reg.type, reg.name, self.conventions.component_of(reg.urn, None), action, custom=False)
        with self.lock:
            self.changes[reg.urn] = change
            self.records[reg.urn] = self._record_for(reg, "", {}, {})
        return "", {}

    def _provider(self, reg: Registration, old: Record | None) -> tuple[str, dict[str, Any]]:
        # Providers hold configuration only: no cloud call, never replaced (a changed endpoint is an update).
        changed = diff_keys(old.inputs, reg.inputs) if old else []
        action = Action.CREATE if old is None else (Action.UPDATE if changed else Action.SAME)
        resource_id = _id(old) if old else str(uuid.uuid4())
        change = Change(
            reg.urn,
            reg.type,
            reg.name,
            None,
            action,
            _shown(old.inputs if old else None),
            _shown(reg.inputs),
            tuple(changed),
            custom=False,
        )
        with self.lock:
            self.changes[reg.urn] = change
            self.records[reg.urn] = self._record_for(reg, resource_id, dict(reg.inputs), dict(reg.inputs))
            self.contexts[reg.urn] = AwsContext(reveal(reg.inputs), self.counter)
        return resource_id, dict(reg.inputs)

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

    def _resource(self, reg: Registration, old: Record | None) -> tuple[str, dict[str, Any]]:
        handler = self.handlers.get(reg.type) or (_PLAN_ONLY if self.offline else None)
        if handler is None:
            raise MissingHandlerError(
                f"the embedded engine has no handler for {reg.type} (resource {reg.name!r}); it cannot deploy "
                "this type to the local emulator."
            )
        ctx = StepContext(self._context(reg.provider, f"resource {reg.name!r}"), reg.urn, reg.name)
        news = dict(reg.inputs)
        if old is not None:
            for path in reg.ignore_changes:
                news = _keep_old_at(news, old.inputs, path)
        olds = dict(old.inputs) if old else {}
        detail = None
        if self.importing and old is None:
            return self._import(handler, ctx, reg, news)

        live_check = old is not None and (self.refresh or reg.urn in self.interrupted)
        if old is None and reg.urn in self.interrupted and not self.preview:
            try:
                adopted = self._adopt(handler, ctx, reg, news)
            except EndpointUnreachableError:
                raise
            except Exception as exc:  # noqa: BLE001 - this resource fails; the rest of the run goes on
                return self._read_failed(handler, reg, old, news, "looking for what an interrupted run created", exc)
            if adopted is not None:
                old = adopted
                olds = dict(old.inputs)
                detail = "adopted: created by an interrupted run"
        elif live_check and old is not None:
            known = old
            try:
                live = self._live(handler, ctx, known, olds)
            except EndpointUnreachableError:
                raise
            except Exception as exc:  # noqa: BLE001 - this resource fails; the rest of the run goes on
                return self._read_failed(handler, reg, old, news, "reading its live state", exc)
            if live is None:
                detail = "drift: deleted outside mlplatform"
                old, olds = None, {}
            else:
                drifted = [key for key, value in live.items() if reveal(olds.get(key)) != value]
                if drifted:
                    detail = f"drift: {', '.join(drifted)} changed outside mlplatform"
                    # Live values come back in plaintext: wrap what matches a recorded secret again, or the
                    # plan (printed by preview --json) would show it.
                    olds = {**olds, **conceal(live, secret_texts(olds))}

        changed = diff_keys(olds, news) if old is not None else []
        forcing = handler.replace_on_change | set(reg.replace_on_changes)
        reasons = [key for key in changed if key in forcing or "*" in forcing]
        if old is None:
            action = Action.CREATE
        elif not changed:
            action = Action.SAME
        elif reasons:
            action = Action.REPLACE
        else:
            action = Action.UPDATE

        if self.targets is not None and reg.urn not in self.targets:
            if old is None:
                # Not part of the plan at all (Terraform leaves untargeted resources out): it is not created,
                # and what needs it is skipped; one diagnostic names them all (see note_untargeted).
                with self.lock:
                    self.not_targeted[reg.urn] = reg.name
                    self.broken.add(reg.urn)
                return "", self._placeholders(handler, news)
            action, changed, reasons = Action.SAME, [], []
            untargeted = True
        else:
            untargeted = False

        change = Change(
            reg.urn,
            reg.type,
            reg.name,
            self.conventions.component_of(reg.urn, news),
            action,
            _shown(olds) if old else None,
            _shown(news),
            tuple(changed),
            tuple(reasons),
            detail=detail,
            # Computed here, where secrets and unknowns are still markers: masked, two secrets look alike.
            property_diff=tuple(property_diff(olds, news, changed)) if changed else (),
        )
        if action is Action.CREATE and self.preflight is not None and self._refusal(ctx.aws) is not None:
            # Nothing is created (quietly: no step, no progress line); the engine raises the refusal once the
            # program has finished, so the run ends cleanly instead of mid-registration.
            with self.lock:
                self.changes[reg.urn] = change
                self.broken.add(reg.urn)
            return "", self._placeholders(handler, news)
        blocked = reg.all_dependencies & self.broken
        if blocked or self.cancelled.is_set():
            missing = sorted(self.not_targeted[urn] for urn in blocked if urn in self.not_targeted)
            reason = f"needs {', '.join(missing)}, which is not targeted and does not exist" if missing else None
            return self._skip(handler, reg, old, change, reason)
        if self.preview:
            with self.lock:
                self.changes[reg.urn] = change
            return self._predict(handler, change, old, news)
        if untargeted and old is not None:
            # Nothing was applied, so state must keep what the cloud really has: the recorded inputs and
            # outputs, not the program's new inputs (else the next run would see no diff for a change that
            # never happened). Pulumi likewise records an untargeted resource as a same step of its old state.
            with self.lock:
                self.changes[reg.urn] = change
                self.records[reg.urn] = old
                self.steps.append(StepResult(change, StepStatus.OK, 0.0))
            return _id(old), old.outputs
        return self._apply(handler, ctx, reg, change, old, news, olds)

    def _predict(
        self, handler: Handler, change: Change, old: Record | None, news: dict[str, Any]
    ) -> tuple[str, dict[str, Any]]:
        if change.action is Action.SAME and old is not None:
            return _id(old), old.outputs
        if change.action is Action.UPDATE and old is not None:
            return _id(old), {**old.outputs, **news}
        # Computed outputs are unknown until the cloud answers, unless the program set them itself
        # (a fixed bucket name is known in the preview).
        return "", {**dict.fromkeys(handler.computed, UNKNOWN), **news}

    def _skip(
        self, handler: Handler, reg: Registration, old: Record | None, change: Change, reason: str | None = None
    ) -> tuple[str, dict[str, Any]]:
        if reason:
            change = replace(change, detail=reason)
        with self.lock:
            self.changes[reg.urn] = change
            self.broken.add(reg.urn)
            if old is not None:
                self.records[reg.urn] = replace(old, urn=reg.urn)
            if not self.preview:
                self.steps.append(
                    StepResult(
                        change,
                        StepStatus.SKIPPED,
                        0.0,
                        reason or ("cancelled" if self.cancelled.is_set() else "a dependency failed"),
                    )
                )
        self.events("end", change, StepStatus.SKIPPED, 0.0, None)
        if old is not None:
            return _id(old), old.outputs
        return "", self._placeholders(handler, reg.inputs)

    def _read_failed(
        self,
        handler: Handler,
        reg: Registration,
        old: Record | None,
        news: dict[str, Any],
        doing: str,
        exc: Exception,
    ) -> tuple[str, dict[str, Any]]:
        """A read before the change failed: report this resource as failed, keep its state, skip dependents."""
        message = exc.message if isinstance(exc, MlplatformError) else f"{type(exc).__name__}: {exc}"
        change = Change(
            reg.urn,
            reg.type,
            reg.name,
            self.conventions.component_of(reg.urn, news),
            Action.UPDATE if old is not None else Action.CREATE,
            _shown(old.inputs) if old else None,
            _shown(news),
            custom=True,
            detail=f"failed {doing}",
        )
        with self.lock:
            self.changes[reg.urn] = change
            self.broken.add(reg.urn)
            if old is not None:
                self.records[reg.urn] = replace(old, urn=reg.urn)
            if self.preview:
                self.diagnostics.append(Diagnostic("error", f"{reg.name}: failed {doing}: {message}", reg.urn))
            else:
                self.steps.append(StepResult(change, StepStatus.FAILED, 0.0, f"failed {doing}: {message}"))
        self.events("end", change, StepStatus.FAILED, 0.0, message)
        if old is not None:
            return _id(old), old.outputs
        return "", self._placeholders(handler, news)

    def _placeholders(self, handler: Handler, news: dict[str, Any]) -> dict[str, Any]:
        """Outputs of a resource that does not exist (it failed or was skipped).

        In a preview they are unknown. During an apply the SDK turns unknowns and missing outputs into
        ``None`` and then drops ``None`` inputs *together with their dependency edges*, so a dependent
        would no longer look like one and would be sent to AWS with a missing ARN. Empty strings keep
        the edges, so :meth:`_resource` sees the broken dependency and skips the dependent too.
        """
        filler: Any = UNKNOWN if self.preview else ""
        return {**dict.fromkeys(handler.computed, filler), "id": filler, **news}

    @property
    def preflight_ran(self) -> bool:
        """Whether the preflight has run (it runs before the first create, so not at all without one)."""
        return self._preflight_ran

    @property
    def refusal(self) -> MlplatformError | None:
        """The preflight's error that stopped this apply before anything was created, if any."""
        return None if self.preview else self._preflight_error

    def _refusal(self, aws: AwsContext) -> MlplatformError | None:
        """Run the preflight once (every create waits for it, so none starts before it has passed); its error,
        during an apply. In a preview the error becomes an error diagnostic and the plan goes on."""
        assert self.preflight is not None
        with self._preflight_lock:
            if not self._preflight_ran:
                self._preflight_ran = True
                check = self.preflight
                try:
                    self._preflight_error = self._guard(lambda: check(aws))
                except EndpointUnreachableError:
                    raise
                except Exception as exc:  # noqa: BLE001 - a check that cannot run must not block the run
                    self._note("warning", f"could not check for resources that already exist: {exc}")
                error = self._preflight_error
                if error is not None and self.preview:
                    hint = f"\n{error.hint}" if error.hint else ""
                    self._note("error", f"{error.headline}: {error.message}{hint}")
        return self.refusal

    def _import(
        self, handler: Handler, ctx: StepContext, reg: Registration, news: dict[str, Any]
    ) -> tuple[str, dict[str, Any]]:
        """Import mode: find the resource in the cloud and record what is there; no mutating call.

        The recorded inputs are the program's with the live values read over them, so the next ``up`` sees
        what really differs and updates (or replaces) just that. Outputs are real, so the resources that
        depend on this one are looked up with real ids and ARNs.
        """
        # What the program could not know (it depends on a resource that was not found) is recorded as unknown,
        # so the next up sets it; the SDK's placeholders are not JSON.
        news = plain(news)
        component = self.conventions.component_of(reg.urn, news)
        found: tuple[str, dict[str, Any]] | None = None
        live: dict[str, Any] | None = None
        try:
            found = self._guard(lambda: handler.find(ctx, reveal(news)))
            if found is not None:
                resource_id = found[0]
                live = self._guard(lambda: handler.read(ctx, resource_id, reveal(news)))
        except EndpointUnreachableError:
            raise
        except Exception as exc:  # noqa: BLE001 - reported for this resource; the others are still looked up
            message = exc.message if isinstance(exc, MlplatformError) else f"{type(exc).__name__}: {exc}"
            self._note("warning", f"{reg.name}: could not look it up ({message}); up will try to create it", reg.urn)
            found = None
        if found is None or live is None:
            change = Change(
                reg.urn, reg.type, reg.name, component, Action.CREATE, None, _shown(news), detail="not found"
            )
            with self.lock:
                self.changes[reg.urn] = change
            return "", self._placeholders(handler, news)
        resource_id, outputs = found
        inputs = {**news, **live}
        record = self._record_for(reg, resource_id, {**outputs, **news}, inputs)
        changed = diff_keys(inputs, news)
        forcing = handler.replace_on_change | set(reg.replace_on_changes)
        reasons = [key for key in changed if key in forcing or "*" in forcing]
        change = Change(
            reg.urn, reg.type, reg.name, component, Action.IMPORT, None, _shown(record.inputs), tuple(changed),
            tuple(reasons),
        )  # fmt: skip
        with self.lock:
            self.changes[reg.urn] = change
            self.records[reg.urn] = record
        return resource_id, {**outputs, **news}

    def _adopt(self, handler: Handler, ctx: StepContext, reg: Registration, news: dict[str, Any]) -> Record | None:
        found = self._guard(lambda: handler.find(ctx, reveal(news)))
        if found is None:
            return None
        resource_id, _ = found
        live = self._guard(lambda: handler.read(ctx, resource_id, reveal(news))) or {}
        self._note("warning", f"adopted {reg.name!r} ({resource_id}), created by an interrupted run", reg.urn)
        # Keys read() does not report are taken as the program asks: an adopted resource must not look
        # changed (or worse, need a replacement) just because read() cannot observe a key.
        return self._record_for(reg, resource_id, {**found[1]}, {**news, **live})

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
                self.records[reg.urn] = self._record_for(reg, _id(old), old.outputs, news)
                self.steps.append(StepResult(change, StepStatus.OK, 0.0))
            return _id(old), old.outputs
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
                resource_id = _id(old)
                outputs = self._guard(lambda: handler.update(ctx, _id(old), reveal(olds), revealed, old.outputs))
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
            return (_id(old), old.outputs) if old is not None else ("", self._placeholders(handler, news))
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
        fixed_name = handler.physical_name(revealed) is not None and handler.physical_name(revealed) == (
            handler.physical_name(reveal(old.inputs))
        )
        delete_first = reg.delete_before_replace if reg.delete_before_replace is not None else fixed_name
        if delete_first:
            self._guard(lambda: handler.delete(ctx, _id(old), reveal(old.inputs), old.outputs))
            created: tuple[str, dict[str, Any]] = self._guard(lambda: handler.create(ctx, revealed))
            return created
        created = self._guard(lambda: handler.create(ctx, revealed))
        self._guard(lambda: handler.delete(ctx, _id(old), reveal(old.inputs), old.outputs))
        return created

    def _guard(self, call: Callable[[], Any]) -> Any:
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

    def _note(self, severity: str, message: str, urn: str | None = None) -> None:
        with self.lock:
            self.diagnostics.append(Diagnostic(severity, message, urn))

    # ---- before the program ----------------------------------------------------------------------

    def read_live(self, records: list[Record], *, parallel: int) -> None:
        """Read every recorded resource's live state before the program runs (``--refresh``).

        Reading at registration time instead would make ``up`` and its preview disagree: during ``up`` a
        resource's dependencies are recreated before it registers, so a bucket's configuration read after
        the bucket was recreated finds the new bucket and plans an update, where the preview (nothing
        recreated) planned a create. Pulumi refreshes the whole stack first for the same reason.
        """
        from concurrent.futures import ThreadPoolExecutor

        self._provider_contexts(records)
        wanted = [r for r in records if r.custom and not r.type.startswith(PROVIDER_PREFIX) and r.type in self.handlers]

        def read(record: Record) -> None:
            handler = self.handlers[record.type]
            ctx = StepContext(self._context(record.provider, record.urn), record.urn, _name(record.urn))
            try:
                answer: tuple[dict[str, Any] | None, Exception | None] = (
                    self._guard(lambda: handler.read(ctx, _id(record), reveal(record.inputs))),
                    None,
                )
            except EndpointUnreachableError:
                raise
            except Exception as exc:  # noqa: BLE001 - kept and raised when the resource registers
                answer = (None, exc)
            with self.lock:
                self.live[record.urn] = answer

        with ThreadPoolExecutor(max_workers=max(1, parallel), thread_name_prefix="mlplatform-refresh") as pool:
            for future in [pool.submit(read, record) for record in wanted]:
                future.result()  # re-raises an unreachable endpoint: nothing can be planned then

    def _live(self, handler: Handler, ctx: StepContext, old: Record, olds: dict[str, Any]) -> dict[str, Any] | None:
        """The live state of ``old``: what :meth:`read_live` found, else read now."""
        known = self.live.get(old.urn)
        if known is None:
            result: dict[str, Any] | None = self._guard(lambda: handler.read(ctx, _id(old), reveal(olds)))
            return result
        live, error = known
        if error is not None:
            raise error
        return live

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
            ctx = StepContext(self._context(old.provider, old.urn), old.urn, change.name)
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
        reason: str | None = self._guard(lambda: handler.check_delete(ctx, _id(old), reveal(old.inputs), others))
        return reason

    def orphans(self) -> list[Record]:
        """Resources in state the program did not register (and did not rename), in state order."""
        registered = set(self.records) | set(self.changes)
        return [record for urn, record in self.previous.items() if urn not in registered and urn not in self.renamed]

    def plan_deletes(self, records: list[Record]) -> list[Change]:
        """DELETE changes for ``records``, dependents first."""
        order = _reverse_dependency_order(records)
        return [
            Change(
                r.urn,
                r.type,
                r.urn.rsplit("::", 1)[-1],
                self.conventions.component_of(r.urn, r.inputs),
                Action.DELETE,
                _shown(r.inputs),
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
                f"{record.urn.rsplit('::', 1)[-1]} is protected; to delete it set protect: false for this "
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
                    self.steps.append(StepResult(changes[urn], StepStatus.OK, 0.0, f"deleted with {_name(owner)}"))
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
            ctx = StepContext(self._context(record.provider, urn), urn, urn.rsplit("::", 1)[-1])
            self.events("start", change, None, 0.0, None)
            started = time.monotonic()
            op_id = self.journal.begin(
                "delete", record, urn, record.type, {"physical_name": handler.physical_name(reveal(record.inputs))}
            )
            try:
                self._guard(lambda: handler.delete(ctx, _id(record), reveal(record.inputs), record.outputs))
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
                        StepResult(changes[urn], StepStatus.SKIPPED, 0.0, f"kept: {_name(target)} was not deleted")
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
            ctx = StepContext(self._context(record.provider, record.urn), record.urn, record.urn.rsplit("::", 1)[-1])
            started = time.monotonic()
            live: dict[str, Any] | None = self._guard(
                lambda h=handler, c=ctx, r=record: h.read(c, _id(r), reveal(r.inputs))  # type: ignore[misc]
            )
            name = record.urn.rsplit("::", 1)[-1]
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
                _shown(record.inputs),
                _shown(live) if live is not None else None,
                detail=detail,
            )
            step = StepResult(change, StepStatus.OK, time.monotonic() - started, None)
            steps.append(step)
            self.events("end", change, StepStatus.OK, step.seconds, None)
        return steps

    def note_untargeted(self) -> None:
        """One warning naming the resources ``--target`` left out that do not exist yet (so are not created)."""
        if self.not_targeted:
            names = sorted(self.not_targeted.values())
            shown = ", ".join(names[:10]) + (f" and {len(names) - 10} more" if len(names) > 10 else "")
            self._note(
                "warning",
                f"--target leaves out {len(names)} resource{'s' if len(names) != 1 else ''} of the program that do"
                f"{'es' if len(names) == 1 else ''} not exist yet: not created (what needs them is skipped): {shown}",
            )

    def plan(self) -> list[Change]:
        """Every change, in registration order (deletes last)."""
        with self.lock:
            return list(self.changes.values())


_MISSING: Any = object()


def _property_path(path: str) -> list[str | int] | None:
    """Pulumi's property path syntax: ``a.b``, ``a[0]``, ``a["key.with.dots"]``, ``a.*`` / ``a[*]`` -> segments
    (None if malformed)."""
    segments: list[str | int] = []
    key, i = "", 0
    while i < len(path):
        char = path[i]
        if char in ".[" and key:
            segments.append(key)
            key = ""
        if char == ".":
            i += 1
        elif char == "[":
            if path.startswith('["', i):
                end = path.find('"]', i + 2)
                if end < 0:
                    return None
                segments.append(path[i + 2 : end])
                i = end + 2
            else:
                end = path.find("]", i)
                inner = path[i + 1 : end] if end > 0 else ""
                if not (inner.isdigit() or inner == "*"):
                    return None
                segments.append(int(inner) if inner.isdigit() else inner)
                i = end + 1
        else:
            key += char
            i += 1
    if key:
        segments.append(key)
    return segments or None


def _child(value: Any, segment: str | int) -> Any:
    """``value[segment]`` (``value`` already unwrapped from any secret), or ``_MISSING``."""
    if isinstance(segment, str) and isinstance(value, dict):
        return value.get(segment, _MISSING)
    if isinstance(segment, int) and isinstance(value, list) and 0 <= segment < len(value):
        return value[segment]
    return _MISSING


def _reset(new: Any, old: Any, segments: list[str | int], old_secret: bool = False, new_secret: bool = False) -> Any:
    """A copy of ``new`` with the value at ``segments`` taken from ``old`` (removed where ``old`` has none);
    ``new`` itself is never mutated (it is the registration's inputs). Secrets are looked through on both
    sides, and a value taken from inside an old secret stays secret."""
    if is_secret(new):
        return secret(_reset(new["value"], old, segments, old_secret, True))
    if is_secret(old):
        return _reset(new, old["value"], segments, True, new_secret)

    def taken(value: Any) -> Any:
        return secret(value) if old_secret and not new_secret and value is not _MISSING else value

    segment, rest = segments[0], segments[1:]
    if segment == "*":  # every key or element, like Pulumi's wildcard
        if isinstance(new, dict) and isinstance(old, dict):
            if not rest:
                return {key: taken(value) for key, value in old.items()}
            return {
                key: _reset(value, old[key], rest, old_secret, new_secret) if key in old else value
                for key, value in new.items()
            }
        if isinstance(new, list) and isinstance(old, list) and len(new) == len(old):
            if not rest:
                return [taken(value) for value in old]
            return [_reset(n, o, rest, old_secret, new_secret) for n, o in zip(new, old, strict=True)]
        return new
    current = _child(new, segment)
    if current is _MISSING and rest:
        return new  # nothing at this path in the program's inputs to reset (Pulumi calls it a path error)
    old_child = _child(old, segment)
    value = _reset(current, old_child, rest, old_secret, new_secret) if rest else taken(old_child)
    if isinstance(new, dict) and isinstance(segment, str):
        copy = dict(new)
        if value is _MISSING:
            copy.pop(segment, None)
        else:
            copy[segment] = value
        return copy
    if isinstance(new, list) and isinstance(segment, int) and current is not _MISSING and value is not _MISSING:
        items = list(new)  # an array element is reset, never added or removed (that would resize the array)
        items[segment] = value
        return items
    return new


def _keep_old_at(news: dict[str, Any], olds: dict[str, Any], path: str) -> dict[str, Any]:
    """Apply one ``ignore_changes`` entry the way Pulumi does (``PropertyPath.Reset``): the value at that
    property path -- top-level key or nested (``tags.team``, ``rules[0].status``) -- is the recorded one, or
    absent if it was not recorded; everything else keeps the program's new value. Resetting the whole
    top-level key instead would silently drop changes next to the ignored path (another tag, say)."""
    segments = _property_path(path)
    if segments is None:
        return news
    result: dict[str, Any] = _reset(news, olds, segments)
    return result


def _name(urn: str) -> str:
    """A URN's logical name (its last segment)."""
    return urn.rsplit("::", 1)[-1]


def _shown(inputs: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if inputs is None else mask(inputs)


def _reverse_dependency_order(records: list[Record]) -> list[Record]:
    """Dependents before their dependencies (state order is dependency order, so reversing it works;
    a topological sort guards against state written out of order)."""
    by_urn = {record.urn: record for record in records}
    seen: set[str] = set()
    order: list[Record] = []

    def visit(urn: str) -> None:
        if urn in seen:
            return
        seen.add(urn)
        for dep in dependencies_of(by_urn[urn]):
            if dep in by_urn:
                visit(dep)
        order.append(by_urn[urn])

    for record in records:
        visit(record.urn)
    return list(reversed(order))
