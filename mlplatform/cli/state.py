"""``mlplatform outputs``, ``mlplatform state list`` and ``mlplatform unlock``: reading and repairing state."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from mlplatform import paths
from mlplatform.cli.options import EnvOpt, JsonOpt, StateDirOpt
from mlplatform.spec.names import check_env_name

app = typer.Typer(help="Inspect an environment's state.", no_args_is_help=True)


def outputs(
    env: EnvOpt = "local",
    as_json: JsonOpt = False,
    show_secrets: Annotated[bool, typer.Option("--show-secrets", help="Print secret values in plaintext.")] = False,
    state_dir: StateDirOpt = None,
) -> None:
    """Print the environment's outputs (bucket names, role ARNs, endpoints...). Secrets show as [secret]."""
    from mlplatform.engine.embedded.state import StateStore
    from mlplatform.render.plan import outputs_json, outputs_text

    values = StateStore(paths.state_dir(state_dir), check_env_name(env)).load().snapshot.outputs
    if as_json:
        typer.echo(json.dumps(outputs_json(values, show_secrets=show_secrets), indent=2, default=str))
    else:
        typer.echo(outputs_text(values, show_secrets=show_secrets))


@app.command("list")
def list_(env: EnvOpt = "local", as_json: JsonOpt = False, state_dir: StateDirOpt = None) -> None:
    """List the resources in the environment's state: URN, type, id."""
    from mlplatform.engine.embedded.state import StateStore

    snapshot = StateStore(paths.state_dir(state_dir), check_env_name(env)).load().snapshot
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


def unlock(env: EnvOpt = "local", state_dir: StateDirOpt = None) -> None:
    """Remove the environment's lock left by a run that died (check that no run is still going first)."""
    from mlplatform.engine.embedded.state import StateStore

    holder = StateStore(paths.state_dir(state_dir), check_env_name(env)).force_unlock()
    if holder is None:
        typer.echo(f"environment {env!r} was not locked")
    else:
        typer.echo(f"removed the lock of environment {env!r} held by {holder.describe()}")
