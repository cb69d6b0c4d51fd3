"""``mlplatform preview|up|destroy|refresh``: thin commands over the engine (parse, one call, render)."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from mlplatform import paths
from mlplatform.cli.options import BlueprintOpt, EnvOpt, JsonOpt, StateDirOpt
from mlplatform.errors import EXIT_CANCELLED, EXIT_EXPECT_NO_CHANGES, EXIT_RESOURCE, CancelledError, UsageError

if TYPE_CHECKING:
    from mlplatform.engine.model import Plan, Result
    from mlplatform.engine.workspace import Workspace

# The engine, the Pulumi SDK and boto3 are imported inside the commands: `mlplatform --help` and the
# commands that do not deploy must not pay for them.

YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Apply without asking (required when not on a terminal).")]
ParallelOpt = Annotated[
    int, typer.Option("--parallel", "-p", min=1, max=100, help="How many resources to change at once.")
]
RefreshOpt = Annotated[
    bool, typer.Option("--refresh", help="Read every resource's live state first, so drift shows up and is repaired.")
]
TargetOpt = Annotated[
    Optional[list[str]],  # noqa: UP045
    typer.Option("--target", "-t", help="Only change this resource URN (repeatable); others keep their state."),
]


def _targets(values: list[str] | None) -> frozenset[str] | None:
    return frozenset(values) if values else None


def _confirm(question: str, yes: bool, *, changing: str = "infrastructure") -> None:
    """Non-interactive runs never change anything without --yes (DESIGN.md §8)."""
    if yes:
        return
    if not sys.stdin.isatty():
        raise UsageError(
            f"refusing to change {changing} without confirmation: stdin is not a terminal.",
            hint="Pass --yes to apply non-interactively.",
        )
    if not typer.confirm(question, default=False):
        raise CancelledError("nothing was changed.")


def _finish(result: Result, as_json: bool) -> None:
    from mlplatform.render.plan import result_text

    if as_json:
        typer.echo(json.dumps(result.as_dict(), indent=2, default=str))
    else:
        typer.echo(result_text(result))
    if result.cancelled:
        raise typer.Exit(EXIT_CANCELLED)
    if result.failed:
        raise typer.Exit(EXIT_RESOURCE)


def preview(
    env: EnvOpt = "local",
    blueprint: BlueprintOpt = None,
    diff: Annotated[bool, typer.Option("--diff", help="Show the changed properties of every change.")] = False,
    as_json: JsonOpt = False,
    detailed_exitcode: Annotated[
        bool, typer.Option("--detailed-exitcode", help="Exit 0 when nothing would change, 2 when something would.")
    ] = False,
    expect_no_changes: Annotated[
        bool, typer.Option("--expect-no-changes", help="Exit 7 if anything would change.")
    ] = False,
    refresh: RefreshOpt = False,
    target: TargetOpt = None,
    state_dir: StateDirOpt = None,
) -> None:
    """Show what `up` would change, without changing anything.

    For target local the emulator is started if it is not running. --json prints the versioned plan
    document (format_version, summary, changes).
    """
    from mlplatform.engine.workspace import open_workspace
    from mlplatform.render.plan import plan_text

    workspace = open_workspace(env, blueprint, paths.state_dir(state_dir))
    plan = workspace.engine.preview(
        workspace.stack, refresh=refresh or workspace.emulator_restarted, targets=_targets(target)
    )
    _note_restart(workspace, plan)
    typer.echo(json.dumps(plan.as_dict(), indent=2, default=str) if as_json else plan_text(plan, show_diff=diff))
    if plan.errors:  # the plan cannot be applied as shown (e.g. its resources already exist)
        raise typer.Exit(1 if detailed_exitcode else EXIT_RESOURCE)
    if expect_no_changes and plan.has_changes:
        raise typer.Exit(EXIT_EXPECT_NO_CHANGES)
    if detailed_exitcode:
        raise typer.Exit(2 if plan.has_changes else 0)


def _note_restart(workspace: Workspace, plan: Plan) -> None:
    from mlplatform.engine.model import Diagnostic

    if workspace.emulator_restarted:
        plan.diagnostics.insert(
            0,
            Diagnostic(
                "info",
                "the emulator was restarted since the last deploy (it keeps nothing): every resource was checked",
            ),
        )


def up(
    env: EnvOpt = "local",
    blueprint: BlueprintOpt = None,
    yes: YesOpt = False,
    parallel: ParallelOpt = 10,
    refresh: RefreshOpt = False,
    target: TargetOpt = None,
    as_json: JsonOpt = False,
    state_dir: StateDirOpt = None,
) -> None:
    """Create or update the environment's platform until it matches the blueprint and overrides.

    Without --yes, shows the preview and asks first. Prints one line per resource as it changes, then a
    summary and the outputs. Exit 4 when a resource fails (what succeeded is saved; run up again to
    finish), 8 when interrupted with Ctrl-C (steps in flight finish and are saved).
    """
    from mlplatform.engine.workspace import open_workspace
    from mlplatform.render.plan import Progress, plan_text

    progress = Progress(sys.stderr if as_json else sys.stdout)
    workspace = open_workspace(env, blueprint, paths.state_dir(state_dir), parallel=parallel, events=progress)
    refresh = refresh or workspace.emulator_restarted
    if not yes:
        plan = workspace.engine.preview(workspace.stack, refresh=refresh, targets=_targets(target))
        _note_restart(workspace, plan)
        typer.echo(plan_text(plan))
        if plan.errors:
            raise typer.Exit(EXIT_RESOURCE)
        if not plan.has_changes:
            return
        _confirm("Do you want to perform this update?", yes)
    with progress:
        result = workspace.engine.up(workspace.stack, refresh=refresh, targets=_targets(target))
    workspace.remember_emulator_session()
    _finish(result, as_json)


DestroyTargetOpt = Annotated[
    Optional[list[str]],  # noqa: UP045
    typer.Option(
        "--target",
        "-t",
        help="Delete only this resource (URN or name as plans show it; repeatable) and everything that depends on it.",
    ),
]


def destroy(
    env: EnvOpt = "local",
    yes: YesOpt = False,
    parallel: ParallelOpt = 10,
    target: DestroyTargetOpt = None,
    as_json: JsonOpt = False,
    state_dir: StateDirOpt = None,
) -> None:
    """Delete every resource of the environment, dependents first.

    With --target, only those resources and everything that depends on them (the plan names them); an
    unknown target is an error with suggestions (exit 2). Protected resources (protect: true, the default
    for target aws) are refused. Buckets that still hold data are deleted only when the environment allows
    it (allow_destroy_data; on for local).
    """
    from mlplatform.engine.workspace import open_workspace
    from mlplatform.render.plan import Progress, plan_text

    progress = Progress(sys.stderr if as_json else sys.stdout)
    workspace = open_workspace(env, None, paths.state_dir(state_dir), parallel=parallel, events=progress)
    targets = _targets(target)
    plan = workspace.engine.preview_destroy(workspace.stack, targets=targets)
    if not yes:
        typer.echo(plan_text(plan))
        if not plan.has_changes:
            return
        what = f"delete these {plan.summary['delete']} resources of" if targets else "destroy"
        _confirm(f"Do you want to {what} environment {env!r}?", yes)
    with progress:
        result = workspace.engine.destroy(workspace.stack, targets=targets)
    _finish(result, as_json)


def refresh(env: EnvOpt = "local", as_json: JsonOpt = False, state_dir: StateDirOpt = None) -> None:
    """Read every resource's live state into the environment's state (changes nothing in the cloud).

    Resources deleted outside mlplatform leave state; changed ones are noted, and the next preview shows
    the update that restores them.
    """
    from mlplatform.engine.workspace import open_workspace

    workspace = open_workspace(env, None, paths.state_dir(state_dir))
    result = workspace.engine.refresh(workspace.stack)
    if as_json:
        typer.echo(json.dumps(result.as_dict(), indent=2, default=str))
        return
    drifted = [step.change for step in result.steps if step.change.detail]
    for change in drifted:
        typer.echo(f"  {change.type}  {change.name}: {change.detail}")
    typer.echo(f"refreshed {len(result.steps)} resources; {len(drifted)} changed outside mlplatform")
