"""``mlplatform emulator start|stop|status``: the local AWS emulator that the ``local`` target deploys into."""

from __future__ import annotations

import json
from typing import Annotated, Optional

import typer

from mlplatform import emulator, paths
from mlplatform.cli.options import JsonOpt, StateDirOpt
from mlplatform.errors import EXIT_ERROR

app = typer.Typer(
    help="Run the local AWS emulator (moto, on 127.0.0.1) that the `local` target deploys into.",
    no_args_is_help=True,
)

PortOpt = Annotated[
    Optional[int],  # noqa: UP045
    typer.Option(
        "--port",
        min=0,
        max=65535,
        help="Port on 127.0.0.1 (default: 4566, or a free port when 4566 is taken; 0: any free port).",
    ),
]


@app.command()
def start(port: PortOpt = None, state_dir: StateDirOpt = None, as_json: JsonOpt = False) -> None:
    """Start the emulator in the background (or report the one already running) and print its endpoint.

    Exit 1 with the server's last log lines when it cannot start.
    """
    info = emulator.start(paths.state_dir(state_dir), port)
    if as_json:
        typer.echo(json.dumps({"running": True, "healthy": True, **info.as_dict()}, indent=2))
        return
    verb = "started" if info.started else "already running"
    typer.echo(f"emulator {verb} at {info.endpoint} (pid {info.pid}, moto {info.moto_version})")


@app.command()
def stop(state_dir: StateDirOpt = None, as_json: JsonOpt = False) -> None:
    """Stop the emulator (SIGTERM, then SIGKILL) and forget it. Everything deployed into it is lost."""
    stopped = emulator.stop(paths.state_dir(state_dir))
    if as_json:
        typer.echo(json.dumps({"stopped": stopped}))
    else:
        typer.echo("emulator stopped" if stopped else "emulator was not running")


@app.command()
def status(state_dir: StateDirOpt = None, as_json: JsonOpt = False) -> None:
    """Show whether the emulator runs and answers, and its endpoint.

    `--json` prints at least {"running": bool, "endpoint": "http://127.0.0.1:PORT" or null}. Exit 0 when it
    runs and answers, 1 when it is not running or not answering (like `systemctl is-active`, so a script can
    test it), with the same output.
    """
    current = emulator.status(paths.state_dir(state_dir))
    if as_json:
        typer.echo(json.dumps(current.as_dict(), indent=2))
    elif not current.running:
        typer.echo(f"emulator not running; start it with `{emulator.START_COMMAND}`")
    elif not current.healthy:
        typer.echo(
            f"emulator running (pid {current.pid}) but not answering at {current.endpoint}; "
            f"see {current.log_file}, or restart it with `mlplatform emulator stop` and `{emulator.START_COMMAND}`"
        )
    else:
        typer.echo(
            f"emulator running at {current.endpoint} (pid {current.pid}, moto {current.moto_version}, "
            f"since {current.started_at})"
        )
    if not (current.running and current.healthy):
        raise typer.Exit(EXIT_ERROR)
