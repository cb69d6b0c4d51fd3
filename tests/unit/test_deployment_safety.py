"""Deletes that fail safely and plans that agree with their apply — with the fake bucket handler.

* ``deletedWith``: what goes with a bucket (its encryption, public-access block, policy) is not deleted
  by its own call, and stays — intact, in state — when the bucket's delete fails.
* ``check_delete``: a preview reads what would make a planned delete fail and reports it as an error.
* ``read_live``: with ``--refresh`` every resource is read before anything is applied, so ``up`` decides
  what its preview decided.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pytest

from mlplatform.engine.embedded.deployment import Deployment
from mlplatform.engine.embedded.handlers.base import StepContext
from mlplatform.engine.model import Action, StepStatus
from tests.unit.test_deployment_diff import (
    BUCKET,
    PROVIDER_URN,
    FakeBucket,
    RecordingJournal,
    bucket,
    provider_record,
    record,
    step_of,
    up,
    urn,
)


class Fussy(FakeBucket):
    """A bucket handler whose delete fails for the ``full`` bucket, and whose check says why beforehand."""

    def __init__(self, log: list[tuple[str, ...]] | None = None) -> None:
        super().__init__(log)
        self.checked: list[tuple[str, list[str]]] = []

    def delete(self, ctx: StepContext, resource_id: str, inputs: dict[str, Any], outputs: dict[str, Any]) -> None:
        super().delete(ctx, resource_id, inputs, outputs)
        if resource_id == "full":
            raise RuntimeError("BucketNotEmpty: The bucket you tried to delete is not empty")

    def check_delete(self, ctx: StepContext, resource_id: str, inputs: dict[str, Any], going_first: Any) -> str | None:
        self._log("check", resource_id)
        self.checked.append((resource_id, sorted(other["bucket"] for _, other in going_first)))
        return "it still holds 3 objects" if resource_id == "full" else None


def _bucket_with_config(name: str) -> list[Any]:
    """A bucket and two configuration resources that go with it (as storage.SecureBucket declares them)."""
    owner = urn(name)
    return [
        record(name),
        record(f"{name}-encryption", inputs={"bucket": f"{name}-encryption"}, dependencies=[owner], deleted_with=owner),
        record(f"{name}-policy", inputs={"bucket": f"{name}-policy"}, dependencies=[owner], deleted_with=owner),
    ]


def test_a_failed_bucket_delete_keeps_what_goes_with_it() -> None:
    records = [provider_record(), *_bucket_with_config("full")]
    handler = Fussy()
    deployment = Deployment(previous={r.urn: r for r in records}, handlers={BUCKET: handler}, preview=False)

    deployment.delete(records, parallel=4)

    assert [name for call, name in handler.calls if call == "delete"] == ["full"]  # no own call for the config
    assert step_of(deployment, "full").status is StepStatus.FAILED
    for name in ("full-encryption", "full-policy"):
        step = step_of(deployment, name)
        assert step.status is StepStatus.SKIPPED and step.error == "kept: full was not deleted"
        assert urn(name) in deployment.records  # still in state, and never touched in the cloud


def test_what_goes_with_a_deleted_bucket_leaves_state_after_it_without_a_call_of_its_own() -> None:
    log: list[tuple[str, ...]] = []
    records = [provider_record(), *_bucket_with_config("empty")]
    deployment = Deployment(
        previous={r.urn: r for r in records},
        handlers={BUCKET: FakeBucket(log)},
        preview=False,
        journal=RecordingJournal(log),
    )

    deployment.delete(records, parallel=4)

    assert [entry for entry in log if entry[0] == "delete"] == [("delete", "empty")]
    # Journaled only once the bucket is gone: a crash in between leaves them in state, still true.
    assert log.index(("succeed", "empty")) < log.index(("begin", "delete", "empty-policy"))
    for name in ("empty", "empty-encryption", "empty-policy"):
        assert step_of(deployment, name).status is StepStatus.OK
        assert urn(name) not in deployment.records
    assert step_of(deployment, "empty-policy").error == "deleted with empty"


def test_deleted_with_in_the_program_is_recorded_and_honoured_by_the_next_destroy() -> None:
    def program() -> None:
        owner = bucket("owner")
        bucket("owner-policy", pulumi.ResourceOptions(deleted_with=owner, depends_on=[owner]))

    created, _ = up(program)
    records = list(created.records.values())
    assert created.records[urn("owner-policy")].deleted_with == urn("owner")

    handler = FakeBucket()
    destroy = Deployment(previous={r.urn: r for r in records}, handlers={BUCKET: handler}, preview=False)
    destroy.delete(records, parallel=4)
    assert [name for call, name in handler.calls if call == "delete"] == ["owner"]
    assert step_of(destroy, "owner-policy").error == "deleted with owner"
    assert urn("owner-policy") not in destroy.records


def test_preview_reports_a_delete_that_would_fail_as_an_error_and_counts_what_goes_first() -> None:
    handler = Fussy()
    previous = [record("full"), record("other"), record("kept")]
    deployment, _ = up(lambda: bucket("kept"), previous, handler=handler, preview=True)
    deployment.check_deletes()

    errors = [d for d in deployment.diagnostics if d.severity == "error"]
    assert [(d.urn, d.message) for d in errors] == [(urn("full"), "full: it still holds 3 objects")]
    assert dict(handler.checked) == {"full": ["other"], "other": ["full"]}  # each sees the others going
    assert not [call for call in handler.calls if call[0] in ("delete", "create", "update")]


def test_preview_checks_the_old_resource_of_a_replacement() -> None:
    handler = Fussy()
    previous = [record("full", inputs={"bucket": "full"})]
    deployment, _ = up(lambda: bucket("full", bucket="renamed"), previous, handler=handler, preview=True)
    deployment.check_deletes()

    assert deployment.changes[urn("full")].action is Action.REPLACE
    assert [d.message for d in deployment.diagnostics if d.severity == "error"] == ["full: it still holds 3 objects"]


@pytest.mark.parametrize("preview", [True, False], ids=["preview", "up"])
def test_refresh_reads_everything_before_anything_is_applied(preview: bool) -> None:
    class Gone(FakeBucket):
        def read(self, ctx: StepContext, resource_id: str, inputs: dict[str, Any]) -> dict[str, Any] | None:
            self._log("read", resource_id)
            return None  # deleted outside mlplatform (an emulator restart)

    def program() -> None:
        first = bucket("first")
        bucket("second", tags={"uses": first.arn})

    handler = Gone()
    previous = [record("first"), record("second", property_dependencies={"tags": [urn("first")]})]
    deployment = Deployment(
        previous={r.urn: r for r in [provider_record(), *previous]},
        handlers={BUCKET: handler},
        preview=preview,
        refresh=True,
    )
    deployment.read_live(list(deployment.previous.values()), parallel=4)
    from mlplatform.engine.embedded.monitor import EngineMonitor
    from mlplatform.engine.embedded.runner import run_program

    run_program(program, EngineMonitor(deployment, "mlplatform", "test"), preview=preview, parallel=4)

    reads = [i for i, call in enumerate(handler.calls) if call[0] == "read"]
    writes = [i for i, call in enumerate(handler.calls) if call[0] != "read"]
    assert len(reads) == 2 and (not writes or max(reads) < min(writes))
    assert {c.action for c in deployment.changes.values() if c.custom and c.urn != PROVIDER_URN} == {Action.CREATE}
