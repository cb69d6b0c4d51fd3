"""Lost state, import, state rm/show and destroy --target in the embedded engine, against an in-memory cloud.

The engine, the SDK, the monitor and the state store are real; the only handler is
:class:`~tests.unit.fake_cloud.FakeCloud`, and the tagging API's answer is patched where a test needs
resources "tagged for the environment".
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws
import pytest

from mlplatform.engine.embedded import discovery
from mlplatform.engine.embedded.engine import DependentsInStateError
from mlplatform.engine.embedded.state import ResourceState, StateStore
from mlplatform.engine.model import Action, ImportPlan, TaggedResource
from mlplatform.engine.targets import AmbiguousResourceError, UnknownResourceError
from mlplatform.engine.values import UNKNOWN
from mlplatform.errors import EXIT_INVALID, EXIT_RESOURCE
from tests.unit import fake_cloud
from tests.unit.fake_cloud import ENV, STACK, TAGS, fake_engine, urn

TAGGED = [
    TaggedResource("arn:aws:s3:::data-raw", None, "storage", "level1"),
    TaggedResource(
        "arn:aws:kms:us-east-1:123456789012:key/k-1", f"urn:pulumi:{ENV}::mlplatform::x::key", "enc", "level1"
    ),
]


def tagged(monkeypatch: pytest.MonkeyPatch, found: list[TaggedResource]) -> list[str]:
    """Make the tagging API answer ``found``; returns the log of environments it was asked about."""
    asked: list[str] = []

    def answer(aws: Any, env: str, conventions: Any) -> list[TaggedResource]:
        asked.append(env)
        return list(found)

    monkeypatch.setattr(discovery, "tagged_resources", answer)
    return asked


def names(changes: list[Any]) -> list[str]:
    return sorted(change.name for change in changes)


def state_urns(tmp_path: Path) -> list[str]:
    resources = StateStore(tmp_path / "state", ENV).load().snapshot.resources
    return sorted(r.urn for r in resources if r.type == "aws:s3/bucket:Bucket")


# ----------------------------------------------------------------------------------------------- lost state


def test_up_on_empty_state_stops_before_creating_anything_when_resources_are_tagged_for_the_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine, cloud = fake_engine(tmp_path, monkeypatch)
    asked = tagged(monkeypatch, TAGGED)

    with pytest.raises(discovery.ExistingResourcesError) as caught:
        engine.up(STACK)

    error = caught.value
    assert error.exit_code == EXIT_RESOURCE and asked == [ENV]
    assert "2 resources tagged mlplatform:env=dev already exist in region us-east-1 of account 123456789012" in (
        error.message
    )
    assert "arn:aws:s3:::data-raw" in error.message and "(key)" in error.message
    assert error.hint is not None and "mlplatform import --env dev --blueprint level1" in error.hint
    assert cloud.calls == []  # not one create
    store = StateStore(tmp_path / "state", ENV)
    assert not store.snapshot_path.exists() and not store.journal_path.exists()  # state untouched


def test_preview_on_empty_state_shows_the_same_refusal_as_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine, cloud = fake_engine(tmp_path, monkeypatch)
    tagged(monkeypatch, TAGGED)
    plan = engine.preview(STACK)
    [error] = plan.errors
    assert error.message.startswith("resources already exist: environment 'dev' has no resources in its state")
    assert "mlplatform import --env dev" in error.message
    assert plan.summary["create"] == 3 and cloud.calls == []


def test_empty_state_with_nothing_tagged_deploys_and_records_the_blueprint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine, cloud = fake_engine(tmp_path, monkeypatch)
    asked = tagged(monkeypatch, [])
    result = engine.up(STACK)
    assert not result.failed and asked == [ENV]  # asked once, before the first create
    assert sorted(cloud.buckets) == ["data-clean", "data-raw", "logs"]
    assert StateStore(tmp_path / "state", ENV).load().snapshot.blueprint == "level0"


def test_the_tagging_api_is_asked_only_when_state_is_empty(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    engine, _ = fake_engine(tmp_path, monkeypatch)
    assert tagged(monkeypatch, []) is not None
    engine.up(STACK)
    asked = tagged(monkeypatch, TAGGED)  # tagged resources around, but state knows them
    assert not engine.preview(STACK).errors
    assert not engine.up(STACK).failed
    assert asked == []


def test_a_check_that_cannot_run_warns_and_does_not_block(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    engine, cloud = fake_engine(tmp_path, monkeypatch)

    def broken(aws: Any, env: str, conventions: Any) -> list[TaggedResource]:
        raise RuntimeError("AccessDenied: tag:GetResources")

    monkeypatch.setattr(discovery, "tagged_resources", broken)
    result = engine.up(STACK)
    assert not result.failed and len(cloud.buckets) == 3
    assert any("could not check for resources that already exist" in d.message for d in result.diagnostics)


# ---------------------------------------------------------------------------------------------------- import


def test_import_adopts_what_exists_reports_what_does_not_and_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine, cloud = fake_engine(tmp_path, monkeypatch)
    cloud.buckets = {"data-raw": {"tags": dict(TAGS)}, "data-clean": {"tags": {**TAGS, "owner": "someone"}}}
    tagged(monkeypatch, [TaggedResource("arn:aws:s3:::data-raw"), TaggedResource("arn:aws:s3:::old-copy")])
    seen: list[ImportPlan] = []

    def confirm(plan: ImportPlan) -> bool:
        seen.append(plan)
        return True

    plan = engine.import_resources(STACK, confirm=confirm)

    assert seen == [plan] and plan.imported
    assert names(plan.adopted) == ["data-clean", "data-raw"] and names(plan.missing) == ["logs"]
    assert all(change.action is Action.IMPORT for change in plan.adopted)
    assert plan.ids == {urn("data-raw"): "data-raw", urn("data-clean"): "data-clean"}
    clean = next(change for change in plan.adopted if change.name == "data-clean")
    assert clean.diff == ("tags",)  # the live tags differ from the program's: up will update them
    assert [resource.arn for resource in plan.unmanaged] == ["arn:aws:s3:::old-copy"]
    assert cloud.mutating() == []
    assert state_urns(tmp_path) == sorted([urn("data-raw"), urn("data-clean")])

    # The next up converges: creates what was missing, updates what differs, leaves the rest alone.
    result = engine.up(STACK)
    assert not result.failed
    assert sorted(cloud.mutating()) == [("create", "logs"), ("update", "data-clean")]
    assert cloud.buckets["data-clean"]["tags"] == TAGS


def test_import_records_nothing_when_not_confirmed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    engine, cloud = fake_engine(tmp_path, monkeypatch)
    cloud.buckets = {"data-raw": {"tags": dict(TAGS)}}
    plan = engine.import_resources(STACK, confirm=lambda plan: False)
    assert names(plan.adopted) == ["data-raw"] and not plan.imported
    assert not StateStore(tmp_path / "state", ENV).snapshot_path.exists()


def test_import_leaves_resources_already_in_state_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    engine, cloud = fake_engine(tmp_path, monkeypatch)
    engine.up(STACK)
    engine.forget(ENV, ["logs"], confirm=lambda records: True)
    cloud.calls.clear()
    plan = engine.import_resources(STACK, confirm=lambda plan: True)
    assert names(plan.adopted) == ["logs"] and plan.in_state == 2 and plan.missing == []
    assert cloud.calls == [("find", "logs"), ("read", "logs")]  # the others are not even looked up
    assert len(state_urns(tmp_path)) == 3


# ------------------------------------------------------------------------------------------- state show / rm


def test_resource_by_name_or_urn_and_unknown_names_get_suggestions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine, _ = fake_engine(tmp_path, monkeypatch)
    engine.up(STACK)
    assert engine.resource(ENV, "data-raw").urn == urn("data-raw")
    assert engine.resource(ENV, urn("logs")).id == "logs"
    with pytest.raises(UnknownResourceError) as caught:
        engine.resource(ENV, "data-rw")
    assert caught.value.exit_code == EXIT_INVALID
    assert "no resource 'data-rw' (did you mean 'data-raw'" in caught.value.message


def test_state_rm_refuses_while_others_depend_on_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    engine, _ = fake_engine(tmp_path, monkeypatch)
    engine.up(STACK)
    with pytest.raises(DependentsInStateError) as caught:
        engine.forget(ENV, ["data-raw"], confirm=lambda records: True)
    assert caught.value.exit_code == EXIT_INVALID
    assert f"{urn('data-clean')} (depends on data-raw)" in caught.value.message
    assert caught.value.hint is not None and "--target-dependents" in caught.value.hint
    assert len(state_urns(tmp_path)) == 3


def test_state_rm_forgets_without_deleting_and_up_would_recreate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine, cloud = fake_engine(tmp_path, monkeypatch)
    engine.up(STACK)
    serial = StateStore(tmp_path / "state", ENV).load().snapshot.serial
    cloud.calls.clear()
    removed = engine.forget(ENV, ["data-clean", "data-raw"], confirm=lambda records: True)
    assert [r.urn for r in removed] == [urn("data-raw"), urn("data-clean")]
    assert cloud.calls == [] and "data-raw" in cloud.buckets  # nothing deleted in the cloud
    after = StateStore(tmp_path / "state", ENV).load().snapshot
    assert state_urns(tmp_path) == [urn("logs")] and after.serial == serial + 1
    assert names([c for c in engine.preview(STACK).changes if c.action is Action.CREATE]) == [
        "data-clean",
        "data-raw",
    ]


def test_state_rm_with_dependents_and_declined(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    engine, _ = fake_engine(tmp_path, monkeypatch)
    engine.up(STACK)
    assert engine.forget(ENV, ["data-raw"], with_dependents=True, confirm=lambda records: False) == []
    assert len(state_urns(tmp_path)) == 3
    removed = engine.forget(ENV, ["data-raw"], with_dependents=True, confirm=lambda records: True)
    assert sorted(r.urn for r in removed) == sorted([urn("data-raw"), urn("data-clean")])
    assert state_urns(tmp_path) == [urn("logs")]


# ---------------------------------------------------------------------------------------------- destroy --target


def test_destroy_target_deletes_it_and_its_dependents_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    engine, cloud = fake_engine(tmp_path, monkeypatch)
    engine.up(STACK)
    outputs = engine.outputs(ENV)

    plan = engine.preview_destroy(STACK, targets=frozenset({"data-raw"}))
    deletes = [change for change in plan.changes if change.custom]
    assert [(c.name, c.action, c.detail) for c in deletes] == [
        ("data-clean", Action.DELETE, "depends on data-raw"),
        ("data-raw", Action.DELETE, None),
    ]
    assert any("data-clean" in d.message for d in plan.diagnostics)

    cloud.calls.clear()
    result = engine.destroy(STACK, targets=frozenset({"data-raw"}))
    assert not result.failed
    assert cloud.calls == [("delete", "data-clean"), ("delete", "data-raw")]  # dependents first
    assert state_urns(tmp_path) == [urn("logs")] and sorted(cloud.buckets) == ["logs"]
    assert engine.outputs(ENV) == outputs  # the platform is still there: its outputs stay


def test_destroy_unknown_target_is_refused_before_anything_is_deleted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine, cloud = fake_engine(tmp_path, monkeypatch)
    engine.up(STACK)
    cloud.calls.clear()
    for call in (engine.preview_destroy, engine.destroy):
        with pytest.raises(UnknownResourceError) as caught:
            call(STACK, targets=frozenset({"data-rw"}))
        assert "did you mean 'data-raw'" in caught.value.message
    assert cloud.calls == [] and len(state_urns(tmp_path)) == 3


def test_ambiguous_names_list_the_candidates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    engine, _ = fake_engine(tmp_path, monkeypatch)
    engine.up(STACK)
    store = StateStore(tmp_path / "state", ENV)
    twin = ResourceState(
        urn=f"urn:pulumi:{ENV}::mlplatform::test:index:Group::logs", type="test:index:Group", custom=False
    )
    with store.lock("test"):
        store.succeed(store.begin("create", twin.urn, twin.type), twin)
        store.compact()
    with pytest.raises(AmbiguousResourceError) as caught:
        engine.resource(ENV, "logs")
    assert urn("logs") in caught.value.message and twin.urn in caught.value.message
    assert engine.resource(ENV, "aws:s3/bucket:Bucket::logs").urn == urn("logs")


def test_import_adopts_a_resource_whose_dependency_was_not_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its inputs that come from the missing resource are unknown: recorded as such, set by the next up."""

    def program() -> None:
        opts = pulumi.ResourceOptions(provider=fake_cloud.provider())
        raw = aws.s3.Bucket("data-raw", bucket="data-raw", tags=TAGS, opts=opts)
        source = raw.arn.apply(lambda arn: {**TAGS, "source": arn})
        aws.s3.Bucket("data-clean", bucket="data-clean", tags=source, force_destroy=raw.arn.apply(bool), opts=opts)

    stack = replace(STACK, program=program)
    engine, cloud = fake_engine(tmp_path, monkeypatch)
    cloud.buckets = {"data-clean": {"tags": {**TAGS, "source": "arn:aws:s3:::data-raw"}}}

    plan = engine.import_resources(stack, confirm=lambda plan: True)
    assert names(plan.adopted) == ["data-clean"] and names(plan.missing) == ["data-raw"] and plan.imported
    assert cloud.mutating() == []
    recorded = StateStore(tmp_path / "state", ENV).load().snapshot.resource(urn("data-clean"))
    assert recorded is not None and recorded.inputs["tags"]["source"] == "arn:aws:s3:::data-raw"  # read live
    assert recorded.inputs["forceDestroy"] == UNKNOWN  # not readable, not yet known: the next up sets it

    result = engine.up(stack)
    assert not result.failed
    assert sorted(cloud.mutating()) == [("create", "data-raw"), ("update", "data-clean")]
