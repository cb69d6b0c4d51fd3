"""Plans, results, progress and outputs for people (text) and programs (JSON)."""

from __future__ import annotations

import json
import sys
import threading
import time
from typing import Any, TextIO

from mlplatform.engine.model import Action, Change, ImportPlan, Plan, Result, StepStatus
from mlplatform.engine.values import mask, reveal

SYMBOLS = {
    Action.CREATE: "+",
    Action.UPDATE: "~",
    Action.REPLACE: "+-",
    Action.DELETE: "-",
    Action.SAME: " ",
    Action.READ: "=",
    Action.IMPORT: "=",
}
PAST = {
    Action.CREATE: "created",
    Action.UPDATE: "updated",
    Action.REPLACE: "replaced",
    Action.DELETE: "deleted",
    Action.SAME: "unchanged",
    Action.READ: "read",
    Action.IMPORT: "imported",
}
PRESENT = {
    Action.CREATE: "creating",
    Action.UPDATE: "updating",
    Action.REPLACE: "replacing",
    Action.DELETE: "deleting",
    Action.SAME: "checking",
    Action.READ: "reading",
    Action.IMPORT: "importing",
}


def _value(value: Any) -> str:
    text = json.dumps(mask(value), sort_keys=True, default=str)
    return text if len(text) <= 100 else text[:97] + "..."


def summary_line(summary: dict[str, int], *, planned: bool) -> str:
    words = (
        ("create", "to create" if planned else "created"),
        ("update", "to update" if planned else "updated"),
        ("replace", "to replace" if planned else "replaced"),
        ("delete", "to delete" if planned else "deleted"),
    )
    parts = [f"{summary[key]} {word}" for key, word in words if summary.get(key)]
    parts.append(f"{summary.get('same', 0)} unchanged")
    return "Resources: " + ", ".join(parts)


def plan_text(plan: Plan, *, show_diff: bool = False) -> str:
    """The human preview: a header, one line per change, the summary, diagnostics."""
    lines = []
    if plan.previous_blueprint and plan.blueprint and plan.previous_blueprint != plan.blueprint:
        lines.append(f"blueprint {plan.previous_blueprint} -> {plan.blueprint} (environment {plan.env})")
    else:
        lines.append(f"environment {plan.env}: blueprint {plan.blueprint}, target {plan.target}")
    changes = [change for change in plan.changes if change.custom and change.action is not Action.SAME]
    if not changes:
        lines.append("No changes: the infrastructure matches the program.")
    for change in changes:
        lines.append(_change_line(change))
        if show_diff:
            lines.extend(_diff_lines(change))
    lines.append(summary_line(plan.summary, planned=True))
    lines.extend(f"{d.severity}: {d.message}" for d in plan.diagnostics)
    return "\n".join(lines)


def _change_line(change: Change) -> str:
    symbol = SYMBOLS[change.action]
    text = f"{symbol:>2} {change.action.value:<8} {change.type}  {change.name}"
    if change.replace_reasons:
        text += f"  (replace: {', '.join(change.replace_reasons)} changed)"
    elif change.diff and change.action is Action.UPDATE:
        text += f"  ({', '.join(change.diff)})"
    if change.detail:
        text += f"  [{change.detail}]"
    return text


def _diff_lines(change: Change) -> list[str]:
    before, after = change.before or {}, change.after or {}
    keys = change.diff if change.action in (Action.UPDATE, Action.REPLACE) else sorted(after or before)
    out = []
    for key in keys:
        if change.action is Action.CREATE:
            out.append(f"        {key}: {_value(after.get(key))}")
        elif change.action is Action.DELETE:
            out.append(f"        {key}: {_value(before.get(key))}")
        else:
            out.append(f"        {key}: {_value(before.get(key))} => {_value(after.get(key))}")
    return out


def import_text(plan: ImportPlan) -> str:
    """What ``import`` found: what it adopts, what it did not find, what is tagged but not in the program."""
    lines = [f"environment {plan.env}: blueprint {plan.blueprint}, target {plan.target}"]
    if plan.adopted:
        lines.append("Found in the cloud, to adopt into state as they are (nothing in the cloud changes):")
        for change in plan.adopted:
            line = f"   = import   {change.type}  {change.name}  id {plan.ids.get(change.urn) or '-'}"
            if change.replace_reasons:
                line += f"  [differs from the program: {', '.join(change.diff)}; up replaces it]"
            elif change.diff:
                line += f"  [differs from the program: {', '.join(change.diff)}; up updates it]"
            lines.append(line)
    if plan.missing:
        lines.append("Not found (the next up creates them):")
        lines.extend(f"   + create   {change.type}  {change.name}" for change in plan.missing)
    if plan.unmanaged:
        lines.append(f"Tagged mlplatform:env={plan.env} but not in the program or state (left alone; delete by hand):")
        lines.extend(f"   ? {resource.label}" for resource in plan.unmanaged)
    lines.append(
        f"Import: {len(plan.adopted)} to adopt, {len(plan.missing)} not found, {plan.in_state} already in state"
        + (f", {len(plan.unmanaged)} tagged but unmanaged" if plan.unmanaged else "")
    )
    lines.extend(f"{d.severity}: {d.message}" for d in plan.diagnostics)
    return "\n".join(lines)


