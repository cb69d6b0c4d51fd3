"""Plans, results, progress and outputs for people (text) and programs (JSON)."""

from __future__ import annotations

import difflib
import json
import os
import sys
import threading
import time
from typing import Any, TextIO

from mlplatform.engine.diff import ADD, DELETE, UPDATE, PropertyDiff, property_diff
from mlplatform.engine.model import Action, Change, ImportPlan, Plan, PlanMode, Result, StepStatus
from mlplatform.engine.values import COMPUTED_MASK, SECRET_MASK, mask, normalize, reveal

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


# ANSI colours per action (green create, yellow update, magenta replace, red delete) and per diff line.
_COLOURS = {
    Action.CREATE: "32",
    Action.UPDATE: "33",
    Action.REPLACE: "35",
    Action.DELETE: "31",
    Action.READ: "36",
}
_KIND_SYMBOLS = {ADD: "+", DELETE: "-", UPDATE: "~"}
_KIND_COLOURS = {ADD: "32", DELETE: "31", UPDATE: "33"}
_LONG = 80  # an updated value longer than this shows its difference with the common part shortened
_CONTEXT = 24  # characters kept on each side of a difference in a shortened value
_DIFF_INDENT = " " * 6


def use_color(stream: TextIO) -> bool:
    """Colour only on a terminal, and never when ``NO_COLOR`` is set (https://no-color.org)."""
    if os.environ.get("NO_COLOR"):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def _paint(text: str, colour: str | None, color: bool) -> str:
    return f"\x1b[{colour}m{text}\x1b[0m" if color and colour else text


def _value(value: Any) -> str:
    """One masked value as the diff shows it: JSON, except the secret and unknown markers."""
    if value in (SECRET_MASK, COMPUTED_MASK):
        return str(value)
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


def summary_line(summary: dict[str, int], *, planned: bool) -> str:
    """``Resources: 2 to create, 40 unchanged`` (a plan) or ``Resources: 58 created, 1 failed, ...`` (a run)."""
    words = (
        ("create", "to create" if planned else "created"),
        ("update", "to update" if planned else "updated"),
        ("replace", "to replace" if planned else "replaced"),
        ("delete", "to delete" if planned else "deleted"),
        ("failed", "failed"),
        ("skipped", "skipped"),
    )
    parts = [f"{summary[key]} {word}" for key, word in words if summary.get(key)]
    parts.append(f"{summary.get('same', 0)} unchanged")
    return "Resources: " + ", ".join(parts)


def plan_text(plan: Plan, *, show_diff: bool = False, color: bool = False) -> str:
    """The human preview: a header, one line per change, the summary, diagnostics.

    Args:
        plan: the plan to show.
        show_diff: under each change, its properties (``--diff``): the leaves an update or replacement
            changes, every input of a create, every recorded input of a delete.
        color: ANSI colours (the CLI passes :func:`use_color`).
    """
    lines = []
    if plan.previous_blueprint and plan.blueprint and plan.previous_blueprint != plan.blueprint:
        lines.append(f"blueprint {plan.previous_blueprint} -> {plan.blueprint} (environment {plan.env})")
    else:
        lines.append(f"environment {plan.env}: blueprint {plan.blueprint}, target {plan.target}")
    changes = [change for change in plan.changes if change.custom and change.action is not Action.SAME]
    if not changes:
        lines.append(
            f"Nothing to destroy: environment {plan.env} has no resources in state."
            if plan.mode is PlanMode.DESTROY
            else "No changes: the infrastructure matches the program."
        )
    for change in changes:
        lines.append(_paint(_change_line(change), _COLOURS.get(change.action), color))
        if show_diff:
            lines.extend(diff_lines(change, color=color))
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


def entries_of(change: Change) -> list[PropertyDiff]:
    """The property diff a change shows: the engine's for updates, every input for creates and deletes."""
    if change.action is Action.CREATE:
        return property_diff(None, change.after)
    if change.action is Action.DELETE:
        return property_diff(change.before, None)
    if change.property_diff or not change.diff:
        return list(change.property_diff)
    # A change made without a property diff (older producers): diff the masked values of its keys.
    return property_diff(change.before, change.after, change.diff)


