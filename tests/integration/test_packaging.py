"""The real wheel: built from this checkout, installed into a bare folder, used from an empty directory.

The packaged blueprints live at the top of the repository and must ship inside the wheel as
``mlplatform/_blueprints`` (pyproject's force-include); ``mlplatform.blueprints.packaged_dir()`` must find
them there, not in a source checkout. The installed copy runs with ``python -S`` (no ``.pth`` files, so the
editable install of this checkout cannot sneak in) and with only the wheel's folder and the current
interpreter's dependency folders on ``PYTHONPATH``.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[2]
PACKAGED = ("level0", "level1", "level2")


def _pip(*args: str, cwd: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
        timeout=180,
    )


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Build the wheel from the checkout and install it (no dependencies) into ``<tmp>/site``."""
    root = tmp_path_factory.mktemp("packaging")
    dist = root / "dist"
    site = root / "site"
    _pip("wheel", "--no-deps", "--no-build-isolation", "-w", str(dist), str(REPO_ROOT), cwd=root)
    wheels = sorted(dist.glob("mlplatform-*.whl"))
    assert len(wheels) == 1, wheels
    _pip("install", "--no-deps", "--target", str(site), str(wheels[0]), cwd=root)
    empty = root / "empty"
    empty.mkdir()
    return {"wheel": wheels[0], "site": site, "empty": empty}


def _run_installed(code: str, installed: dict[str, Path]) -> subprocess.CompletedProcess[str]:
    """Run ``python -S -c code`` in an empty directory, importing mlplatform only from the wheel."""
    dependencies = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTHON")}
    env["PYTHONPATH"] = os.pathsep.join([str(installed["site"]), *sorted(dependencies)])
    env["PYTHONNOUSERSITE"] = "1"
    return subprocess.run(
        [sys.executable, "-S", "-c", code],
        cwd=installed["empty"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_wheel_contains_the_packaged_blueprints(installed: dict[str, Path]) -> None:
    with zipfile.ZipFile(installed["wheel"]) as wheel:
        names = set(wheel.namelist())
        for name in PACKAGED:
            member = f"mlplatform/_blueprints/{name}.yaml"
            assert member in names
            assert wheel.read(member) == (REPO_ROOT / "blueprints" / f"{name}.yaml").read_bytes()
        assert "mlplatform/__init__.py" in names
        assert "mlplatform/cli/main.py" in names
    assert not any(name.startswith(("stacks/", "tests/", "blueprints/")) for name in names)


def test_installed_package_finds_its_blueprints(installed: dict[str, Path]) -> None:
    code = (
        "import sys, mlplatform\n"
        f"assert not any(p and p.startswith({str(REPO_ROOT / 'mlplatform')!r}) for p in sys.path)\n"
        f"assert {str(REPO_ROOT)!r} not in sys.path\n"
        "print(mlplatform.__file__)\n"
        "from mlplatform import blueprints; print(blueprints.packaged_dir()); print(blueprints.packaged_names())\n"
    )
    result = _run_installed(code, installed)
    assert result.returncode == 0, result.stderr
    module_file, packaged_dir, names = result.stdout.splitlines()
    site = installed["site"].resolve()
    assert Path(module_file).resolve().is_relative_to(site)
    assert Path(packaged_dir).resolve() == site / "mlplatform" / "_blueprints"
    assert set(PACKAGED) <= set(ast.literal_eval(names))
    assert set(ast.literal_eval(names)) == {path.stem for path in (REPO_ROOT / "blueprints").glob("*.yaml")}


def test_installed_cli_lists_the_packaged_blueprints(installed: dict[str, Path]) -> None:
    code = "from mlplatform.cli import main; import sys; sys.argv=['mlplatform','blueprints','list']; main()"
    result = _run_installed(code, installed)
    assert result.returncode == 0, result.stderr
    rows = {line.split()[0]: line.split()[1:3] for line in result.stdout.splitlines()[1:]}
    for level, name in enumerate(PACKAGED):
        assert rows[name] == [str(level), "packaged"]
    assert "Traceback" not in result.stderr
