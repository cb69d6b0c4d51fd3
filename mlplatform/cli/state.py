"""``mlplatform outputs``, ``mlplatform state list|show|rm`` and ``mlplatform unlock``: reading and repairing
state, through the engine (:class:`~mlplatform.engine.model.Engine`), never its files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from mlplatform import paths
from mlplatform.cli.options import EnvOpt, JsonOpt, StateDirOpt
from mlplatform.errors import EnvNotFoundError
from mlplatform.spec.names import check_env_name

if TYPE_CHECKING:
    from mlplatform.engine.model import Engine, StackState, StateResource

app = typer.Typer(help="Inspect an environment's state, and forget resources in it.", no_args_is_help=True)


def outputs(
    env: EnvOpt = "local",
    as_json: JsonOpt = False,
    show_secrets: Annotated[bool, typer.Option("--show-secrets", help="Print secret values in plaintext.")] = False,
    state_dir: StateDirOpt = None,
) -> None:
    """Print the environment's outputs (bucket names, role ARNs, endpoints...). Secrets show as [secret]."""
    from mlplatform.render.plan import outputs_json, outputs_text

    snapshot = _state(env, state_dir)
    _warn_unfinished(snapshot.last_run)
    values = snapshot.outputs
    if as_json:
        typer.echo(json.dumps(outputs_json(values, show_secrets=show_secrets), indent=2, default=str))
    else:
        typer.echo(outputs_text(values, show_secrets=show_secrets))


@app.command("list")
def list_(env: EnvOpt = "local", as_json: JsonOpt = False, state_dir: StateDirOpt = None) -> None:
    """List the resources in the environment's state: URN, type, id."""
    snapshot = _state(env, state_dir)
    if as_json:
        rows = [{"urn": r.urn, "type": r.type, "id": r.id, "protect": r.protect} for r in snapshot.resources]
        typer.echo(
            json.dumps(
                {
                    "env": env,
                    "serial": snapshot.serial,
                    "lineage": snapshot.lineage,
                    "blueprint": snapshot.blueprint,
                    "resources": rows,
                },
                indent=2,
            )
        )
        return
    if not snapshot.resources:
        typer.echo(f"environment {env!r} has no resources in state")
        return
    for resource in snapshot.resources:
        marker = " (protected)" if resource.protect else ""
        typer.echo(f"{resource.type:<60} {resource.id or '-':<40} {resource.urn}{marker}")
    typer.echo(f"{len(snapshot.resources)} resources, serial {snapshot.serial}, blueprint {snapshot.blueprint}")


def _engine(env: str, state_dir: Path | None) -> Engine:
    from mlplatform.app.workspace import state_engine

    return state_engine(paths.state_dir(state_dir), check_env_name(env))


def _state(env: str, state_dir: Path | None) -> StackState:
    """The environment's state; an environment that was never deployed here is an error that names where
    mlplatform looked (a command run from another folder finds another project, or none)."""
    folder = paths.state_dir(state_dir)
    found = _engine(env, state_dir).state(check_env_name(env))
    if found is None:
        raise EnvNotFoundError(
            f"environment {env!r} has no state in {folder}: nothing was deployed from project {paths.project_dir()}.",
            hint=f"Deploy it with `mlplatform up --env {env}`, or run from the project's folder (or pass -C DIR).",
        )
    return found


def _warn_unfinished(last_run: dict[str, Any] | None) -> None:
    """Outputs are the program's: after a run that did not finish, say what they do not show."""
    if not last_run or last_run.get("status") == "ok":
        return
    left = [urn.rsplit("::", 1)[-1] for urn in last_run.get("not_deleted") or []]
    message = (
        f"warning: the last `{last_run.get('command')}` did not finish ({last_run.get('status')}: "
        f"{last_run.get('failed', 0)} failed, {last_run.get('skipped', 0)} skipped)"
    )
    if left:
        shown = ", ".join(left[:10]) + (f" and {len(left) - 10} more" if len(left) > 10 else "")
        message += f"; still deployed although the outputs no longer list them: {shown}"
    typer.echo(message + ". Run it again to finish.", err=True)


ResourceArg = Annotated[
    str,
    typer.Argument(
        metavar="URN",
        help="The resource: its URN, or its name as plans show it (e.g. artifact-store-artifacts-bucket).",
    ),
]


@app.command("show")
def show(
    resource: ResourceArg,
    env: EnvOpt = "local",
    as_json: JsonOpt = False,
    show_secrets: Annotated[bool, typer.Option("--show-secrets", help="Print secret values in plaintext.")] = False,
    state_dir: StateDirOpt = None,
) -> None:
    """Show one resource's state: type, id, parent, provider, dependencies, protect, times, inputs, outputs.

    Secrets show as [secret] unless --show-secrets. A name that matches nothing gets suggestions (exit 2).
    """
    from mlplatform.render.state import resource_json, resource_text

    record = _engine(env, state_dir).resource(check_env_name(env), resource).details
    if as_json:
        typer.echo(json.dumps(resource_json(record, show_secrets=show_secrets), indent=2, default=str))
    else:
        typer.echo(resource_text(record, show_secrets=show_secrets))


@app.command("rm")
def rm(
    resources: Annotated[
        list[str], typer.Argument(metavar="URN...", help="Resources to forget: URNs or names as plans show them.")
    ],
    env: EnvOpt = "local",
    target_dependents: Annotated[
        bool, typer.Option("--target-dependents", help="Also forget every resource that depends on them.")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask (required when not on a terminal).")] = False,
    state_dir: StateDirOpt = None,
) -> None:
    """Forget resources: remove them from state without deleting them in the cloud.

    Refused (exit 2) when other resources in state depend on one of them, unless those are named too or
    --target-dependents is given. Afterwards mlplatform no longer manages them: `up` would create new ones
    (or run `mlplatform import` to adopt them again).
    """
    from mlplatform.cli.common import confirm as ask

    def confirm(records: list[StateResource]) -> bool:
        for record in records:
            typer.echo(f"  - forget  {record.type}  {record.name}  {record.id or '-'}")
        question = f"Remove these {len(records)} resources from the state of {env!r} (the cloud keeps them)?"
        ask(question, yes, changing="the environment's state")
        return True

    removed = _engine(env, state_dir).forget(
        check_env_name(env), resources, with_dependents=target_dependents, confirm=confirm
    )
    typer.echo(f"removed {len(removed)} resources from the state of environment {env!r}; nothing was deleted")


def unlock(env: EnvOpt = "local", state_dir: StateDirOpt = None) -> None:
    """Remove the environment's lock left by a run that died (check that no run is still going first).

    For an environment the Pulumi engine deploys this is `pulumi cancel` (also `mlplatform cancel`).
    """
    from mlplatform.app.workspace import deploys_with_pulumi

    if deploys_with_pulumi(check_env_name(env), paths.state_dir(state_dir)):
        typer.echo(
            "warning: this cancels the stack's Pulumi update (`pulumi cancel`); if that run is in fact still going, "
            "its in-flight operations stay unfinished in the stack (the next `mlplatform up` names them)",
            err=True,
        )
    holder = _engine(env, state_dir).unlock(check_env_name(env))
    if holder is None:
        typer.echo(f"environment {env!r} was not locked")
    else:
        typer.echo(f"removed the lock of environment {env!r} held by {holder}")
