"""The ``mlplatform`` command line (typer). Nothing imports this package."""

from mlplatform.cli.main import main

__all__ = ["main"]
