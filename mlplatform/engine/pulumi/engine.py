"""The Pulumi engine: the same program and the same plain data as the embedded engine, executed by Pulumi.

It drives the Pulumi CLI through the Automation API (:mod:`pulumi.automation`): one stack per environment,
the program inline (the very ``build_platform`` the embedded engine evaluates), the backend and secrets
provider the environment names. Plans, progress and results are built from the engine's structured events
(``on_event``: resource pre-events with the step's op, inputs and diff; outputs and failure events; the
summary; diagnostics), never by parsing the CLI's text output. The CLI's own messages are kept and surfaced
when a run fails.

What the embedded engine does itself and Pulumi does differently is mapped onto the shared model:

* Pulumi reports a replacement as several steps (``create-replacement``, ``replace``, ``delete-replaced``);
  they are one ``replace`` change here, as in the embedded engine's plans.
* ``state``/``resource``/``forget`` read and edit the stack's exported deployment
  (``pulumi stack export``/``import``), the public way to do state surgery with the Automation API.
* ``unlock`` is ``pulumi cancel``. Pulumi has no serial/lineage: :class:`StackState` gets the stack's last
  update number and a lineage naming the backend, project and stack.
* ``import_resources`` is the embedded engine's adoption by name; with Pulumi, ``pulumi import`` does
  that job, so it is refused with that pointer.

Nothing here imports mlplatform's program, spec or emulator: the application builds a :class:`PulumiSettings`
(``mlplatform.app.workspace``) and hands in the program through :class:`~mlplatform.engine.model.Stack`.
"""

from __future__ import annotations

import gc
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from mlplatform.engine.conventions import Conventions
from mlplatform.engine.diff import property_diff
from mlplatform.engine.model import (
    Action,
    Change,
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
    StepResult,
    StepStatus,
    approve_plan,
    no_events,
)
from mlplatform.engine.pulumi.recovery import PROVIDER_PREFIX, FindCreated, op_urn, recover
from mlplatform.engine.targets import logical_name, resolve_urns
from mlplatform.engine.values import COMPUTED_MASK, secret
from mlplatform.errors import (
    EXIT_RESOURCE,
    ConfigError,
    MlplatformError,
    StateLockedError,
)

_REPLACE_OPS = {"replace", "create-replacement", "delete-replaced", "discard-replaced", "read-replacement"}
_OPS: dict[str, Action] = {
    "same": Action.SAME,
    "create": Action.CREATE,
    "update": Action.UPDATE,
    "delete": Action.DELETE,
    "refresh": Action.READ,
    "read": Action.READ,
    "import": Action.IMPORT,
    "import-replacement": Action.REPLACE,
    **dict.fromkeys(_REPLACE_OPS, Action.REPLACE),
}


class PulumiEngineError(MlplatformError):
    """The Pulumi CLI failed for a reason that is not one resource's (its own message is kept)."""

    headline = "pulumi engine"


class PulumiResourceError(MlplatformError):
    """Pulumi could not apply some resources (exit 4, the resource-error code)."""

    headline = "resource error"
    exit_code = EXIT_RESOURCE


class PulumiImportUnsupportedError(ConfigError):
    """``mlplatform import`` is the embedded engine's adoption; Pulumi's is ``pulumi import``."""

    headline = "not supported by the Pulumi engine"


class _StackMissing(Exception):
    """The environment has no stack in its backend (never deployed with the Pulumi engine)."""


