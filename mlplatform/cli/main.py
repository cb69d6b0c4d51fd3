"""The root command: global options, sub-command groups, and the one place errors become exit codes.

Errors are handled inside the click group (not around ``app()``), so typer's ``CliRunner`` in the tests
sees exactly what a user sees: a headline and a message on stderr, the contract's exit code, and no
traceback unless ``--debug`` is given.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, NoReturn, Optional

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
from mlplatform.cli.options import JSON_ERROR_FIELDS
from mlplatform.errors import EXIT_CANCELLED, EXIT_ERROR, EXIT_INTERNAL, MlplatformError, UsageError

EXIT_BROKEN_PIPE = 141
"""128 + SIGPIPE: what a shell reports for a writer whose reader went away (``git log | head`` exits so)."""

_ARGS = "mlplatform.args"


class ErrorHandlingGroup(TyperGroup):
    """Maps :class:`MlplatformError` to its headline and exit code; anything else is an internal error.

    Three flags of the sub-command change how a failure is reported, so they are looked for in the raw
    command line (a failure in parsing the sub-command's own options must be reported the same way):

    * ``--json``: the error is also a JSON object on stdout, ``{"error": {...}}``, and nothing else is
      printed there (the human text still goes to stderr); same exit code.
    * ``--detailed-exitcode`` (``preview``): every error exits 1, as Terraform's ``-detailed-exitcode``
      does, so that 2 can only mean "changes" — also for click's own usage errors, which would exit 2.
    * a closed stdout (``mlplatform state list | head -1``): exit quietly with 141, like other Unix tools.
    """

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        ctx.meta[_ARGS] = list(args)
        try:
            return super().parse_args(ctx, args)
        except BrokenPipeError:  # `mlplatform --help | head -1`: eager options print while parsing
            _silence_stdout()
            raise typer.Exit(EXIT_BROKEN_PIPE) from None

    def invoke(self, ctx: Any) -> Any:
        try:
            return self._invoke_reporting(ctx)
        except BrokenPipeError:
            # Also when reporting an error hit the closed pipe: the reader is gone, nobody is listening.
            _silence_stdout()
            raise typer.Exit(EXIT_BROKEN_PIPE) from None

    def _invoke_reporting(self, ctx: Any) -> Any:
        debug = bool(ctx.params.get("debug"))
        args = ctx.meta.get(_ARGS, [])
        flags = args[: args.index("--")] if "--" in args else args
        report = _Report(ctx, as_json="--json" in flags, detailed="--detailed-exitcode" in flags)
        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            raise
        except MlplatformError as exc:
            if debug:
                traceback.print_exc()
            lines = [f"error: {exc.headline}: {exc.message}"] + ([f"hint: {exc.hint}"] if exc.hint else [])
            report.fail(exc.as_dict(), lines, exc.exit_code)
        except KeyboardInterrupt:
            error = {"type": "KeyboardInterrupt", "headline": "cancelled", "message": "interrupted", "hint": None}
            report.fail(error, ["error: cancelled: interrupted"], EXIT_CANCELLED)
        except Exception as exc:
            # Typer's own control flow (Exit, Abort, usage errors) passes through; typer vendors click
            # in recent releases, so match on the module rather than on one click's classes.
            if type(exc).__module__.split(".")[0] in ("click", "typer"):
                report.click_exception(exc)
                raise
            traceback.print_exc()
            error = {
                "type": type(exc).__name__,
                "headline": "internal error",
                "message": f"{type(exc).__name__}: {exc}",
                "hint": "this is a bug in mlplatform; please report it with the traceback printed on stderr.",
            }
            lines = ["error: internal error: this is a bug in mlplatform; please report it with the traceback above."]
            report.fail(error, lines, EXIT_INTERNAL)


class _Report:
    """How one invocation reports a failure: text on stderr, plus JSON on stdout under ``--json``."""

    def __init__(self, ctx: Any, *, as_json: bool, detailed: bool) -> None:
        self.ctx = ctx
        self.as_json = as_json
        self.detailed = detailed

    def code(self, exit_code: int) -> int:
        """With --detailed-exitcode, 0 and 2 are "no changes" and "changes"; anything else is an error: 1."""
        if self.detailed and exit_code not in (0, 2, EXIT_BROKEN_PIPE):
            return EXIT_ERROR
        return exit_code

    def fail(self, error: Mapping[str, object], lines: list[str], exit_code: int) -> NoReturn:
        code = EXIT_ERROR if self.detailed else exit_code
        if self.as_json:
            fields = self.ctx.meta.get(JSON_ERROR_FIELDS, {})
            typer.echo(json.dumps({**fields, "error": {**error, "exit_code": code}}, indent=2, default=str))
        for line in lines:
            typer.echo(line, err=True)
        raise typer.Exit(code) from None

    def click_exception(self, exc: Exception) -> None:
        """Typer's control flow: an Exit keeps its code (mapped under --detailed-exitcode); a usage error
        is reported like ours when --json or --detailed-exitcode asks for it, else left to click."""
        exit_code = getattr(exc, "exit_code", None)
        if type(exc).__name__ == "Exit" and isinstance(exit_code, int):
            if self.code(exit_code) != exit_code:
                raise typer.Exit(self.code(exit_code)) from None
            return
        if not (self.as_json or self.detailed):
            return
        if type(exc).__name__ == "Abort":  # Ctrl-C or end of input at a confirmation prompt
            error = {"type": "Abort", "headline": "cancelled", "message": "aborted at the prompt", "hint": None}
            self.fail(error, ["Aborted!"], EXIT_ERROR)
        show = getattr(exc, "show", None)
        if show is None or type(exc).__name__ == "NoArgsIsHelpError":
            return
        show()  # click's own text: usage line and "Error: ..." on stderr
        message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        error = {
            "type": type(exc).__name__,
            "headline": "invalid usage",
            "message": message,
            "hint": "see --help for the options this command takes.",
        }
        self.fail(error, [], exit_code if isinstance(exit_code, int) else EXIT_ERROR)


def _silence_stdout() -> None:
    """Point stdout at /dev/null after its reader went away.

    Python flushes stdout once more at exit and would print "Exception ignored ... BrokenPipeError";
    this is the recipe from the ``signal`` module's documentation (note on SIGPIPE).
    """
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # no real file descriptor (e.g. under CliRunner): nothing to redirect
        pass


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
    cwd: Annotated[
        Optional[Path],  # noqa: UP045 - typer reads the annotation at runtime (Python 3.10)
        typer.Option(
            "--cwd",
            "-C",
            help="Run as if started in this folder (like git -C). The project is the nearest folder from there "
            "upwards with stacks/, Pulumi.yaml or .mlplatform/.",
        ),
    ] = None,
) -> None:
    """Infrastructure as code for ML platforms: pick an MLOps maturity blueprint, deploy it per environment.

    The project is the nearest folder from the current one upwards that holds stacks/, Pulumi.yaml or
    .mlplatform/ (else the current folder); engine commands print which project and state folder they use.

    Exit codes: 0 ok, 1 error, 2 invalid flags/config/spec, 4 resource error, 6 environment not found,
    7 --expect-no-changes failed, 8 cancelled, 141 stdout closed by its reader, 255 internal error.
    preview --detailed-exitcode: 0 no changes, 2 changes, 1 any error. With --json an error is one JSON
    object on stdout ({"error": {...}}) with the same exit code.
    """
    if cwd is not None:
        try:
            os.chdir(cwd.expanduser())
        except OSError as exc:
            raise UsageError(f"--cwd {cwd}: cannot change into it: {exc.strerror or exc}.") from None


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
app.command(
    "cancel",
    help="Cancel an environment's interrupted Pulumi update (`pulumi cancel`): the same as `unlock`, in Pulumi's word.",
)(state_cmd.unlock)


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
        # Flush now: if the reader of stdout is gone, Python's own flush at shutdown would print
        # "Exception ignored ... BrokenPipeError".
        failed = _flush()
        sys.exit((status or failed) if failed == EXIT_BROKEN_PIPE else code)
    if code is not None and not isinstance(code, int):
        print(code, file=sys.stderr)  # what sys.exit("message") would print
    atexit._run_exitfuncs()  # logging.shutdown and any other registered handler
    os._exit(status or _flush())


def _flush() -> int:
    """Flush stdout and stderr: 0, or 141 when a reader went away, or 1 when a stream cannot be written."""
    status = 0
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BrokenPipeError:
            if stream is sys.stdout:
                _silence_stdout()
            status = status or EXIT_BROKEN_PIPE
        except (OSError, ValueError):  # closed: nothing more can be written anyway
            status = status or 1
    return status
