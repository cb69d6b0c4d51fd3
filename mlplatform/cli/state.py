"""``mlplatform outputs``, ``mlplatform state list`` and ``mlplatform unlock``: reading and repairing state."""

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
    from mlplatform.engine.embedded.state import Snapshot

app = typer.Typer(help="Inspect an environment's state.", no_args_is_help=True)


def outputs(
    env: EnvOpt = "local",
    as_json: JsonOpt = False,
    show_secrets: Annotated[bool, typer.Option("--show-secrets", help="Print secret values in plaintext.")] = False,
    state_dir: StateDirOpt = None,
) -> None:
    """Print the environment's outputs (bucket names, role ARNs, endpoints...). Secrets show as [secret]."""
    from mlplatform.render.plan import outputs_json, outputs_text

    snapshot = _snapshot(env, state_dir)
    _warn_unfinished(snapshot.last_run)
    values = snapshot.outputs
    if as_json:
        typer.echo(json.dumps(outputs_json(values, show_secrets=show_secrets), indent=2, default=str))
    else:
        typer.echo(outputs_text(values, show_secrets=show_secrets))


@app.command("list")
def list_(env: EnvOpt = "local", as_json: JsonOpt = False, state_dir: StateDirOpt = None) -> None:
    """List the resources in the environment's state: URN, type, id."""
    snapshot = _snapshot(env, state_dir)
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


def _snapshot(env: str, state_dir: Path | None) -> Snapshot:
    """The environment's state; an environment that was never deployed here is an error that names where
    mlplatform looked (a command run from another folder finds another project, or none)."""
    from mlplatform.engine.embedded.state import StateStore

    folder = paths.state_dir(state_dir)
    store = StateStore(folder, check_env_name(env))
    if not store.snapshot_path.exists() and not store.journal_path.exists():
        raise EnvNotFoundError(
            f"environment {env!r} has no state in {folder}: nothing was deployed from project {paths.project_dir()}.",
            hint=f"Deploy it with `mlplatform up --env {env}`, or run from the project's folder (or pass -C DIR).",
        )
    return store.load().snapshot


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


def unlock(env: EnvOpt = "local", state_dir: StateDirOpt = None) -> None:
    """Remove the environment's lock left by a run that died (check that no run is still going first)."""
    from mlplatform.engine.embedded.state import StateStore

    holder = StateStore(paths.state_dir(state_dir), check_env_name(env)).force_unlock()
    if holder is None:
        typer.echo(f"environment {env!r} was not locked")
    else:
        typer.echo(f"removed the lock of environment {env!r} held by {holder.describe()}")