@dataclass(frozen=True)
class PulumiSettings:
    """Where and how the Pulumi engine runs one environment's stack.

    Attributes:
        project: the Pulumi project name (every URN's project part).
        work_dir: the folder the Automation API keeps ``Pulumi.yaml`` and ``Pulumi.<stack>.yaml`` in.
        backend_url: the state backend (``file://<dir>``, ``s3://bucket/prefix``, ``https://api.pulumi.com``).
        secrets_provider: ``passphrase`` (``PULUMI_CONFIG_PASSPHRASE``/``_FILE``), ``awskms://...``, or
            ``None`` for the backend's default (Pulumi Cloud's).
        cli_root: the folder holding ``bin/pulumi``; ``None`` runs ``pulumi`` from PATH.
        pulumi_home: ``PULUMI_HOME`` (plugins, credentials); ``None`` uses the user's.
        env_vars: extra environment for the CLI (passphrase, PATH entries for plugins, ...).
        config: stack config, ``key -> value`` (``aws:region``, ``aws:allowedAccountIds``).
        secret_config: stack config stored encrypted.
        tags: stack tags (owner, blueprint, expires-at), set after each successful ``up``.
    """

    project: str
    work_dir: Path
    backend_url: str
    secrets_provider: str | None = None
    cli_root: Path | None = None
    pulumi_home: Path | None = None
    env_vars: dict[str, str] = field(default_factory=dict)
    config: dict[str, str] = field(default_factory=dict)
    secret_config: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)


class _Collector:
    """Turns the engine's event stream into Changes, progress events and step results.

    Events arrive on the Automation API's reader thread, in order; the lock guards what the caller reads.
    """

    def __init__(self, conventions: Conventions, events: Events, *, applying: bool) -> None:
        self.conventions = conventions
        self.events = events
        self.applying = applying
        self.changes: dict[str, Change] = {}
        self.started: dict[str, float] = {}
        self.steps: dict[str, StepResult] = {}
        self.errors: dict[str, list[str]] = {}
        self.diagnostics: list[Diagnostic] = []
        self.summary: dict[str, int] = {}
        self.lock = threading.Lock()

    def __call__(self, event: Any) -> None:
        with self.lock:
            if event.resource_pre_event is not None:
                self._pre(event.resource_pre_event.metadata)
            elif event.res_outputs_event is not None:
                self._done(event.res_outputs_event.metadata, StepStatus.OK)
            elif event.res_op_failed_event is not None:
                self._done(event.res_op_failed_event.metadata, StepStatus.FAILED)
            elif event.diagnostic_event is not None:
                self._diagnostic(event.diagnostic_event)
            elif event.summary_event is not None:
                self.summary = {str(op): int(n) for op, n in (event.summary_event.resource_changes or {}).items()}

    def _pre(self, meta: Any) -> None:
        op = str(getattr(meta.op, "value", meta.op))
        action = _OPS.get(op)
        if action is None or meta.type == "pulumi:pulumi:Stack":
            return
        old = meta.old
        new = meta.new
        before = _shown(old.inputs) if old is not None else None
        after = _shown(new.inputs) if new is not None and action is not Action.DELETE else None
        # A provider is bookkeeping, not infrastructure, as in the embedded engine's plans: neither the summary
        # nor the listed changes count it (Pulumi's own summary does).
        custom = bool((new or old).custom) if (new or old) is not None else True
        custom = custom and not str(meta.type).startswith(PROVIDER_PREFIX)
        diff = tuple(meta.diffs or ())
        reasons = tuple(meta.keys or ()) if action is Action.REPLACE else ()
        if action is Action.REPLACE and meta.urn in self.changes:
            previous = self.changes[meta.urn]  # one change for the several steps of a replacement
            diff = previous.diff or diff
            reasons = previous.replace_reasons or reasons
            before = previous.before if previous.before is not None else before
            after = previous.after if previous.after is not None else after
        change = Change(
            meta.urn,
            meta.type,
            logical_name(meta.urn),
            self.conventions.component_of(meta.urn, (new or old).inputs if (new or old) is not None else None),
            action,
            before,
            after,
            diff,
            reasons,
            custom=custom,
            property_diff=tuple(property_diff(before, after, diff)) if diff and action.mutating else (),
        )
        first = meta.urn not in self.changes
        self.changes[meta.urn] = change
        if self.applying and first and action is not Action.SAME:
            self.started[meta.urn] = time.monotonic()
            self.events("start", change, None, 0.0, None)

    def _done(self, meta: Any, status: StepStatus) -> None:
        change = self.changes.get(meta.urn)
        if change is None or not self.applying:
            return
        op = str(getattr(meta.op, "value", meta.op))
        if status is StepStatus.OK and change.action is Action.REPLACE and op in ("create-replacement", "replace"):
            return  # the old resource's delete (delete-replaced) ends the replacement
        seconds = time.monotonic() - self.started.get(meta.urn, time.monotonic())
        error = "; ".join(self.errors.get(meta.urn, [])) or None if status is StepStatus.FAILED else None
        self.steps[meta.urn] = StepResult(change, status, seconds, error)
        if change.action is not Action.SAME:
            self.events("end", change, status, seconds, error)

    def _diagnostic(self, event: Any) -> None:
        message = (event.message or "").strip()
        if not message or event.ephemeral:
            return
        severity = {"error": "error", "warning": "warning"}.get(event.severity, "info")
        if severity == "info" and event.severity in ("debug", "info#err"):
            return
        if event.urn:
            self.errors.setdefault(event.urn, []).append(message)
            # A failed step's error is reported on the step; the diagnostic would say it twice.
            if severity == "error":
                return
        self.diagnostics.append(Diagnostic(severity, message, event.urn or None))

    def plan_changes(self) -> list[Change]:
        return list(self.changes.values())

    def results(self) -> list[StepResult]:
        """Every applied step, plus a ``skipped`` one for each change that never finished."""
        done = dict(self.steps)
        for urn, change in self.changes.items():
            if urn not in done and change.action is not Action.SAME:
                done[urn] = StepResult(change, StepStatus.SKIPPED, 0.0, "not applied (an earlier step failed)")
            elif urn not in done:
                done[urn] = StepResult(change, StepStatus.OK, 0.0)
        return list(done.values())


