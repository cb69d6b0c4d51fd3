"""Diff: how each registration becomes a :class:`~mlplatform.engine.model.Change` (and, during ``up``, a step).

``Deployment`` is the monitor's :class:`~mlplatform.engine.embedded.monitor.Registrar`. For every
resource the program registers it finds the resource's previous state (by URN, or by an alias when it
was renamed), applies ``ignore_changes`` (:mod:`.ignore_changes`), compares the inputs by the provider's
rules (:func:`compare`: sets, optional+computed keys, nested and conditional replace rules) and decides an
:class:`~mlplatform.engine.model.Action`. In a preview it only records the change and answers with
predicted outputs (unknown where only the cloud knows). During ``up`` it applies the step right away —
*apply on register* (:class:`~.apply.Applier`): the SDK cannot register a resource before the resources
whose outputs it uses have returned, so the program's own data flow orders the steps, and the SDK's
thread pool bounds their parallelism.

After the program finishes, resources in state that were not registered (orphans) are deleted in
reverse dependency order. ``destroy`` is the same walk over everything in state.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Collection, Iterable
from dataclasses import replace
from typing import Any

from mlplatform.engine.conventions import NO_CONVENTIONS, Conventions
from mlplatform.engine.diff import property_diff
from mlplatform.engine.embedded.deployment.apply import (
    PROVIDER_PREFIX,
    Applier,
    Journal,
    MissingHandlerError,
    Record,
    record_id,
    shown,
)
from mlplatform.engine.embedded.deployment.ignore_changes import keep_old_at
from mlplatform.engine.embedded.handlers.base import (
    AwsContext,
    CallCounter,
    EndpointUnreachableError,
    Handler,
    StepContext,
)
from mlplatform.engine.embedded.handlers.rules import Comparison, keep_computed
from mlplatform.engine.embedded.monitor import Registration
from mlplatform.engine.model import Action, Change, Diagnostic, Events, StepResult, StepStatus, no_events
from mlplatform.engine.targets import logical_name
from mlplatform.engine.values import UNKNOWN, conceal, contains_unknown, plain, reveal, secret_texts
from mlplatform.errors import ConfigError, MlplatformError


def diff_keys(olds: dict[str, Any], news: dict[str, Any]) -> list[str]:
    """Top-level input keys whose values differ (secrets compared by value; unknown always differs)."""
    keys = []
    for key in sorted(set(olds) | set(news)):
        new = news.get(key)
        if contains_unknown(new) or reveal(olds.get(key)) != reveal(new):
            keys.append(key)
    return keys


def predicted_outputs(
    handler: Handler, news: dict[str, Any], old_outputs: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A preview's outputs of a resource that would be created (or replaced) or, given ``old_outputs``, updated.

    Computed outputs of a new resource are unknown until the cloud answers, unless the program set them itself
    (a fixed bucket name is known in the preview); an update keeps the recorded outputs under the new inputs.
    """
    if old_outputs is not None:
        return {**old_outputs, **news}
    return {**dict.fromkeys(handler.computed, UNKNOWN), **news}


def answer_invoke(token: str, aws: AwsContext) -> dict[str, Any]:
    """Answer one of the data sources a program may call (``aws.get_caller_identity()``...) from ``aws``.

    Raises:
        MlplatformError: any other data source; the program should take the value from its spec.
    """
    if token == "aws:index/getCallerIdentity:getCallerIdentity":
        account = aws.account_id
        return {
            "accountId": account,
            "arn": f"arn:{aws.partition}:iam::{account}:root",
            "userId": account,
            "id": account,
        }
    if token == "aws:index/getRegion:getRegion":
        return {"name": aws.region, "region": aws.region, "id": aws.region, "endpoint": ""}
    if token == "aws:index/getPartition:getPartition":
        return {"partition": aws.partition, "dnsSuffix": "amazonaws.com", "id": aws.partition}
    raise MlplatformError(
        f"the program calls the data source {token}, which the embedded engine does not answer; pass the value "
        "in through the spec instead."
    )


def unsupported_reason(handler: Handler, path: str) -> str:
    """Why an input set at ``path`` is refused: the local engines do not deploy it (pulumi-aws would)."""
    return (
        f"{path} is not implemented by the local engine's {handler.type} handler, so it would be ignored here "
        "while pulumi-aws applies it on AWS"
    )


def other_region(handler: Handler, inputs: dict[str, Any], region: str) -> str | None:
    """Why a resource-level ``region`` other than the provider's is refused (``None`` when it is not set or the
    same): the handlers call the provider's region's endpoints, so the resource would land there instead."""
    wanted = inputs.get("region")
    if not isinstance(wanted, str) or not wanted or wanted == region or not handler.rules.regional:
        return None
    return (
        f"region {wanted!r} differs from its provider's region {region!r}; the local engine deploys every resource "
        "in its provider's region. Give the resource a provider for that region instead (pulumi-aws treats both "
        "the same way)."
    )


