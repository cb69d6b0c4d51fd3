"""CI runs the README's test command itself, not a variant of it."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _readme_test_command() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    commands = re.findall(r"^(python3 -m venv .*scripts/check)\s*$", readme, flags=re.MULTILINE)
    assert len(commands) == 1, f"expected one test command in README.md, found {commands}"
    return commands[0]


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()]
    assert _readme_test_command() in lines
