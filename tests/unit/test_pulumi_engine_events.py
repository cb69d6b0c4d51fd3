"""The Pulumi engine's mapping of engine events onto mlplatform's plans (found by the differential test)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from mlplatform.app.conventions import CONVENTIONS
from mlplatform.engine.model import Action, Plan, PlanMode, no_events
from mlplatform.engine.pulumi.engine import _Collector

PROVIDER = "urn:pulumi:local::mlplatform::pulumi:providers:aws::aws"
BUCKET = "urn:pulumi:local::mlplatform::mlplatform:storage:ArtifactStore$aws:s3/bucket:Bucket::artifact-store-logs"


def _pre(urn: str, type_: str, op: str) -> Any:
    state = SimpleNamespace(custom=True, inputs={"bucket": "b"} if "s3" in type_ else {"region": "us-east-1"})
    metadata = SimpleNamespace(op=op, urn=urn, type=type_, old=None, new=state, diffs=[], keys=[])
    return SimpleNamespace(
        resource_pre_event=SimpleNamespace(metadata=metadata),
        res_outputs_event=None,
        res_op_failed_event=None,
        diagnostic_event=None,
        summary_event=None,
    )


def test_a_provider_is_not_counted_as_infrastructure_as_in_the_embedded_engine() -> None:
    collector = _Collector(CONVENTIONS, no_events, applying=False)
    collector(_pre(PROVIDER, "pulumi:providers:aws", "create"))
    collector(_pre(BUCKET, "aws:s3/bucket:Bucket", "create"))
    plan = Plan(PlanMode.UPDATE, "local", "level0", "local", collector.plan_changes(), {}, [])

    assert plan.summary["create"] == 1
    assert [change["urn"] for change in plan.as_dict()["changes"]] == [BUCKET]
    provider = next(change for change in collector.plan_changes() if change.urn == PROVIDER)
    assert provider.action is Action.CREATE and not provider.custom


def test_a_provider_update_alone_is_no_change_to_the_platform() -> None:
    collector = _Collector(CONVENTIONS, no_events, applying=False)
    collector(_pre(PROVIDER, "pulumi:providers:aws", "update"))
    collector(_pre(BUCKET, "aws:s3/bucket:Bucket", "same"))
    plan = Plan(PlanMode.UPDATE, "local", "level0", "local", collector.plan_changes(), {}, [])

    assert not plan.has_changes