def refuse_unsupported(handler: Handler, reg: Registration, inputs: dict[str, Any], region: str) -> None:
    """Refuse a registration that sets inputs the handler does not implement (never ignore one silently).

    Raises:
        ConfigError: naming the resource, the inputs, and what the handler does implement.
    """
    elsewhere = other_region(handler, inputs, region)
    if elsewhere:
        raise ConfigError(f"resource {reg.name!r} ({reg.type}): {elsewhere}")
    unsupported = handler.unsupported_inputs(inputs)
    if not unsupported:
        return
    implemented = ", ".join(sorted(handler.implemented or ()))
    raise ConfigError(
        f"resource {reg.name!r} ({reg.type}) sets {', '.join(unsupported)}, which the local engine does not "
        "implement: deploying it to the emulator would silently leave "
        f"{'it' if len(unsupported) == 1 else 'them'} out, so the run stops before planning anything.",
        hint=f"The handler implements: {implemented}. Remove the input for the local environment, or deploy to AWS "
        "with the Pulumi engine (--engine pulumi), where pulumi-aws applies it.",
    )


_PLAN_ONLY = Handler()
"""Stands in for a missing handler in an offline plan: no CRUD, outputs beyond the inputs unknown."""


def compare(
    handler: Handler,
    olds: dict[str, Any],
    news: dict[str, Any],
    *,
    region: str | None,
    requested: Collection[str] = (),
    account: Callable[[], str] | None = None,
) -> tuple[list[str], list[str]]:
    """The changed top-level keys and those among them that force a replacement, by the provider's rules.

    Sets compare without order, an optional+computed key the program dropped is no change, ``region`` equal
    to the provider's is no change, and nested and conditional rules replace only when their values say so
    (:class:`~mlplatform.engine.embedded.handlers.rules.Comparison`). Both engines decide with this.

    Args:
        olds: the recorded inputs.
        news: the program's inputs (after ``ignore_changes`` and :func:`keep_computed`).
        region: the provider's region.
        requested: the resource's ``replace_on_changes`` option.
        account: the provider's account id (called only by a rule that depends on it).
    """
    comparison = Comparison(handler.rules, olds, news, region=region, requested=requested, account=account)
    changed = comparison.changed()
    return changed, comparison.reasons(changed)


