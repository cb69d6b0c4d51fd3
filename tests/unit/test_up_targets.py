"""``preview``/``up --target``: names resolve like everywhere else; a typo is an error, never "No changes".

The embedded engine over the in-memory cloud of :mod:`tests.unit.fake_cloud` (three buckets: data-raw,
data-clean which depends on it, and logs).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mlplatform.engine.embedded import discovery
from mlplatform.engine.model import Action
from mlplatform.engine.targets import UnknownResourceError
from tests.unit.fake_cloud import ENV, STACK, fake_engine, urn


@pytest.fixture(autouse=True)
def nothing_tagged(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(discovery, "tagged_resources", lambda aws, env, conventions: [])


def actions(plan: object) -> dict[str, Action]:
    return {c.name: c.action for c in plan.changes if c.custom}  # type: ignore[attr-defined]


def test_a_target_that_names_nothing_is_an_error_with_suggestions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine, cloud = fake_engine(tmp_path, monkeypatch)
    engine.up(STACK)
    for method in (engine.preview, engine.up):
        with pytest.raises(UnknownResourceError) as caught:
            method(STACK, targets=frozenset({"data-rwa"}))
        assert "no resource 'data-rwa'" in caught.value.message and "did you mean 'data-raw'" in caught.value.message
        assert caught.value.exit_code == 2
    assert sorted(cloud.mutating()) == [("create", "data-clean"), ("create", "data-raw"), ("create", "logs")]


def test_a_short_name_targets_its_resource_like_its_urn(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    engine, cloud = fake_engine(tmp_path, monkeypatch)

    # Not in state yet: only the program knows the name. The others are not created (and say so).
    by_name = engine.preview(STACK, targets=frozenset({"data-raw"}))
    by_urn = engine.preview(STACK, targets=frozenset({urn("data-raw")}))
    assert actions(by_name) == actions(by_urn) == {"data-raw": Action.CREATE}  # the others are not in the plan
    assert by_name.summary["create"] == 1
    (note,) = [d.message for d in by_name.diagnostics if "--target leaves out" in d.message]
    assert note.endswith("data-clean, logs")

    needs = engine.preview(STACK, targets=frozenset({"data-clean"}))  # depends on data-raw, which is left out
    assert actions(needs) == {"data-clean": Action.CREATE}
    (clean,) = [change for change in needs.changes if change.custom]
    assert clean.detail == "needs data-raw, which is not targeted and does not exist"
    skipped = engine.up(STACK, targets=frozenset({"data-clean"}))
    assert skipped is not None and cloud.mutating() == []
    (step,) = skipped.skipped
    assert step.error == "needs data-raw, which is not targeted and does not exist"

    engine.up(STACK, targets=frozenset({"data-raw"}))
    assert cloud.mutating() == [("create", "data-raw")]
    assert ENV in str(urn("data-raw"))
