"""The emulator package's contracts: one registry of moto patches that agrees with the patch modules' docstrings,
the server's command lines, and a server started under the old module name still counted as ours."""

from __future__ import annotations

import json
import pkgutil
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from mlplatform import emulator
from mlplatform.emulator import patches

REPO = Path(__file__).resolve().parents[2]
DEFAULT_TEST_FILE = "tests/integration/test_emulator_patches.py"


def _patch_modules() -> list[ModuleType]:
    names = [info.name for info in pkgutil.iter_modules(patches.__path__) if info.name != "support"]
    return [sys.modules[f"{patches.__name__}.{name}"] for name in sorted(names)]


def _entries(module: ModuleType) -> dict[str, str]:
    """The docstring's list: patch function name -> its entry (the gap and the tests named)."""
    doc = module.__doc__ or ""
    found = re.findall(r"^- ``(\w+)``:(.*?)(?=^- ``|^\s*$)", doc, flags=re.MULTILINE | re.DOTALL)
    return {name: text for name, text in found}


def test_the_registry_and_the_patch_modules_docstrings_list_the_same_patches() -> None:
    registered = {(patch.__module__, patch.__name__) for patch in patches.PATCHES}
    assert len(registered) == len(patches.PATCHES), "a patch is registered twice"
    documented = {(module.__name__, name) for module in _patch_modules() for name in _entries(module)}
    assert registered == documented


@pytest.mark.parametrize("module", _patch_modules(), ids=lambda module: module.__name__.rsplit(".", 1)[-1])
def test_each_documented_gap_points_to_a_test_that_exists(module: ModuleType) -> None:
    entries = _entries(module)
    assert entries, f"{module.__name__} documents no patch"
    for name, text in entries.items():
        references = re.findall(r"(?:(tests/[\w/]+\.py)::)?\b(test_\w+)\b(?!\.py)", text)
        assert references, f"{module.__name__}.{name} names no test"
        for path, test in references:
            source = (REPO / (path or DEFAULT_TEST_FILE)).read_text(encoding="utf-8")
            assert f"def {test}(" in source, f"{module.__name__}.{name}: no {test} in {path or DEFAULT_TEST_FILE}"


def test_ec2_prefix_list_descriptions_are_applied_after_group_rule_descriptions() -> None:
    # The prefix-list patch wraps the description property the group-rule patch installs.
    from mlplatform.emulator.patches import ec2

    order = list(patches.PATCHES)
    assert order.index(ec2.describe_group_rule_descriptions) < order.index(ec2.describe_prefix_list_rule_descriptions)


def _python(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, check=False, timeout=60, cwd=REPO)


def test_importing_the_server_imports_no_moto() -> None:
    # The server forks (--detach) after its imports and before it patches moto: forking is only safe while the
    # process is single-threaded, and moto's import must not cost every launcher its time.
    result = _python(
        "-c", "import sys, mlplatform.emulator.server; print(any(m.startswith('moto') for m in sys.modules))"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_server_command_line() -> None:
    result = _python("-m", "mlplatform.emulator.server", "--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: python -m mlplatform.emulator.server")
    assert "--detach" in result.stdout


def test_old_server_command_line_still_runs_the_server_with_a_notice() -> None:
    result = _python("-m", "mlplatform.emulator_server", "--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: python -m mlplatform.emulator.server")
    assert "`python -m mlplatform.emulator_server` is deprecated" in result.stderr


@pytest.fixture
def old_style_server(tmp_path: Path) -> Iterator[tuple[Path, subprocess.Popen[bytes]]]:
    """A process whose command line is that of a server an older release started, and its record."""
    port = 45999
    process = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)", "mlplatform.emulator_server", "--port", str(port)]
    )
    record = {"format_version": 1, "pid": process.pid, "host": "127.0.0.1", "port": port,
              "endpoint": f"http://127.0.0.1:{port}", "started_at": "2026-01-01T00:00:00+00:00",
              "moto_version": "5.2.5"}  # fmt: skip
    (tmp_path / emulator.STATE_FILE).write_text(json.dumps(record))
    try:
        yield tmp_path, process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()


def test_a_server_started_under_the_old_module_name_is_still_ours(
    old_style_server: tuple[Path, subprocess.Popen[bytes]],
) -> None:
    state_dir, process = old_style_server
    current = emulator.status(state_dir)
    assert current.running and current.pid == process.pid
    assert emulator.stop(state_dir, timeout=5.0) is True
    deadline = time.monotonic() + 5
    while process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert process.poll() is not None, "the old server was left running"
    assert not (state_dir / emulator.STATE_FILE).exists()


def test_applying_the_patches_again_changes_nothing() -> None:
    # Every class and function of moto's, as the first application left them, must be the very same objects
    # after the second: a patch that wrapped its own wrapper would show here. In a subprocess, so that no
    # patch leaks into this test process.
    script = """
import sys, types
from mlplatform.emulator.patches import apply_patches

def snapshot():
    seen = {}
    for name, module in list(sys.modules.items()):
        if name.startswith("moto") and isinstance(module, types.ModuleType):
            for attribute, value in list(vars(module).items()):
                seen[(name, attribute)] = value
                if isinstance(value, type):
                    for member, inner in vars(value).items():
                        seen[(name, attribute, member)] = inner
    return seen

apply_patches()
first = snapshot()
apply_patches()
second = snapshot()
changed = sorted(str(key) for key in first if key in second and second[key] is not first[key])
print(len(first), changed)
"""
    result = _python("-c", script)
    assert result.returncode == 0, result.stderr
    count, changed = result.stdout.strip().split(" ", 1)
    assert int(count) > 1000  # moto's modules were imported and looked at
    assert changed == "[]"
