"""Plans, results, progress and outputs for people (text) and programs (JSON)."""

from __future__ import annotations

import json
import sys
import threading
from typing import Any, TextIO

from mlplatform.engine.model import Action, Change, Plan, Result, StepStatus
from mlplatform.engine.values import mask, reveal

SYMBOLS = {
    Action.CREATE: "+",
    Action.UPDATE: "~",
    Action.REPLACE: "+-",
    Action.DELETE: "-",
    Action.SAME: " ",
    Action.READ: "=",
}
PAST = {
    Action.CREATE: "created",
    Action.UPDATE: "updated",
    Action.REPLACE: "replaced",
    Action.DELETE: "deleted",
    Action.SAME: "unchanged",
    Action.READ: "read",
}
PRESENT = {
    Action.CREATE: "creating",
    Action.UPDATE: "updating",
    Action.REPLACE: "replacing",
    Action.DELETE: "deleting",
    Action.SAME: "checking",
    Action.READ: "reading",
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
    """One line per resource as it finishes (plain lines; colour on a terminal), thread-safe."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout
        self.lock = threading.Lock()
        self.color = self.stream.isatty()

    def __call__(
        self, phase: str, change: Change, status: StepStatus | None, seconds: float, error: str | None
    ) -> None:
        if not change.custom or change.action is Action.SAME:
            return
        if phase == "start":
            return  # one line per resource: printed when it ends, with its status and time
        verb = (
            PAST[change.action] if status is StepStatus.OK else ("FAILED" if status is StepStatus.FAILED else "skipped")
        )
        line = f"{SYMBOLS[change.action]:>2} {verb:<9} {change.type}  {change.name}  ({seconds:.1f}s)"
        if error and status is StepStatus.FAILED:
            line += f"  {error}"
        if self.color:
            code = {"FAILED": "31", "skipped": "33"}.get(verb, "32")
            line = f"\x1b[{code}m{line}\x1b[0m"
        with self.lock:
            print(line, file=self.stream, flush=True)
