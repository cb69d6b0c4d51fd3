"""The root command: global options, sub-command groups, and the one place errors become exit codes.

Errors are handled inside the click group (not around ``app()``), so typer's ``CliRunner`` in the tests
sees exactly what a user sees: a headline and a message on stderr, the contract's exit code, and no
traceback unless ``--debug`` is given.
"""

from __future__ import annotations

import os
import sys
import traceback
from typing import Any

import typer
from typer.core import TyperGroup

from mlplatform import __version__
from mlplatform.cli import blueprints as blueprints_cmd
from mlplatform.cli import deploy as deploy_cmd
from mlplatform.cli import emulator as emulator_cmd
from mlplatform.cli import export as export_cmd
from mlplatform.cli import importing as import_cmd
from mlplatform.cli import init as init_cmd
from mlplatform.cli import state as state_cmd
from mlplatform.cli import validate as validate_cmd
from mlplatform.errors import EXIT_CANCELLED, EXIT_INTERNAL, MlplatformError


class ErrorHandlingGroup(TyperGroup):
    """Maps :class:`MlplatformError` to its headline and exit code; anything else is an internal error."""

    def invoke(self, ctx: Any) -> Any:
        debug = bool(ctx.params.get("debug"))
        try:
            return super().invoke(ctx)
        except MlplatformError as exc:
            if debug:
                traceback.print_exc()
            typer.echo(f"error: {exc.headline}: {exc.message}", err=True)
            if exc.hint:
                typer.echo(f"hint: {exc.hint}", err=True)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            typer.echo("error: cancelled: interrupted", err=True)
            raise typer.Exit(EXIT_CANCELLED) from None
        except Exception as exc:
            # Typer's own control flow (Exit, Abort, usage errors) passes through; typer vendors click
            # in recent releases, so match on the module rather than on one click's classes.
            if type(exc).__module__.split(".")[0] in ("click", "typer"):
                raise
            traceback.print_exc()
            typer.echo(
                "error: internal error: this is a bug in mlplatform; please report it with the traceback above.",
                err=True,
            )
            raise typer.Exit(EXIT_INTERNAL) from None


app = typer.Typer(
    cls=ErrorHandlingGroup,
    name="mlplatform",
    help="Infrastructure as code for ML platforms: pick an MLOps maturity blueprint, deploy it per environment.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"mlplatform {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
    debug: bool = typer.Option(False, "--debug", help="Show Python tracebacks for every error."),
) -> None:
    """Infrastructure as code for ML platforms: pick an MLOps maturity blueprint, deploy it per environment.

    Exit codes: 0 ok, 1 error, 2 invalid flags/config/spec, 4 resource error, 6 environment not found,
    7 --expect-no-changes failed, 8 cancelled, 255 internal error.
    """


app.add_typer(blueprints_cmd.app, name="blueprints")
app.add_typer(emulator_cmd.app, name="emulator")
app.add_typer(state_cmd.app, name="state")
app.command("validate")(validate_cmd.validate)
app.command("init")(init_cmd.init)
app.command("preview")(deploy_cmd.preview)
app.command("up")(deploy_cmd.up)
app.command("destroy")(deploy_cmd.destroy)
app.command("refresh")(deploy_cmd.refresh)
app.command("import")(import_cmd.import_)
app.command("export")(export_cmd.export)
app.command("outputs")(state_cmd.outputs)
app.command("unlock")(state_cmd.unlock)


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except KeyboardInterrupt:  # raised before the group's handler runs (e.g. during imports)
        _exit(EXIT_CANCELLED)
    except SystemExit as exc:  # typer always ends this way
        _exit(exc.code)


def _exit(code: Any) -> None:
    """Exit without tearing the interpreter down when nothing is left running.

    A deploying command has the Pulumi SDK, pulumi_aws's service modules and boto3 loaded (~150 MB of
    objects); CPython's finalisation frees them one by one and took 0.5-1 s of every ``preview``/``up``
    on a 2-core machine (benchmarks/engine.py). Exit handlers still run and output is flushed first;
    with any other thread still alive the normal exit path is kept, so nothing is cut short.
    """
    import atexit
    import threading

    status = code if isinstance(code, int) else (0 if code is None else 1)
    if threading.active_count() > 1:
        sys.exit(code)
    if code is not None and not isinstance(code, int):
        print(code, file=sys.stderr)  # what sys.exit("message") would print
    atexit._run_exitfuncs()  # logging.shutdown and any other registered handler
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # closed or broken pipe: nothing more can be written anyway
            status = status or 1
    os._exit(status)