class Deployment(Applier):
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
        super().__init__(
            previous=previous,
            handlers=handlers,
            preview=preview,
            journal=journal,
            events=events,
            counter=counter,
            endpoint_override=endpoint_override,
            conventions=conventions,
        )
        self.offline = offline and preview
        self.refresh = refresh
        self.targets = targets
        self.interrupted = set(interrupted)
        self.importing = importing and preview
        self.preflight = preflight
        self._preflight_lock = threading.Lock()
        self._preflight_ran = False
        self._preflight_error: MlplatformError | None = None
        self.component_outputs: dict[str, dict[str, Any]] = {}
        self.stack_outputs: dict[str, Any] = {}
        self.stack_urn: str | None = None
        self.not_targeted: dict[str, str] = {}  # urn -> name: new resources left out by --target

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
            ctx = StepContext(
                self._context(record.provider, record.urn),
                record.urn,
                logical_name(record.urn),
                self.conventions.urn_tag,
            )
            try:
                answer: tuple[dict[str, Any] | None, Exception | None] = (
                    self._guard(lambda: handler.read(ctx, record_id(record), reveal(record.inputs))),
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
            result: dict[str, Any] | None = self._guard(lambda: handler.read(ctx, record_id(old), reveal(olds)))
            return result
        live, error = known
        if error is not None:
            raise error
        return live

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
                # Recorded with the component, as Pulumi's checkpoint does (`state show` reads them there).
                record = self.records.get(urn)
                if record is not None and not record.custom:
                    self.records[urn] = replace(record, outputs=plain(outputs))

    def invoke(self, token: str, args: dict[str, Any], provider: str | None) -> dict[str, Any]:
        return answer_invoke(token, self._context(provider, token))

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
        resource_id = record_id(old) if old else str(uuid.uuid4())
        change = Change(
            reg.urn,
            reg.type,
            reg.name,
            None,
            action,
            shown(old.inputs if old else None),
            shown(reg.inputs),
            tuple(changed),
            custom=False,
        )
        with self.lock:
            self.changes[reg.urn] = change
            self.records[reg.urn] = self._record_for(reg, resource_id, dict(reg.inputs), dict(reg.inputs))
            self.contexts[reg.urn] = AwsContext(reveal(reg.inputs), self.counter)
        return resource_id, dict(reg.inputs)

    def _resource(self, reg: Registration, old: Record | None) -> tuple[str, dict[str, Any]]:
        if reg.import_id and old is None:
            # Pulumi would adopt the existing resource with that id; planning a create instead would make a
            # second one (or fail on its name). Once the resource is in state the option is spent, as in Pulumi.
            raise ConfigError(
                f"resource {reg.name!r} ({reg.type}) sets ResourceOptions(import_={reg.import_id!r}), which the "
                "embedded engine does not run: it does not adopt a resource by id.",
                hint="Remove import_ from the program and run `mlplatform import`: it records in state the "
                "resources the program declares that already exist (found by their names), without changing them.",
            )
        handler = self.handlers.get(reg.type) or (_PLAN_ONLY if self.offline else None)
        if handler is None:
            raise MissingHandlerError(
                f"the embedded engine has no handler for {reg.type} (resource {reg.name!r}); it cannot deploy "
                "this type to the local emulator."
            )
        ctx = StepContext(
            self._context(reg.provider, f"resource {reg.name!r}"), reg.urn, reg.name, self.conventions.urn_tag
        )
        if not self.offline:
            refuse_unsupported(handler, reg, reveal(plain(reg.inputs)), ctx.aws.region)
        news = dict(reg.inputs)
        if old is not None:
            for path in reg.ignore_changes:
                news = keep_old_at(news, old.inputs, path)
            news = keep_computed(handler.rules, old.inputs, news)
        olds = dict(old.inputs) if old else {}
        detail = None
        if self.importing and old is None:
            return self._import(handler, ctx, reg, news)

        # A resource an interrupted run may have created is looked for (and adopted); with --refresh, or after an
        # interrupted operation on it, a recorded resource is read live.
        adopting = old is None and reg.urn in self.interrupted and not self.preview
        if adopting or (old is not None and (self.refresh or reg.urn in self.interrupted)):
            try:
                adopted = self._adopt(handler, ctx, reg, news) if adopting else None
                live = self._live(handler, ctx, old, olds) if old is not None else None
            except EndpointUnreachableError:
                raise
            except Exception as exc:  # noqa: BLE001 - this resource fails; the rest of the run goes on
                doing = "looking for what an interrupted run created" if adopting else "reading its live state"
                return self._read_failed(handler, reg, old, news, doing, exc)
            if adopted is not None:
                old = adopted
                olds = dict(old.inputs)
                detail = "adopted: created by an interrupted run"
            elif old is not None and live is None:
                detail = "drift: deleted outside mlplatform"
                old, olds = None, {}
            elif live is not None:
                drifted = [key for key, value in live.items() if reveal(olds.get(key)) != value]
                if drifted:
                    detail = f"drift: {', '.join(drifted)} changed outside mlplatform"
                    # Live values come back in plaintext: wrap what matches a recorded secret again, or the
                    # plan (printed by preview --json) would show it.
                    olds = {**olds, **conceal(live, secret_texts(olds))}

        changed, reasons = (
            compare(
                handler,
                olds,
                news,
                region=ctx.aws.region,
                requested=reg.replace_on_changes,
                account=lambda: ctx.aws.account_id,
            )
            if old is not None
            else ([], [])
        )
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
            shown(olds) if old else None,
            shown(news),
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
            return record_id(old), old.outputs
        return self._apply(handler, ctx, reg, change, old, news, olds)

    def _predict(
        self, handler: Handler, change: Change, old: Record | None, news: dict[str, Any]
    ) -> tuple[str, dict[str, Any]]:
        if change.action is Action.SAME and old is not None:
            return record_id(old), old.outputs
        if change.action is Action.UPDATE and old is not None:
            return record_id(old), predicted_outputs(handler, news, old.outputs)
        return "", predicted_outputs(handler, news)

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
            return record_id(old), old.outputs
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
            shown(old.inputs) if old else None,
            shown(news),
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
            return record_id(old), old.outputs
        return "", self._placeholders(handler, news)

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
                reg.urn, reg.type, reg.name, component, Action.CREATE, None, shown(news), detail="not found"
            )
            with self.lock:
                self.changes[reg.urn] = change
            return "", self._placeholders(handler, news)
        resource_id, outputs = found
        inputs = {**news, **live}
        record = self._record_for(reg, resource_id, {**outputs, **news}, inputs)
        changed, reasons = compare(handler, inputs, news, region=ctx.aws.region, requested=reg.replace_on_changes)
        change = Change(
            reg.urn, reg.type, reg.name, component, Action.IMPORT, None, shown(record.inputs), tuple(changed),
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
