"""The engine seam, checked on the source: what ``mlplatform/engine`` and ``mlplatform/cli`` may import.

Every module's AST is walked (imports inside functions and under ``TYPE_CHECKING`` count too): nothing in
the engine imports the application — environments, the program, the components, the emulator, the spec,
the wiring in ``mlplatform/app`` or the CLI — and the CLI reaches an engine only through
``mlplatform.engine.model`` and ``mlplatform/app``, never ``mlplatform.engine.embedded``. The negative cases
show the check fails on each kind of bad import, and on a copy of the real engine package with one added.
"""

from __future__ import annotations

import ast
import gc
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "mlplatform"

ENGINE_FORBIDDEN = (
    "mlplatform.app",
    "mlplatform.cli",
    "mlplatform.components",
    "mlplatform.emulator",
    "mlplatform.emulator_server",
    "mlplatform.environments",
    "mlplatform.program",
    "mlplatform.spec",
)
"""The application: an engine is given a program and conventions, it does not import them."""

ENGINE_ALLOWED = {
    # The env-name check guards the state folder's path (state.py belongs to the state split in progress).
    ("engine/embedded/state", "mlplatform.spec.names"),
}
"""(module path prefix under mlplatform/, imported module): the documented exceptions."""

CLI_FORBIDDEN = ("mlplatform.engine.embedded",)
"""The CLI sees engines only as the Engine protocol (``mlplatform.engine.model``), built by ``mlplatform.app``."""


def parse(path: Path) -> ast.Module:
    """``ast.parse`` of a file, with the garbage collector held off while it runs.

    On CPython 3.11 before 3.11.8, a collection inside ``ast.parse`` that ends in another ``ast.parse``
    corrupts the parser's recursion-depth bookkeeping (python/cpython#106905) and raises ``SystemError: AST
    constructor recursion depth mismatch`` for a sound file. That happened once in CI: an earlier test's
    orphaned asyncio future was collected mid-parse, and asyncio logged it with a traceback, which 3.11 formats
    with ``ast.parse``. The engine no longer leaves such futures to be logged
    (``test_a_refused_registration_is_reported_once_without_asyncio_tracebacks``); this keeps any other
    collection-time logging from doing the same here.
    """
    text = path.read_text(encoding="utf-8")
    enabled = gc.isenabled()
    gc.disable()
    try:
        return ast.parse(text, filename=str(path))
    finally:
        if enabled:
            gc.enable()


def imported_modules(path: Path, package_root: Path) -> Iterator[str]:
    """Every module ``path`` imports, absolute (``from mlplatform import program`` -> ``mlplatform.program``)."""
    tree = parse(path)
    parts = path.relative_to(package_root.parent).with_suffix("").parts
    package = parts[:-1]  # a module's package; an __init__'s is its own folder, also parts[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = ".".join(package[: len(package) - node.level + 1])
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            yield module
            # `from mlplatform import program` imports the module mlplatform.program
            yield from (f"{module}.{alias.name}" for alias in node.names)


def violations(package_root: Path, under: str, forbidden: tuple[str, ...], allowed: set[tuple[str, str]]) -> list[str]:
    """``file: module`` for every forbidden import in the modules below ``package_root/under``."""
    found = []
    for path in sorted((package_root / under).rglob("*.py")):
        where = path.relative_to(package_root).as_posix()
        for module in imported_modules(path, package_root):
            bad = any(module == prefix or module.startswith(prefix + ".") for prefix in forbidden)
            excused = any(where.startswith(place) and module.startswith(name) for place, name in allowed)
            if bad and not excused:
                found.append(f"{where}: {module}")
    return sorted(set(found))


def test_the_engine_imports_nothing_of_the_application() -> None:
    assert violations(PACKAGE, "engine", ENGINE_FORBIDDEN, ENGINE_ALLOWED) == []


def test_the_cli_does_not_import_the_embedded_engine() -> None:
    assert violations(PACKAGE, "cli", CLI_FORBIDDEN, set()) == []