def import_result_text(plan: ImportPlan) -> str:
    """The line after an import: what was recorded and what ``up`` will do next."""
    if not plan.imported:
        if plan.adopted:
            return "Nothing was imported."
        return "Nothing to import: no resource of the program that state lacks was found in the cloud."
    differ = sum(1 for change in plan.adopted if change.diff)
    todo = []
    if plan.missing:
        todo.append(f"create the {len(plan.missing)} not found")
    if differ:
        todo.append(f"update the {differ} that differ from the program")
    next_step = f" Run `mlplatform up --env {plan.env}` to {' and '.join(todo)}." if todo else ""
    return f"Imported {len(plan.adopted)} resources into the state of environment {plan.env!r}.{next_step}"


def result_text(result: Result, *, show_secrets: bool = False) -> str:
    """After up/destroy/refresh: summary, failures and skipped steps, outputs."""
    lines = [summary_line(result.summary, planned=False)]
    if result.cancelled:
        lines.append("cancelled: steps in flight finished and were saved; the rest did not start")
    for step in result.failed:
        lines.append(f"FAILED  {step.change.type}  {step.change.name}: {step.error}")
    skipped = [step for step in result.skipped if step.change.custom]
    if skipped:
        lines.append(
            f"skipped {len(skipped)}: "
            + ", ".join(step.change.name for step in skipped[:20])
            + (" ..." if len(skipped) > 20 else "")
            + f" ({skipped[0].error})"
        )
    for operation in result.interrupted:
        lines.append(
            f"recovered: an earlier run was interrupted during {operation['op']} of "
            f"{operation['urn'].rsplit('::', 1)[-1]}"
        )
    lines.extend(f"{d.severity}: {d.message}" for d in result.diagnostics)
    if result.outputs:
        lines.append("Outputs:")
        lines.append(outputs_text(result.outputs, show_secrets=show_secrets, indent="  "))
    return "\n".join(lines)


def outputs_text(outputs: dict[str, Any], *, show_secrets: bool = False, indent: str = "") -> str:
    width = max((len(key) for key in outputs), default=0)
    lines = []
    for key in sorted(outputs):
        value = reveal(outputs[key]) if show_secrets else mask(outputs[key])
        shown = value if isinstance(value, str) else json.dumps(value, default=str)
        lines.append(f"{indent}{key:<{width}}  {shown}")
    return "\n".join(lines) if lines else f"{indent}(no outputs)"


def outputs_json(outputs: dict[str, Any], *, show_secrets: bool = False) -> dict[str, Any]:
    return {key: reveal(value) if show_secrets else mask(value) for key, value in outputs.items()}


class Progress:
    """One line per resource as it finishes, with its action, status and elapsed time; thread-safe.

    Not on a terminal (CI, pipes, ``--json``): plain lines, flushed as they happen. On a terminal: the
    same lines in colour through rich, under a live status line naming the resources still in flight
    and how long each has been running, so a slow endpoint is visible while it is slow. Use it as a
    context manager so the live line is removed at the end.
    """

    def __init__(self, stream: TextIO | None = None, *, live: bool | None = None) -> None:
        self.stream = stream or sys.stdout
        self.lock = threading.Lock()
        self.live = self.stream.isatty() if live is None else live
        self.in_flight: dict[str, tuple[str, float]] = {}
        self.done = 0
        self._console: Any = None
        self._status: Any = None

    def __enter__(self) -> Progress:
        if self.live:
            from rich.console import Console

            self._console = Console(file=self.stream, highlight=False)
            self._status = self._console.status("planning…", spinner="dots")
            self._status.start()
        return self

    def __exit__(self, *_: object) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None

    def __call__(
        self, phase: str, change: Change, status: StepStatus | None, seconds: float, error: str | None
    ) -> None:
        if not change.custom or change.action is Action.SAME:
            return
        with self.lock:
            if phase == "start":
                self.in_flight[change.urn] = (change.name, time.monotonic())
                self._refresh()
                return
            self.in_flight.pop(change.urn, None)
            self.done += 1
            verb = (
                PAST[change.action]
                if status is StepStatus.OK
                else ("FAILED" if status is StepStatus.FAILED else "skipped")
            )
            line = f"{SYMBOLS[change.action]:>2} {verb:<9} {change.type}  {change.name}  ({seconds:.1f}s)"
            if error and status is StepStatus.FAILED:
                line += f"  {error}"
            if self._console is not None:
                from rich.text import Text

                self._console.print(Text(line, style={"FAILED": "red", "skipped": "yellow"}.get(verb, "green")))
                self._refresh()
            else:
                print(line, file=self.stream, flush=True)

    def _refresh(self) -> None:
        if self._status is None:
            return
        now = time.monotonic()
        running = sorted(self.in_flight.values(), key=lambda item: item[1])
        names = ", ".join(f"{name} {now - started:.0f}s" for name, started in running[:4])
        more = f" +{len(running) - 4}" if len(running) > 4 else ""
        self._status.update(f"{self.done} done, {len(running)} in flight: {names}{more}")