def _shown(values: Any) -> dict[str, Any]:
    """Event inputs as plans show them: Pulumi already masks secrets as ``[secret]`` in events; its unknown
    marker becomes the embedded engine's words."""
    from pulumi.runtime.rpc import UNKNOWN as SDK_UNKNOWN

    def walk(value: Any) -> Any:
        if value == SDK_UNKNOWN:
            return COMPUTED_MASK
        if isinstance(value, dict):
            return {key: walk(item) for key, item in value.items()}
        if isinstance(value, list):
            return [walk(item) for item in value]
        return value

    return dict(walk(dict(values or {})))


class PulumiEngine:
    """The :class:`~mlplatform.engine.model.Engine` protocol over the Automation API and the Pulumi CLI.

    Args:
        settings: the environment's backend, secrets provider, CLI and stack config.
        conventions: the application's project name, component types and tags.
        parallel: how many resource operations Pulumi runs at once (``--parallel``).
        events: progress callback while applying.
    """

    def __init__(
        self,
        settings: PulumiSettings,
        *,
        conventions: Conventions,
        parallel: int = 10,
        events: Events = no_events,
        find_created: FindCreated | None = None,
    ) -> None:
        """Args:
        settings: the stack's backend, secrets, CLI and config.
        conventions: the application's tags and names.
        parallel: how many resource operations Pulumi runs at once.
        events: progress callback.
        find_created: how to look for what an interrupted create made (:mod:`.recovery`); ``None`` refuses
            an ``up`` after a killed run that left creates.
        """
        self.settings = settings
        self.conventions = conventions
        self.parallel = parallel
        self.events = events
        self.find_created = find_created

    # ---- workspace ----------------------------------------------------------------------------------------

    def _options(self, program: Any) -> Any:
        from pulumi import automation as auto

        settings = self.settings
        settings.work_dir.mkdir(parents=True, exist_ok=True)
        # Checks the CLI's version against the SDK's minimum (InvalidVersionError, mapped in _errors).
        command = auto.PulumiCommand(root=str(settings.cli_root) if settings.cli_root else None)
        return auto.LocalWorkspaceOptions(
            work_dir=str(settings.work_dir),
            pulumi_home=str(settings.pulumi_home) if settings.pulumi_home else None,
            program=program,
            env_vars=dict(settings.env_vars),
            secrets_provider=settings.secrets_provider,
            project_settings=auto.ProjectSettings(
                name=settings.project, runtime="python", backend=auto.ProjectBackend(url=settings.backend_url)
            ),
            pulumi_command=command,
        )

    @contextmanager
    def _errors(self, env: str) -> Iterator[None]:
        """Pulumi's exceptions as mlplatform's errors, Pulumi's own message kept."""
        from pulumi import automation as auto

        try:
            try:
                yield
            except auto.CommandError:
                collect_abandoned_programs()  # a run stopped early leaves its program unfinished
                raise
        except auto.StackNotFoundError:
            raise _StackMissing() from None
        except auto.ConcurrentUpdateError as exc:
            # Pulumi's own lines name the lock (the file backend: its file, pid, user, host and time).
            raise StateLockedError(
                f"environment {env!r} is being updated by another run (Pulumi holds the stack's lock):\n"
                f"{_command_message(exc)}",
                hint=f"If no other run is going on (it was killed), `mlplatform unlock --env {env}` clears the "
                "lock (`pulumi cancel`).",
            ) from None
        except auto.CommandError as exc:
            raise PulumiEngineError(_command_message(exc)) from None
        except auto.InvalidVersionError as exc:
            raise PulumiEngineError(
                f"the Pulumi CLI is too old for this Pulumi SDK: {_first_line(exc)}",
                hint="Install a newer Pulumi CLI (see docs/pulumi-engine.md), or deploy a local environment with the "
                "embedded engine, which needs no CLI.",
            ) from None
        except FileNotFoundError as exc:
            raise PulumiEngineError(
                f"the Pulumi CLI was not found ({exc.filename or 'pulumi'}).",
                hint="Install the Pulumi CLI (see docs/pulumi-engine.md), or deploy a local environment with the "
                "embedded engine, which needs no CLI.",
            ) from None

    def _repair_file_backend(self) -> None:
        """Remove the empty metadata files a killed run can leave in a ``file://`` backend.

        Pulumi's file backend (gocloud's fileblob) writes each state file atomically (a temporary file, then a
        rename) but its ``<file>.attrs`` metadata sidecar in place: a run killed at that moment leaves it empty,
        and every later command fails with "failed to load checkpoint: EOF". An empty sidecar holds nothing (a
        missing one means "no attributes"), so removing it loses nothing.
        """
        url = self.settings.backend_url
        if not url.startswith("file://"):
            return
        root = Path(url.removeprefix("file://")) / ".pulumi"
        if root.is_dir():
            for sidecar in root.rglob("*.attrs"):
                if sidecar.is_file() and sidecar.stat().st_size == 0:
                    sidecar.unlink(missing_ok=True)

    def _stack(self, stack: Stack) -> Any:
        """Select (or create) the environment's stack with its config set."""
        from pulumi import automation as auto

        self._repair_file_backend()

        with self._errors(stack.env):
            pulumi_stack = auto.create_or_select_stack(
                stack_name=stack.env,
                project_name=self.settings.project,
                program=cast(Any, stack.program),
                opts=self._options(stack.program),
            )
            config = {key: auto.ConfigValue(value) for key, value in self.settings.config.items()}
            config |= {key: auto.ConfigValue(value, secret=True) for key, value in self.settings.secret_config.items()}
            if config:
                pulumi_stack.set_all_config(config)
        return pulumi_stack

    def _existing(self, env: str) -> Any | None:
        """The environment's stack if it exists (no program: for reads and state surgery)."""
        from pulumi import automation as auto

        self._repair_file_backend()
        try:
            with self._errors(env):
                return auto.select_stack(
                    stack_name=env, project_name=self.settings.project, program=_no_program, opts=self._options(None)
                )
        except _StackMissing:
            return None

    # ---- plans ----------------------------------------------------------------------------------------------

    def preview(self, stack: Stack, *, refresh: bool = False, targets: frozenset[str] | None = None) -> Plan:
        return self._preview(stack, refresh=refresh, targets=targets, pending=True)

    def _preview(self, stack: Stack, *, refresh: bool, targets: frozenset[str] | None, pending: bool) -> Plan:
        """The update plan; ``pending``: also warn about operations a killed run left (one more CLI call, which
        ``up`` and ``destroy`` skip: they have just settled them)."""
        pulumi_stack = self._stack(stack)
        collector = _Collector(self.conventions, no_events, applying=False)
        urns = self._target_urns(stack, pulumi_stack, targets)
        with self._errors(stack.env):
            result = pulumi_stack.preview(
                on_event=collector,
                diff=True,
                refresh=refresh,
                target=sorted(urns) if urns else None,
                parallel=self.parallel,
            )
        del result
        interrupted = [
            Diagnostic(
                "warning",
                f"an earlier run was killed while {op} {logical_name(urn)!r}: `up` settles what it left before it "
                'changes anything (docs/pulumi-engine.md, "Interrupted and concurrent runs")',
                urn,
            )
            for op, urn in (self.pending_operations(stack.env) if pending else [])
        ]
        return Plan(
            PlanMode.UPDATE,
            stack.env,
            stack.blueprint,
            stack.target,
            collector.plan_changes(),
            {},
            interrupted + collector.diagnostics,
            previous_blueprint=self.remembered_blueprint(stack.env),
        )

    def preview_destroy(self, stack: Stack, *, targets: frozenset[str] | None = None) -> Plan:
        pulumi_stack = self._stack(stack)
        collector = _Collector(self.conventions, no_events, applying=False)
        urns = self._target_urns(stack, pulumi_stack, targets)
        with self._errors(stack.env):
            pulumi_stack.preview_destroy(
                on_event=collector, target=sorted(urns) if urns else None, target_dependents=bool(urns)
            )
        return Plan(PlanMode.DESTROY, stack.env, stack.blueprint, stack.target, collector.plan_changes(), {}, [])

    def _target_urns(self, stack: Stack, pulumi_stack: Any, targets: frozenset[str] | None) -> frozenset[str] | None:
        """``--target`` as typed (URNs, logical names) -> URNs of resources in state or in the program."""
        if targets is None:
            return None
        state = self.state(stack.env)
        candidates = [r.urn for r in state.resources] if state else []
        if not targets <= set(candidates):
            collector = _Collector(self.conventions, no_events, applying=False)
            with self._errors(stack.env):
                pulumi_stack.preview(on_event=collector, parallel=self.parallel)
            known = set(candidates)
            candidates += [c.urn for c in collector.plan_changes() if c.custom and c.urn not in known]
        return frozenset(
            resolve_urns(
                sorted(targets),
                candidates,
                where=f"environment {stack.env!r} (its state and its program)",
                hint="`mlplatform preview` names every resource of the program; `mlplatform state list` shows URNs.",
            )
        )

    # ---- runs -----------------------------------------------------------------------------------------------

    def up(
        self,
        stack: Stack,
        *,
        refresh: bool = False,
        targets: frozenset[str] | None = None,
        approve: Callable[[Plan], bool] | None = None,
    ) -> Result | None:
        recovered = self._recover(stack)
        if approve is not None:
            plan = self._preview(stack, refresh=refresh, targets=targets, pending=False)
            if not _approved(plan, recovered, approve):
                return None
        pulumi_stack = self._stack(stack)
        urns = self._target_urns(stack, pulumi_stack, targets)
        collector = _Collector(self.conventions, self.events, applying=True)
        outputs: dict[str, Any] = {}
        failure: PulumiEngineError | None = None
        try:
            with self._errors(stack.env):
                result = pulumi_stack.up(
                    on_event=collector,
                    refresh=refresh,
                    target=sorted(urns) if urns else None,
                    parallel=self.parallel,
                    show_secrets=False,
                )
                outputs = _outputs(result.outputs)
        except PulumiEngineError as exc:
            failure = exc
        result = self._result(PlanMode.UPDATE, stack, pulumi_stack, collector, outputs, failure)
        result.diagnostics[:0] = recovered
        return result

    def _recover(self, stack: Stack) -> list[Diagnostic]:
        """What a killed run left pending, settled before an ``up``, ``destroy`` or ``refresh`` plans
        (:func:`recovery.recover`)."""
        pulumi_stack = self._existing(stack.env)
        if pulumi_stack is None:
            return []
        return recover(
            pulumi_stack, stack.env, self.find_created, parallel=self.parallel, guard=lambda: self._errors(stack.env)
        )

    def pending_operations(self, env: str) -> list[tuple[str, str]]:
        """What an interrupted run left in the stack's checkpoint: ``(operation, urn)`` pairs, in Pulumi's words
        (``creating``, ``updating``, ``deleting``, ``reading``, ``importing``)."""
        pulumi_stack = self._existing(env)
        if pulumi_stack is None:
            return []
        with self._errors(env):
            deployment = pulumi_stack.export_stack().deployment or {}
        return [(str(op.get("type", "")), op_urn(op)) for op in deployment.get("pending_operations") or []]

    def destroy(
        self,
        stack: Stack,
        *,
        targets: frozenset[str] | None = None,
        approve: Callable[[Plan], bool] | None = None,
    ) -> Result | None:
        # What a killed run created is adopted first, so that it is destroyed too rather than left behind.
        recovered = self._recover(stack)
        if approve is not None and not _approved(self.preview_destroy(stack, targets=targets), recovered, approve):
            return None
        pulumi_stack = self._stack(stack)
        urns = self._target_urns(stack, pulumi_stack, targets)
        collector = _Collector(self.conventions, self.events, applying=True)
        failure: PulumiEngineError | None = None
        try:
            with self._errors(stack.env):
                pulumi_stack.destroy(
                    on_event=collector,
                    target=sorted(urns) if urns else None,
                    target_dependents=bool(urns),
                    parallel=self.parallel,
                    show_secrets=False,
                )
        except PulumiEngineError as exc:
            failure = exc
        result = self._result(PlanMode.DESTROY, stack, pulumi_stack, collector, {}, failure)
        result.diagnostics[:0] = recovered
        return result

    def refresh(self, stack: Stack) -> Result:
        recovered = self._recover(stack)
        pulumi_stack = self._stack(stack)
        collector = _Collector(self.conventions, self.events, applying=True)
        failure: PulumiEngineError | None = None
        try:
            with self._errors(stack.env):
                pulumi_stack.refresh(on_event=collector, parallel=self.parallel, show_secrets=False)
        except PulumiEngineError as exc:
            failure = exc
        result = self._result(PlanMode.REFRESH, stack, pulumi_stack, collector, self.outputs(stack.env), failure)
        result.diagnostics[:0] = recovered
        return result

    def _result(
        self,
        mode: PlanMode,
        stack: Stack,
        pulumi_stack: Any,
        collector: _Collector,
        outputs: dict[str, Any],
        failure: PulumiEngineError | None,
    ) -> Result:
        steps = collector.results()
        if failure is not None and not any(step.status is StepStatus.FAILED for step in steps):
            # Not one resource's failure (the program, the backend, the CLI): nothing to show per resource.
            raise failure
        diagnostics = list(collector.diagnostics)
        if failure is not None:
            diagnostics.append(Diagnostic("error", str(failure)))
        elif mode is PlanMode.UPDATE:
            self._tag(pulumi_stack, stack)
        return Result(mode, stack.env, stack.blueprint, stack.target, steps, outputs, diagnostics)

    def _tag(self, pulumi_stack: Any, stack: Stack) -> None:
        """Stack tags (owner, blueprint, expiry) and the blueprint's stack config, after a successful ``up``."""
        from pulumi import automation as auto

        # The blueprint goes in a stack tag under the application's blueprint tag key (remembered_blueprint).
        key = self.conventions.blueprint_tag
        tags = {**self.settings.tags, **({key: stack.blueprint} if key and stack.blueprint else {})}
        try:
            with self._errors(stack.env):
                for key, value in tags.items():
                    pulumi_stack.set_tag(key, value)
        except PulumiEngineError:
            pass  # self-managed backends before Pulumi 3.x kept no tags: the blueprint is then not remembered
        # And in the stack's config, where the application's own program reads it when the plain Pulumi CLI runs
        # this stack (with this config file): set only after an up, so a preview of another blueprint changes
        # nothing there. A config file is local, so this cannot fail the way a backend's tags can.
        config_key = self.conventions.blueprint_config
        if config_key and stack.blueprint:
            with self._errors(stack.env):
                pulumi_stack.set_config(config_key, auto.ConfigValue(stack.blueprint))

    def import_resources(self, stack: Stack, *, confirm: Callable[[ImportPlan], bool]) -> ImportPlan:
        raise PulumiImportUnsupportedError(
            f"`mlplatform import` adopts resources by name with the embedded engine; environment {stack.env!r} "
            "deploys through the Pulumi engine.",
            hint="Use `pulumi import` (https://www.pulumi.com/docs/iac/cli/commands/pulumi_import/) on the stack "
            f"{stack.env!r}.",
        )

    # ---- state ----------------------------------------------------------------------------------------------

    def outputs(self, env: str) -> dict[str, Any]:
        pulumi_stack = self._existing(env)
        if pulumi_stack is None:
            return {}
        with self._errors(env):
            return _outputs(pulumi_stack.outputs())

    def remembered_blueprint(self, env: str) -> str | None:
        pulumi_stack = self._existing(env)
        if pulumi_stack is None:
            return None
        try:
            with self._errors(env):
                tags = pulumi_stack.list_tags()
        except PulumiEngineError:
            return None
        value = tags.get(self.conventions.blueprint_tag) if self.conventions.blueprint_tag else None
        return str(value) if value else None

    def state(self, env: str) -> StackState | None:
        pulumi_stack = self._existing(env)
        if pulumi_stack is None:
            return None
        with self._errors(env):
            deployment = pulumi_stack.export_stack().deployment or {}
            # The file backend numbers every update 0 (`history()[0].version`): the serial is how many there were.
            history = pulumi_stack.history()
        resources = [
            StateResource(
                str(item["urn"]),
                str(item["type"]),
                item.get("id") or None,
                bool(item.get("protect", False)),
                details={key: value for key, value in item.items() if key not in ("urn", "type")},
            )
            for item in deployment.get("resources") or []
            if item.get("type") != "pulumi:pulumi:Stack"
        ]
        with self._errors(env):
            outputs = _outputs(pulumi_stack.outputs())
        return StackState(
            env,
            self.remembered_blueprint(env),
            max([len(history), *(int(entry.version) for entry in history)]) if history else 0,
            f"pulumi:{self.settings.backend_url}/{self.settings.project}/{env}",
            resources,
            outputs,
            None,
        )

    def resource(self, env: str, name: str) -> StateResource:
        state = self.state(env)
        resources = state.resources if state else []
        (urn,) = resolve_urns([name], [r.urn for r in resources], where=f"environment {env!r}'s state")
        return next(r for r in resources if r.urn == urn)

    def forget(
        self, env: str, names: Iterable[str], *, with_dependents: bool = False, confirm: ConfirmForget
    ) -> list[StateResource]:
        pulumi_stack = self._existing(env)
        state = self.state(env)
        if pulumi_stack is None or state is None:
            return []
        urns = set(resolve_urns(list(names), [r.urn for r in state.resources], where=f"environment {env!r}'s state"))
        if with_dependents:
            grown = True
            while grown:
                grown = False
                for res in state.resources:
                    deps = set(res.details.get("dependencies") or []) | {res.details.get("parent")}
                    if res.urn not in urns and deps & urns:
                        urns.add(res.urn)
                        grown = True
        chosen = [r for r in state.resources if r.urn in urns]
        if not chosen or not confirm(chosen):
            return []
        with self._errors(env):
            exported = pulumi_stack.export_stack()
            exported.deployment["resources"] = [
                item for item in exported.deployment.get("resources") or [] if item.get("urn") not in urns
            ]
            pulumi_stack.import_stack(exported)
        return chosen

    def unlock(self, env: str) -> str | None:
        pulumi_stack = self._existing(env)
        if pulumi_stack is None:
            return None
        try:
            with self._errors(env):
                pulumi_stack.cancel()
        except PulumiEngineError as exc:
            if "no update" in str(exc).lower() or "not currently" in str(exc).lower():
                return None
            raise
        return f"the Pulumi update of stack {env!r} (cancelled with `pulumi cancel`)"


