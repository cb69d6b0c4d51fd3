"""``mlplatform preview|up|destroy|refresh``: thin commands over the engine (parse, one call, render)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from contextlib import nullcontext, redirect_stdout
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from mlplatform.cli.common import confirm, open_env
from mlplatform.cli.options import AllowUnprotectedProdOpt, BlueprintOpt, EngineOpt, EnvOpt, JsonOpt, StateDirOpt
from mlplatform.engine.model import PlanMode  # plain data, no SDK import
from mlplatform.errors import EXIT_CANCELLED, EXIT_EXPECT_NO_CHANGES, EXIT_RESOURCE, UsageError

if TYPE_CHECKING:
    from mlplatform.app.workspace import Workspace
    from mlplatform.engine.model import Plan, Result

# The engine, the Pulumi SDK and boto3 are imported inside the commands: `mlplatform --help` and the
# commands that do not deploy must not pay for them.

YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Apply without asking (required when not on a terminal).")]
ParallelOpt = Annotated[
    int, typer.Option("--parallel", "-p", min=1, max=100, help="How many resources to change at once.")
]
RefreshOpt = Annotated[
    bool, typer.Option("--refresh", help="Read every resource's live state first, so drift shows up and is repaired.")
]
DiffOpt = Annotated[bool, typer.Option("--diff", help="Show every changed property by path; creates show every input.")]
TargetOpt = Annotated[
    Optional[list[str]],  # noqa: UP045
    typer.Option(
        "--target",
        "-t",
        help="Only change this resource (repeatable): its URN, its name as plans show it, or <type>::<name>; "
        "others keep their state. An unknown or ambiguous name is an error with suggestions.",
    ),
]


def _targets(values: list[str] | None) -> frozenset[str] | None:
    return frozenset(values) if values else None


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


def _context(workspace: Workspace, plan: Plan) -> str:
    """The notes the environment adds to a plan, and the line naming project, state folder and blueprint."""
    from mlplatform.engine.model import Diagnostic
    from mlplatform.render.context import workspace_line

    resolved = workspace.resolved
    notes: list[Diagnostic] = []
    if plan.mode is not PlanMode.DESTROY:  # how the spec was made does not matter to what destroy deletes
        notes += [Diagnostic("warning", text) for text in resolved.warnings]
        notes += [Diagnostic("info", text) for text in resolved.notes]
    if workspace.emulator_restarted:
        notes.append(
            Diagnostic(
                "info",
                "the emulator was restarted since the last deploy (it keeps nothing): every resource was checked",
            )
        )
    plan.diagnostics[:0] = notes
    return workspace_line(
        project=workspace.project,
        state_dir=workspace.state_dir,
        env=workspace.resolved.env,
        blueprint=workspace.resolved.spec.blueprint,
        blueprint_source=workspace.resolved.blueprint_source,
    )


def _show(workspace: Workspace, plan: Plan, *, as_json: bool, diff: bool) -> None:
    """Print a plan: the JSON document on stdout, or the context line and the text plan (stderr under --json)."""
    from mlplatform.render.plan import plan_text, use_color

    context = _context(workspace, plan)
    if as_json:
        typer.echo(json.dumps(plan.as_dict(), indent=2, default=str))
    else:
        typer.echo(context)
        typer.echo(plan_text(plan, show_diff=diff, color=use_color(sys.stdout)))


def preview(
    env: EnvOpt = "local",
    blueprint: BlueprintOpt = None,
    diff: DiffOpt = False,
    as_json: JsonOpt = False,
    detailed_exitcode: Annotated[
        bool,
        typer.Option(
            "--detailed-exitcode",
            help="Exit 0 when nothing would change, 2 when something would, 1 on any error (Terraform's contract).",
        ),
    ] = False,
    expect_no_changes: Annotated[
        bool, typer.Option("--expect-no-changes", help="Exit 7 if anything would change.")
    ] = False,
    refresh: RefreshOpt = False,
    target: TargetOpt = None,
    state_dir: StateDirOpt = None,
    allow_unprotected_prod: AllowUnprotectedProdOpt = False,
    engine: EngineOpt = None,
) -> None:
    """Show what `up` would change, without changing anything.

    For target local the emulator is started if it is not running (and the command says so). --diff shows
    every changed property by path (`rules[0].noncurrentVersionExpiration.noncurrentDays: 90 => 30`). --json
    prints the versioned plan document (format_version, summary, changes with before, after and
    property_diff; docs/plan-json.md). A plan with errors (a delete that would fail, e.g. a bucket that
    still holds data) exits 4. With --detailed-exitcode the exit code is 0 (no changes), 2 (changes) or 1
    (any error, also an invalid spec or flag, which otherwise exit 2). Active security overrides are named
    as warnings (diagnostics in --json).
    """
    workspace = open_env(env, blueprint, state_dir, allow_unprotected_prod=allow_unprotected_prod, engine=engine)
    plan = workspace.engine.preview(
        workspace.stack, refresh=refresh or workspace.emulator_restarted, targets=_targets(target)
    )
    _show(workspace, plan, as_json=as_json, diff=diff)
    if plan.errors:  # the plan cannot be applied as shown (a delete that would fail, resources that already exist)
        if not as_json:
            typer.echo(f"error: the plan has errors: {len(plan.errors)} planned change(s) would fail", err=True)
        raise typer.Exit(1 if detailed_exitcode else EXIT_RESOURCE)
    if expect_no_changes and plan.has_changes:
        raise typer.Exit(EXIT_EXPECT_NO_CHANGES)
    if detailed_exitcode:
        raise typer.Exit(2 if plan.has_changes else 0)


def _approver(workspace: Workspace, *, yes: bool, as_json: bool, diff: bool, question: str) -> Callable[[Plan], bool]:
    """The engine's ``approve`` callback: show the plan, then go on only with --yes or a yes at the prompt.

    The plan is always shown, also with --yes (like ``terraform apply -auto-approve`` and ``pulumi up
    --yes``), so a blueprint change that deletes half the platform is never applied unseen.
    """

    def approve(plan: Plan) -> bool:
        with redirect_stdout(sys.stderr) if as_json else nullcontext():
            _show(workspace, plan, as_json=False, diff=diff)
        if plan.errors:
            return False
        # Without --yes, nothing to change ends here; with it the run goes on (it records bookkeeping, and a
        # JSON reader gets the result document either way).
        if not plan.has_changes and not yes:
            if as_json:  # nothing will run: the plan is the document (JSON readers always get one)
                typer.echo(json.dumps(plan.as_dict(), indent=2, default=str))
            return False
        confirm(question, yes)
        return True

    return approve


def up(
    env: EnvOpt = "local",
    blueprint: BlueprintOpt = None,
    yes: YesOpt = False,
    parallel: ParallelOpt = 10,
    refresh: RefreshOpt = False,
    target: TargetOpt = None,
    diff: DiffOpt = False,
    skip_preview: Annotated[
        bool,
        typer.Option(
            "--skip-preview", help="Apply without making and showing the plan first (needs --yes; like Pulumi's)."
        ),
    ] = False,
    as_json: JsonOpt = False,
    state_dir: StateDirOpt = None,
    allow_unprotected_prod: AllowUnprotectedProdOpt = False,
    engine: EngineOpt = None,
) -> None:
    """Create or update the environment's platform until it matches the blueprint and overrides.

    Shows the plan first (also with --yes; --diff: with every changed property), then asks unless --yes. A
    plan with errors is not applied (exit 4, nothing changed). Prints one line per resource as it changes,
    then a summary (created, failed, skipped, unchanged) and the outputs. Exit 4 when a resource fails (what
    succeeded is saved; run up again to finish), 8 when interrupted with Ctrl-C (steps in flight finish and
    are saved). With --json the plan goes to stderr, the result to stdout. Active security overrides are
    named as warnings with the plan.
    """
    from mlplatform.render.plan import Progress

    if skip_preview and not yes:
        raise UsageError("--skip-preview applies without showing a plan, so it needs --yes.")
    progress = Progress(sys.stderr if as_json else sys.stdout)
    workspace = open_env(
        env,
        blueprint,
        state_dir,
        parallel=parallel,
        events=progress,
        allow_unprotected_prod=allow_unprotected_prod,
        engine=engine,
    )
    approve = _approver(workspace, yes=yes, as_json=as_json, diff=diff, question="Do you want to perform this update?")
    with progress:
        result = workspace.engine.up(
            workspace.stack,
            refresh=refresh or workspace.emulator_restarted,
            targets=_targets(target),
            approve=None if skip_preview else approve,
        )
    if result is None:
        return  # nothing to change, and no --yes to run anyway
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
    allow_unprotected_prod: AllowUnprotectedProdOpt = False,
    engine: EngineOpt = None,
) -> None:
    """Delete every resource of the environment, dependents first.

    Shows what will be deleted first (also with --yes). With --target, only those resources and everything
    that depends on them (the plan names them); an unknown target is an error with suggestions (exit 2).
    Protected resources (protect: true, the default for target aws) are refused. Buckets and repositories
    that still hold data are deleted only when the environment allows it (allow_destroy_data; on for
    local): otherwise the plan has an error and nothing is deleted (exit 4).
    """
    from mlplatform.render.plan import Progress

    progress = Progress(sys.stderr if as_json else sys.stdout)
    workspace = open_env(
        env,
        None,
        state_dir,
        parallel=parallel,
        events=progress,
        allow_unprotected_prod=allow_unprotected_prod,
        engine=engine,
    )
    targets = _targets(target)
    what = "delete the resources above of" if targets else "destroy"
    approve = _approver(
        workspace, yes=yes, as_json=as_json, diff=False, question=f"Do you want to {what} environment {env!r}?"
    )
    with progress:
        result = workspace.engine.destroy(workspace.stack, targets=targets, approve=approve)
    if result is not None:
        _finish(result, as_json)


def refresh(
    env: EnvOpt = "local", as_json: JsonOpt = False, state_dir: StateDirOpt = None, engine: EngineOpt = None
) -> None:
    """Read every resource's live state into the environment's state (changes nothing in the cloud).

    Resources deleted outside mlplatform leave state; changed ones are noted, and the next preview shows
    the update that restores them.
    """
    workspace = open_env(env, None, state_dir, engine=engine)
    result = workspace.engine.refresh(workspace.stack)
    if as_json:
        typer.echo(json.dumps(result.as_dict(), indent=2, default=str))
        return
    drifted = [step.change for step in result.steps if step.change.detail]
    for change in drifted:
        typer.echo(f"  {change.type}  {change.name}: {change.detail}")
    typer.echo(f"refreshed {len(result.steps)} resources; {len(drifted)} changed outside mlplatform")