def diff_lines(change: Change, *, color: bool = False) -> list[str]:
    """The lines under a change in ``--diff``: one per property path, nothing cut from a difference."""
    out: list[str] = []
    for entry in entries_of(change):
        symbol = _KIND_SYMBOLS[entry.kind]
        note = "  (forces replacement)" if entry.key in change.replace_reasons else ""
        if entry.kind == ADD:
            text = [f"{symbol} {entry.path}: {_value(entry.after)}{note}"]
        elif entry.kind == DELETE:
            text = [f"{symbol} {entry.path}: {_value(entry.before)}{note}"]
        else:
            text = _update_lines(entry, symbol, note)
        out.append(_DIFF_INDENT + _paint(text[0], _KIND_COLOURS[entry.kind], color))
        out.extend(_DIFF_INDENT + line for line in text[1:])
    return out


def _update_lines(entry: PropertyDiff, symbol: str, note: str) -> list[str]:
    before, after = entry.before, entry.after
    if isinstance(before, str) and isinstance(after, str) and ("\n" in before or "\n" in after):
        # Multi-line text (a buildspec, a script): a line diff, as git shows it.
        lines = [f"{symbol} {entry.path}:{note}"]
        for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=1):
            if line.startswith(("---", "+++")):
                continue
            lines.append("    " + ("..." if line.startswith("@@") else line))
        return lines
    old, new = _shorten(_value(before), _value(after))
    return [f"{symbol} {entry.path}: {old} => {new}{note}"]


def _shorten(old: str, new: str) -> tuple[str, str]:
    """Two long values with their common start and end cut down to some context; the difference is kept whole."""
    if len(old) <= _LONG and len(new) <= _LONG:
        return old, new
    prefix = _common(old, new)
    suffix = min(_common(old[::-1], new[::-1]), min(len(old), len(new)) - prefix)
    head = max(0, prefix - _CONTEXT)
    tail = max(0, suffix - _CONTEXT)

    def cut(text: str) -> str:
        return ("…" if head else "") + text[head : len(text) - tail] + ("…" if tail else "")

    return cut(old), cut(new)


def _common(a: str, b: str) -> int:
    """Length of the common start of ``a`` and ``b``."""
    for index, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return index
    return min(len(a), len(b))


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
    """After up/destroy/refresh: summary, failures and skipped steps, a hint when it did not finish, outputs."""
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
    hint = _again_hint(result)
    if hint:
        lines.append(hint)
    return "\n".join(lines)


def _again_hint(result: Result) -> str | None:
    """What to do after a run that did not finish: run the same command again (state kept what succeeded)."""
    if result.mode is PlanMode.REFRESH or not (result.failed or result.cancelled):
        return None
    verb = "destroy" if result.mode is PlanMode.DESTROY else "up"
    command = f"mlplatform {verb}" + ("" if result.env == "local" else f" --env {result.env}")
    if result.failed:
        return f"hint: fix the error above and run `{command}` again: what succeeded is saved"
    return f"hint: run `{command}` again to finish: what succeeded is saved"


def outputs_text(outputs: dict[str, Any], *, show_secrets: bool = False, indent: str = "") -> str:
    """``key  value`` lines, sorted by key; secrets masked unless ``show_secrets``."""
    width = max((len(key) for key in outputs), default=0)
    lines = []
    for key in sorted(outputs):
        value = _shown_output(outputs[key], show_secrets)
        shown = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
        lines.append(f"{indent}{key:<{width}}  {shown}")
    return "\n".join(lines) if lines else f"{indent}(no outputs)"


def outputs_json(outputs: dict[str, Any], *, show_secrets: bool = False) -> dict[str, Any]:
    """The outputs as a JSON object with keys sorted at every level (stable output) and ints as ints."""
    return {key: _sorted(_shown_output(outputs[key], show_secrets)) for key in sorted(outputs)}


def _shown_output(value: Any, show_secrets: bool) -> Any:
    # normalize: outputs saved before numbers were normalised at the engine boundary hold 2.0 for 2.
    return normalize(reveal(value)) if show_secrets else mask(value)


def _sorted(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _sorted(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [_sorted(item) for item in value]
    return value


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
        return self

    def _start_live(self) -> None:
        # Started by the first step, not on entering: the plan and the confirmation prompt come first, and a
        # spinner redrawing over the prompt would garble it.
        if self.live and self._status is None:
            from rich.console import Console

            self._console = Console(file=self.stream, highlight=False)
            self._status = self._console.status("applying…", spinner="dots")
            self._status.start()

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
            self._start_live()
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