def collect_abandoned_programs() -> None:
    """Collect, quietly and now, the inline program a failed run left unfinished.

    When the CLI stops a run early (a provider refused its configuration, a resource failed), the Automation
    API's in-process language server drops the program's coroutine unfinished; its finalizer then reports
    "Exception ignored in: <coroutine run_pulumi_func>" whenever the garbage collector meets it. That is noise
    after an error already reported, and on CPython 3.11 before 3.11.8 a collection that lands inside a
    ``compile``/``ast.parse`` and formats such a traceback (which parses source again) crashes the parse with
    ``SystemError: AST constructor recursion depth mismatch`` (python/cpython#106905). Collecting right after
    the run, with the SDK's abandoned coroutines silenced, takes both away.
    """
    previous = sys.unraisablehook

    def quiet(unraisable: Any) -> None:
        source = getattr(unraisable.object, "__qualname__", "") or repr(unraisable.object)
        if any(name in source for name in _ABANDONED):
            return
        previous(unraisable)

    sys.unraisablehook = quiet
    try:
        gc.collect()
    finally:
        sys.unraisablehook = previous


_ABANDONED = ("run_pulumi_func", "run_in_stack", "_run_in_stack", "LanguageServer")
"""The SDK's coroutines an early-stopped inline program leaves behind (see :func:`collect_abandoned_programs`)."""


