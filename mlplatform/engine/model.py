"""Plain data shared by every engine, the CLI and the renderers, and the :class:`Engine` protocol itself.

Modelled on Terraform's ``plans`` package: an :class:`Action` enum, a :class:`Change` per resource and a
:class:`Plan` that apply and the renderers consume — nothing here knows about Pulumi's SDK, boto3 or the
terminal, so the embedded engine and the Pulumi engine (Automation API events) produce the same shapes.
What the CLI reads from state (``outputs``, ``state list|show|rm``, ``unlock``) is here too, as
:class:`StackState` and :class:`StateResource`, so no command reaches into one engine's state files.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from mlplatform.engine.diff import PropertyDiff
from mlplatform.engine.values import mask
from mlplatform.errors import PlanError

PLAN_FORMAT_VERSION = 1
"""``format_version`` of ``preview --json``: add fields freely, never rename or remove one."""


class Action(str, enum.Enum):
    """What a plan does to one resource."""

    CREATE = "create"
    UPDATE = "update"
    REPLACE = "replace"
    DELETE = "delete"
    SAME = "same"
    READ = "read"  # refresh only: the live state is read back into state
    IMPORT = "import"  # import only: an existing cloud resource is recorded in state, unchanged

    @property
    def mutating(self) -> bool:
        return self in (Action.CREATE, Action.UPDATE, Action.REPLACE, Action.DELETE)


SUMMARY_KEYS = ("create", "update", "replace", "delete", "same")


class PlanMode(str, enum.Enum):
    """Why a plan was made."""

    UPDATE = "update"  # preview / up
    DESTROY = "destroy"
    REFRESH = "refresh"
    IMPORT = "import"


@dataclass(frozen=True)
class Change:
    """One resource's planned (or applied) change.

    Attributes:
        urn: the resource's Pulumi URN.
        type: its type token, e.g. ``aws:s3/bucket:Bucket``.
        name: its logical name.
        component: the mlplatform component it belongs to (``artifact_store``), or ``None``.
        action: what happens to it.
        before: inputs recorded in state (``None`` when creating).
        after: inputs the program asks for (``None`` when deleting); unknown values are
            ``"(known after apply)"``. Both are masked: secrets are ``"[secret]"``.
        diff: input keys that differ.
        replace_reasons: the keys among ``diff`` that force a replacement.
        custom: ``False`` for component resources (they have no cloud counterpart).
        detail: free-form notes (e.g. ``"drift: versioning suspended outside mlplatform"``).
        property_diff: for updates and replacements, every leaf that differs, by property path.
    """

    urn: str
    type: str
    name: str
    component: str | None
    action: Action
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    diff: tuple[str, ...] = ()
    replace_reasons: tuple[str, ...] = ()
    custom: bool = True
    detail: str | None = None
    property_diff: tuple[PropertyDiff, ...] = ()

    def as_dict(self, *, values: bool = True) -> dict[str, Any]:
        """JSON form; ``values`` adds ``before``, ``after`` and ``property_diff`` (docs/plan-json.md)."""
        data: dict[str, Any] = {
            "urn": self.urn,
            "type": self.type,
            "name": self.name,
            "component": self.component,
            "action": self.action.value,
            "diff": list(self.diff),
            "replace_reasons": list(self.replace_reasons),
            "detail": self.detail,
        }
        if values:
            data["before"] = self.before
            data["after"] = self.after
            data["property_diff"] = [entry.as_dict() for entry in self.property_diff]
        return data


@dataclass(frozen=True)
class Diagnostic:
    """A message for the user about the run (``severity``: info, warning or error), optionally per resource."""

    severity: str
    message: str
    urn: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"severity": self.severity, "message": self.message, "urn": self.urn}


def summarize(changes: list[Change]) -> dict[str, int]:
    """Count custom resources per action (component resources are bookkeeping, not infrastructure)."""
    summary = dict.fromkeys(SUMMARY_KEYS, 0)
    for change in changes:
        if change.custom and change.action.value in summary:
            summary[change.action.value] += 1
    return summary


@dataclass
class Plan:
    """The changes a preview found, in the order they would be applied."""

    mode: PlanMode
    env: str
    blueprint: str | None
    target: str
    changes: list[Change] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    previous_blueprint: str | None = None

    @property
    def summary(self) -> dict[str, int]:
        return summarize(self.changes)

    @property
    def has_changes(self) -> bool:
        return any(change.action.mutating for change in self.changes if change.custom)

    @property
    def errors(self) -> list[Diagnostic]:
        """What would make applying this plan fail; an engine refuses to apply a plan that has any."""
        return [diagnostic for diagnostic in self.diagnostics if diagnostic.severity == "error"]

    def as_dict(self) -> dict[str, Any]:
        """The ``preview --json`` document (docs/plan-json.md)."""
        return {
            "format_version": PLAN_FORMAT_VERSION,
            "mode": self.mode.value,
            "env": self.env,
            "blueprint": self.blueprint,
            "previous_blueprint": self.previous_blueprint,
            "target": self.target,
            "summary": self.summary,
            "changes": [change.as_dict() for change in self.changes if change.custom],
            "diagnostics": [diagnostic.as_dict() for diagnostic in self.diagnostics],
            "outputs": mask(self.outputs),  # JSON documents never carry secrets in plaintext
        }


class StepStatus(str, enum.Enum):
    """How applying one change ended."""

    OK = "ok"
    FAILED = "failed"
    SKIPPED = "skipped"  # a dependency failed, or the run was cancelled


Events = Callable[[str, Change, StepStatus | None, float, str | None], None]
"""Progress callback an engine calls while applying: (phase ``"start"``/``"end"``, change, status, seconds, error)."""


def no_events(*_: Any) -> None:
    """The progress callback that shows nothing."""
    return None


@dataclass(frozen=True)
class StepResult:
    """One applied step: the change, how it ended, how long it took, and the error if any."""

    change: Change
    status: StepStatus
    seconds: float
    error: str | None = None


@dataclass
class Result:
    """What ``up``, ``destroy`` or ``refresh`` did."""

    mode: PlanMode
    env: str
    blueprint: str | None
    target: str
    steps: list[StepResult] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    metrics: dict[str, int] = field(default_factory=dict)
    """Engine-specific counters (the embedded engine's ``api_calls``, ``mutating_api_calls``), flattened into
    the JSON document."""
    cancelled: bool = False
    interrupted: list[dict[str, Any]] = field(default_factory=list)

    @property
    def summary(self) -> dict[str, int]:
        """Resources per action that succeeded, plus ``failed`` and ``skipped`` (custom resources only)."""
        summary = summarize([step.change for step in self.steps if step.status is StepStatus.OK])
        summary["failed"] = sum(1 for step in self.failed if step.change.custom)
        summary["skipped"] = sum(1 for step in self.skipped if step.change.custom)
        return summary

    @property
    def failed(self) -> list[StepResult]:
        return [step for step in self.steps if step.status is StepStatus.FAILED]

    @property
    def skipped(self) -> list[StepResult]:
        return [step for step in self.steps if step.status is StepStatus.SKIPPED]

    def as_dict(self) -> dict[str, Any]:
        return {
            "format_version": PLAN_FORMAT_VERSION,
            "mode": self.mode.value,
            "env": self.env,
            "blueprint": self.blueprint,
            "target": self.target,
            "summary": self.summary,
            "steps": [
                {
                    **step.change.as_dict(values=False),
                    "status": step.status.value,
                    "seconds": round(step.seconds, 3),
                    "error": step.error,
                }
                for step in self.steps
                if step.change.custom
            ],
            "failed": len(self.failed),
            "skipped": len(self.skipped),
            "cancelled": self.cancelled,
            "interrupted": self.interrupted,
            **self.metrics,
            "diagnostics": [diagnostic.as_dict() for diagnostic in self.diagnostics],
            "outputs": mask(self.outputs),  # JSON documents never carry secrets in plaintext
        }


@dataclass(frozen=True)
class TaggedResource:
    """A cloud resource carrying an environment's tags (:meth:`Conventions.env_filters
    <mlplatform.engine.conventions.Conventions.env_filters>`), as the tagging API lists it.

    Attributes:
        arn: its ARN.
        urn: the URN in the engine's URN tag (set on resources without a fixed physical name), or ``None``.
        component: its component tag, or ``None``.
        blueprint: its blueprint tag (the blueprint it was deployed with), or ``None``.
    """

    arn: str
    urn: str | None = None
    component: str | None = None
    blueprint: str | None = None

    @property
    def label(self) -> str:
        """The ARN, followed by the logical name its URN tag gives (``... (network-vpc)``)."""
        return f"{self.arn} ({self.urn.rsplit('::', 1)[-1]})" if self.urn else self.arn

    def as_dict(self) -> dict[str, Any]:
        return {"arn": self.arn, "urn": self.urn, "component": self.component, "blueprint": self.blueprint}


@dataclass
class ImportPlan:
    """What ``mlplatform import`` found for the resources the program declares and state does not hold.

    Attributes:
        adopted: resources found in the cloud (action ``import``); ``after`` is what was read, ``diff``
            the keys where the live resource differs from the program (the next ``up`` updates them).
        ids: the cloud id of each adopted resource, by URN.
        missing: resources not found (action ``create``): the next ``up`` creates them.
        unmanaged: resources tagged for the environment that match nothing in the program or in state
            (a second copy, or a resource a later blueprint dropped): import leaves them alone.
        in_state: how many resources the program declares that state already holds (left as they are).
        imported: the adopted resources were recorded in state.
        metrics: engine-specific counters, flattened into the JSON document (the embedded engine's
            ``api_calls`` and ``mutating_api_calls``: import makes no mutating call).
    """

    env: str
    blueprint: str | None
    target: str
    adopted: list[Change] = field(default_factory=list)
    ids: dict[str, str] = field(default_factory=dict)
    missing: list[Change] = field(default_factory=list)
    unmanaged: list[TaggedResource] = field(default_factory=list)
    in_state: int = 0
    diagnostics: list[Diagnostic] = field(default_factory=list)
    imported: bool = False
    metrics: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """The ``import --json`` document."""
        return {
            "format_version": PLAN_FORMAT_VERSION,
            "mode": PlanMode.IMPORT.value,
            "env": self.env,
            "blueprint": self.blueprint,
            "target": self.target,
            "imported": self.imported,
            "summary": {"import": len(self.adopted), "missing": len(self.missing), "in_state": self.in_state},
            "adopted": [{**change.as_dict(), "id": self.ids.get(change.urn)} for change in self.adopted],
            "missing": [change.as_dict() for change in self.missing],
            "unmanaged": [resource.as_dict() for resource in self.unmanaged],
            "diagnostics": [diagnostic.as_dict() for diagnostic in self.diagnostics],
            **self.metrics,
        }


@dataclass(frozen=True)
class StateResource:
    """One resource as an environment's state holds it (``state list``, ``state show``, ``state rm``).

    Attributes:
        urn: its URN.
        type: its type token.
        id: its cloud id (``None`` for component resources).
        protect: deleting or replacing it is refused.
        details: everything the engine records about it, for ``state show`` (inputs and outputs with secrets
            still wrapped; the keys are the engine's).
    """

    urn: str
    type: str
    id: str | None = None
    protect: bool = False
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """Its logical name (the URN's last part)."""
        return self.urn.rsplit("::", 1)[-1]


@dataclass
class StackState:
    """An environment's state as last saved: what ``outputs`` and ``state list`` show.

    Attributes:
        env: the environment.
        blueprint: the blueprint it was last deployed with.
        serial: increases with every saved change.
        lineage: fixed for the life of the environment's state.
        resources: every resource, dependencies before dependents.
        outputs: the stack outputs (secrets still wrapped).
        last_run: how the last ``up``/``destroy`` ended when it did not finish (``command``, ``status``,
            ``failed``, ``skipped``, ``not_deleted``), else ``None`` or a record with status ``ok``.
    """

    env: str
    blueprint: str | None
    serial: int
    lineage: str
    resources: list[StateResource] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    last_run: dict[str, Any] | None = None


ConfirmForget = Callable[[list[StateResource]], bool]
"""Shown the resources ``forget`` would remove from state; ``False`` keeps them."""


@dataclass(frozen=True)
class Stack:
    """What an engine runs: one environment's program and the facts renderers show."""

    env: str
    blueprint: str | None
    target: str
    program: Callable[[], object]


@runtime_checkable
class Engine(Protocol):
    """What executes a program (docs/architecture.md, "Engines"): the embedded engine now, the Pulumi engine later.

    Every method returns the plain data of this module, so the CLI and the renderers never know which
    engine ran. ``destroy`` is a plan in destroy mode, not a second code path.
    """

    def preview(self, stack: Stack, *, refresh: bool = False, targets: frozenset[str] | None = None) -> Plan:
        """What ``up`` would change; no mutating call."""

    def preview_destroy(self, stack: Stack, *, targets: frozenset[str] | None = None) -> Plan:
        """What ``destroy`` would delete (with ``targets``: those resources and their dependents)."""

    def up(
        self,
        stack: Stack,
        *,
        refresh: bool = False,
        targets: frozenset[str] | None = None,
        approve: Callable[[Plan], bool] | None = None,
    ) -> Result | None:
        """Apply the program; a failure or Ctrl-C still saves what succeeded.

        With ``approve``, plan first under the same lock, hand the plan to it, and apply only if it says
        so and the plan has no errors (``None`` when declined; ``PlanError`` for errors).
        """

    def destroy(
        self,
        stack: Stack,
        *,
        targets: frozenset[str] | None = None,
        approve: Callable[[Plan], bool] | None = None,
    ) -> Result | None:
        """Delete everything in the environment's state (or the targets and their dependents), dependents
        first (``approve`` as for ``up``)."""

    def import_resources(self, stack: Stack, *, confirm: Callable[[ImportPlan], bool]) -> ImportPlan:
        """Adopt the program's resources that exist in the cloud but not in state; no mutating call."""

    def refresh(self, stack: Stack) -> Result:
        """Read every resource's live state into the environment's state."""

    def outputs(self, env: str) -> dict[str, Any]:
        """The stack outputs as last saved (secrets still wrapped)."""

    def remembered_blueprint(self, env: str) -> str | None:
        """The blueprint the environment was last deployed with, if it has state."""

    def state(self, env: str) -> StackState | None:
        """The environment's state as last saved (``pulumi stack export``), ``None`` when it has none; no lock,
        no cloud call."""

    def resource(self, env: str, name: str) -> StateResource:
        """One resource of the environment's state, by URN or logical name.

        Raises:
            UnknownResourceError, AmbiguousResourceError: ``name`` names no resource, or several (exit 2).
        """

    def forget(
        self, env: str, names: Iterable[str], *, with_dependents: bool = False, confirm: ConfirmForget
    ) -> list[StateResource]:
        """Remove resources from state without deleting them (``pulumi state delete``); ``confirm`` sees them
        first. Returns what was removed (nothing when ``confirm`` said no)."""

    def unlock(self, env: str) -> str | None:
        """Remove the environment's lock whoever holds it (``pulumi cancel``); says who held it, ``None`` when
        nothing did."""


def approve_plan(plan: Plan, approve: Callable[[Plan], bool]) -> bool:
    """Hand ``plan`` to ``approve``; a plan with errors is refused whatever the answer (every engine's rule).

    Raises:
        PlanError: the plan has errors (exit 4; nothing was changed).
    """
    accepted = approve(plan)
    if plan.errors:
        count = len(plan.errors)
        # Repeated here (the plan above may have gone to a file or a pipe): the error is what the user reads.
        listed = "\n".join(f"- {diagnostic.message}" for diagnostic in plan.errors)
        raise PlanError(
            f"{count} planned change{'s' if count != 1 else ''} would fail; nothing was changed:\n{listed}",
            [diagnostic.message for diagnostic in plan.errors],
        )
    return accepted
