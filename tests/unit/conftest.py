"""Shared fixtures: run the CLI in an empty directory, as a new user would."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

# Import hypothesis up front: its pytest plugin otherwise imports it in the session-finish hook, and on
# CPython 3.11.7 pytest's assertion rewriting of it there can fail with "SystemError: AST constructor
# recursion depth mismatch" after the engine tests' refused-feature threads, turning a green run red.
import hypothesis  # noqa: F401
import pytest
from typer.testing import CliRunner, Result

from mlplatform.cli.main import app

Run = Callable[..., Result]


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Run:
    """Invoke the CLI in an empty working directory, without AWS region variables."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    runner = CliRunner()

    def invoke(*args: str) -> Result:
        return runner.invoke(app, list(args))

    return invoke