def _approved(plan: Plan, recovered: list[Diagnostic], approve: Callable[[Plan], bool]) -> bool:
    """``approve_plan`` on ``plan``, with what settling a killed run's operations did shown first."""
    plan.diagnostics[:0] = recovered
    return approve_plan(plan, approve)


def _no_program() -> None:
    """The program of a stack opened only to read or edit its state: runs nothing."""


def _outputs(values: Any) -> dict[str, Any]:
    """Automation API ``OutputMap`` -> plain values with secrets wrapped like the embedded engine's."""
    return {key: secret(item.value) if item.secret else item.value for key, item in dict(values or {}).items()}


def _first_line(exc: BaseException) -> str:
    return next((line.strip() for line in str(exc).splitlines() if line.strip()), type(exc).__name__)


def _command_message(exc: BaseException) -> str:
    """What a failed CLI run said, worth showing: its stderr (Pulumi's ``error:`` lines), else the end of stdout.

    The Automation API's ``CommandError`` carries the run only as text: `` code: N\n stdout: ...\n stderr: ...``.
    """
    text = str(exc)
    stdout, _, stderr = text.partition("\n stderr: ")
    stdout = stdout.split(" stdout: ", 1)[-1]
    lines = [line for line in stderr.splitlines() if line.strip()] or [
        line for line in stdout.splitlines() if line.strip()
    ][-10:]
    return "\n".join(line.rstrip() for line in lines[-20:]).strip() or text.strip()
