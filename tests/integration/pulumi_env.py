"""What the tests that run the real Pulumi CLI share: where it is, and an isolated Pulumi environment.

The CLI comes from ``scripts/pulumi-cli`` (built from its Go module into a cache outside the tree; the test
command builds it before these tests run): ``scripts/pulumi-cli --check`` prints its folder without building.
:func:`isolated` gives a run its own ``PULUMI_HOME`` and the emulator provider's ``pulumi-resource-aws`` shim
first on ``PATH`` (an ambient plugin), so nothing reaches the user's Pulumi home or plugin cache.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def pulumi_cli_dir() -> Path | None:
    """The folder holding ``pulumi`` (``MLPLATFORM_PULUMI_CLI``, else what ``scripts/pulumi-cli --check`` prints)."""
    named = os.environ.get("MLPLATFORM_PULUMI_CLI")
    if named:
        return Path(named)
    found = subprocess.run(
        [str(ROOT / "scripts" / "pulumi-cli"), "--check"], capture_output=True, text=True, check=False, timeout=120
    )
    return Path(found.stdout.strip()) if found.returncode == 0 and found.stdout.strip() else None


CLI = pulumi_cli_dir()

REQUIRED = os.environ.get("MLPLATFORM_REQUIRE_PULUMI_CLI") == "1"
"""Set by scripts/check after it built the CLI: then a missing CLI is an error, never a skip."""
if CLI is None and REQUIRED:
    raise RuntimeError("MLPLATFORM_REQUIRE_PULUMI_CLI=1 but no Pulumi CLI was found (scripts/pulumi-cli --check)")

needs_cli = [
    pytest.mark.pulumi_cli,
    pytest.mark.skipif(
        CLI is None,
        reason="the Pulumi CLI is not built (scripts/pulumi-cli --check finds none; the README's test command builds "
        "it before these tests run)",
    ),
]
"""Marks of a test module that runs the Pulumi CLI: ``pytestmark = [pytest.mark.integration, *needs_cli]``."""


def isolated(tmp: Path) -> dict[str, str]:
    """Environment variables for one isolated Pulumi run: its own home, the shim first on PATH, the CLI named."""
    from mlplatform.app.emulator_provider import write_plugin

    assert CLI is not None
    shim = write_plugin(tmp / "plugins").parent
    return {
        "PULUMI_HOME": str(tmp / "pulumi-home"),
        "PATH": f"{shim}{os.pathsep}{CLI}{os.pathsep}{os.environ.get('PATH', '')}",
        "MLPLATFORM_PULUMI_CLI": str(CLI),
        "PULUMI_SKIP_UPDATE_CHECK": "true",
    }
