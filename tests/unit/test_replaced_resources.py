"""The old half of a replacement that a killed run left: on record as a pending discard, deleted by the next run.

The engine creates a replacement first and deletes the old resource once the program has finished; a run killed
in between must not leak the old resource. A pending ``discard`` journal entry (written here as the killed run
left it) keeps it on record: ``preview`` warns about it, and the next ``up`` — or ``destroy`` — deletes it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mlplatform.engine.embedded.engine import EmbeddedEngine
from mlplatform.engine.embedded.state import ResourceState
from tests.unit.fake_cloud import BUCKET, ENV, STACK, FakeCloud, fake_engine, urn


def _killed_replacement(engine: EmbeddedEngine, cloud: FakeCloud) -> None:
    """State as a run killed after replacing ``data-raw`` leaves it: the old bucket exists, its discard pends."""
    recorded = next(r for r in engine.store(ENV).load().snapshot.resources if r.urn == urn("data-raw"))
    cloud.buckets["old-raw"] = {"tags": {}}
    old = ResourceState(urn=recorded.urn, type=BUCKET, id="old-raw", inputs={"bucket": "old-raw"},
                        provider=recorded.provider)  # fmt: skip
    store = engine.store(ENV)
    with store.lock("up"):
        store.begin("discard", old.urn, BUCKET, {"id": "old-raw", "resource": old.to_dict()})
        # killed here: no succeed, no compaction


def test_the_next_up_deletes_the_old_resource_a_killed_replacement_left(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine, cloud = fake_engine(tmp_path, monkeypatch)
    engine.up(STACK)
    _killed_replacement(engine, cloud)

    plan = engine.preview(STACK)
    assert any("old-raw" in d.message and d.severity == "warning" for d in plan.diagnostics), plan.diagnostics
    assert "old-raw" in cloud.buckets  # a preview deletes nothing

    result = engine.up(STACK)
    assert result is not None and not result.failed
    assert "old-raw" not in cloud.buckets and ("delete", "old-raw") in cloud.calls
    loaded = engine.store(ENV).load()
    assert loaded.interrupted == [] and loaded.replaced == []
    # The replacement itself was never touched: it is no interrupted operation to adopt or redo.
    assert ("delete", "data-raw") not in cloud.calls and "data-raw" in cloud.buckets


def test_destroy_also_deletes_the_old_resource_a_killed_replacement_left(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine, cloud = fake_engine(tmp_path, monkeypatch)
    engine.up(STACK)
    _killed_replacement(engine, cloud)
    plan = engine.preview_destroy(STACK)
    assert any("old-raw" in d.message for d in plan.diagnostics), plan.diagnostics
    engine.destroy(STACK)
    assert cloud.buckets == {}
    assert engine.store(ENV).load().interrupted == []
