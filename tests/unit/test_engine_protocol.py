"""The embedded engine implements the engine protocol every renderer and the CLI rely on."""

from __future__ import annotations

import inspect
from pathlib import Path

from mlplatform.engine.embedded.engine import EmbeddedEngine
from mlplatform.engine.model import Engine


def test_embedded_engine_is_an_engine(tmp_path: Path) -> None:
    engine = EmbeddedEngine(tmp_path)
    assert isinstance(engine, Engine)
    for name, method in inspect.getmembers(Engine, inspect.isfunction):
        if name.startswith("_"):
            continue
        expected = inspect.signature(method)
        actual = inspect.signature(getattr(EmbeddedEngine, name))
        assert list(actual.parameters) == list(expected.parameters), name
