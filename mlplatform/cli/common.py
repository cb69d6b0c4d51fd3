"""What several commands share: opening an environment (and saying so), and asking before a change."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from mlplatform import paths
from mlplatform.errors import CancelledError, UsageError

if TYPE_CHECKING:
    from mlplatform.app.workspace import Workspace


def confirm(question: str, yes: bool, *, changing: str = "infrastructure") -> None:
    """Non-interactive runs never change anything without --yes (README, "CLI reference")."""
    if yes:
        return
    if not sys.stdin.isatty():
        raise UsageError(
            f"refusing to change {changing} without confirmation: stdin is not a terminal.",
            hint="Pass --yes to apply non-interactively.",
        )
    if not typer.confirm(question, default=False):
        raise CancelledError("nothing was changed.")


def open_env(env: str, blueprint: str | None, state_dir: Path | None, **kwargs: Any) -> Workspace:
    """Open the environment and say what the user should know about where it runs."""
    from mlplatform.app.workspace import open_workspace

    workspace = open_workspace(env, blueprint, paths.state_dir(state_dir), **kwargs)
    if workspace.emulator_started:
        # Never start a background process silently: say where it is and how to stop it.
        typer.echo(
            f"started the local AWS emulator at {workspace.endpoint} (it keeps running; "
            "`mlplatform emulator stop` stops it)",
            err=True,
        )
    return workspace