def test_the_allowed_exceptions_are_still_needed() -> None:
    """An exception nobody uses any more is removed, so the list never hides a new import."""
    for place, module in ENGINE_ALLOWED:
        files = [p for p in (PACKAGE / "engine").rglob("*.py") if p.relative_to(PACKAGE).as_posix().startswith(place)]
        assert any(m.startswith(module) for path in files for m in imported_modules(path, PACKAGE)), (place, module)


@pytest.mark.parametrize(
    "source",
    [
        "from mlplatform import environments\n",
        "import mlplatform.program\n",
        "from mlplatform.emulator import status\n",
        "from mlplatform import emulator_server\n",
        "from mlplatform.spec.models import COMPONENTS\n",
        "from ...program import build_platform\n",
        "def f():\n    from mlplatform.app.conventions import CONVENTIONS\n",
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from mlplatform.environments import Env\n",
    ],
)
def test_each_kind_of_bad_import_is_caught(tmp_path: Path, source: str) -> None:
    root = tmp_path / "mlplatform"
    module = root / "engine" / "embedded" / "bad.py"
    module.parent.mkdir(parents=True)
    module.write_text(source, encoding="utf-8")
    assert violations(root, "engine", ENGINE_FORBIDDEN, ENGINE_ALLOWED) != []


def test_a_bad_import_in_a_copy_of_the_real_engine_fails_the_check(tmp_path: Path) -> None:
    root = tmp_path / "mlplatform"
    shutil.copytree(PACKAGE / "engine", root / "engine")
    shutil.copytree(PACKAGE / "cli", root / "cli")
    assert violations(root, "engine", ENGINE_FORBIDDEN, ENGINE_ALLOWED) == []
    engine = root / "engine" / "embedded" / "engine.py"
    engine.write_text(engine.read_text(encoding="utf-8") + "\nfrom mlplatform.spec.models import COMPONENTS\n")
    assert violations(root, "engine", ENGINE_FORBIDDEN, ENGINE_ALLOWED) == [
        "engine/embedded/engine.py: mlplatform.spec.models",
        "engine/embedded/engine.py: mlplatform.spec.models.COMPONENTS",
    ]
    state = root / "cli" / "state.py"
    state.write_text(state.read_text(encoding="utf-8") + "\nfrom mlplatform.engine.embedded.state import StateStore\n")
    assert violations(root, "cli", CLI_FORBIDDEN, set()) == [
        "cli/state.py: mlplatform.engine.embedded.state",
        "cli/state.py: mlplatform.engine.embedded.state.StateStore",
    ]


def hard_coded_tags(package_root: Path) -> list[str]:
    """String constants in the engine that spell an mlplatform tag key or type prefix (docstrings aside)."""
    found = []
    for path in sorted((package_root / "engine").rglob("*.py")):
        tree = parse(path)
        docstrings = {
            id(node.body[0].value)
            for node in ast.walk(tree)
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
            and node.body
            and isinstance(node.body[0], ast.Expr)
            and isinstance(node.body[0].value, ast.Constant)
        }
        for node in ast.walk(tree):
            if not isinstance(node, ast.Constant) or not isinstance(node.value, str) or id(node) in docstrings:
                continue
            if node.value.startswith("mlplatform:") or node.value == "managed-by":
                found.append(f"{path.relative_to(package_root).as_posix()}: {node.value}")
    return found


def test_the_engine_spells_no_mlplatform_tag_or_type_prefix() -> None:
    """Tags and component types come from the application's Conventions (mlplatform/app/conventions.py)."""
    assert hard_coded_tags(PACKAGE) == []


def test_a_hard_coded_tag_in_the_engine_is_caught(tmp_path: Path) -> None:
    root = tmp_path / "mlplatform"
    shutil.copytree(PACKAGE / "engine", root / "engine")
    (root / "engine" / "bad.py").write_text('"""Doc: mlplatform:env is fine here."""\nTAG = "mlplatform:component"\n')
    assert hard_coded_tags(root) == ["engine/bad.py: mlplatform:component"]
