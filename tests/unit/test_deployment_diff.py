"""Deployment: diffs, replacements, protect, retain_on_delete, failures and targets — with a fake handler.

Programs run through the real SDK and monitor in apply mode; the only handler is :class:`FakeBucket`,
which records its calls instead of calling AWS, so nothing here needs the emulator.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable
from typing import Any

import pulumi
import pulumi_aws as aws
import pytest

from mlplatform.engine.embedded.deployment import Deployment, Journal, Record, diff_keys
from mlplatform.engine.embedded.handlers.base import Handler, StepContext
from mlplatform.engine.embedded.monitor import EngineMonitor
from mlplatform.engine.embedded.runner import run_program
from mlplatform.engine.embedded.state import ResourceState
from mlplatform.engine.model import Action, StepStatus
from mlplatform.engine.values import (
    COMPUTED_MASK,
    SECRET_MASK,
    UNKNOWN,
    contains_secret,
    contains_unknown,
    mask,
    reveal,
    secret,
)
from mlplatform.errors import ConfigError

PREFIX = "urn:pulumi:test::mlplatform::"
BUCKET = "aws:s3/bucket:Bucket"
PROVIDER_URN = f"{PREFIX}pulumi:providers:aws::local"


def urn(name: str) -> str:
    return f"{PREFIX}{BUCKET}::{name}"


class FakeBucket(Handler):
    """Records every call; ``bucket`` forces a replacement like the real provider's ForceNew."""

    type = BUCKET
    service = "s3"
    replace_on_change = frozenset({"bucket"})

    def __init__(self, log: list[tuple[str, ...]] | None = None, fail_create: frozenset[str] = frozenset()) -> None:
        self.calls: list[tuple[str, ...]] = log if log is not None else []
        self.fail_create = fail_create
        self.lock = threading.Lock()

    def _log(self, *call: str) -> None:
        with self.lock:
            self.calls.append(call)

    def create(self, ctx: StepContext, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        self._log("create", inputs["bucket"])
        if inputs["bucket"] in self.fail_create:
            raise RuntimeError(f"BucketAlreadyExists: {inputs['bucket']}")
        return inputs["bucket"], {"arn": f"arn:aws:s3:::{inputs['bucket']}"}

    def read(self, ctx: StepContext, resource_id: str, inputs: dict[str, Any]) -> dict[str, Any] | None:
        self._log("read", resource_id)
        return {key: inputs[key] for key in ("bucket", "tags") if key in inputs}

    def update(
        self, ctx: StepContext, resource_id: str, olds: dict[str, Any], news: dict[str, Any], outputs: dict[str, Any]
    ) -> dict[str, Any]:
        self._log("update", resource_id)
        return {"arn": f"arn:aws:s3:::{resource_id}"}

    def delete(self, ctx: StepContext, resource_id: str, inputs: dict[str, Any], outputs: dict[str, Any]) -> None:
        self._log("delete", resource_id)


class RecordingJournal(Journal):
    """Writes begin/succeed/fail into the handler's call log, to check their order against the calls."""

    def __init__(self, log: list[tuple[str, ...]]) -> None:
        self.log = log
        self.count = 0

    def begin(self, op: str, record: ResourceState | None, urn: str, type_: str, detail: dict[str, Any]) -> str:
        self.count += 1
        self.log.append(("begin", op, urn.rsplit("::", 1)[-1]))
        return str(self.count)

    def succeed(self, op_id: str, record: ResourceState | None, urn: str) -> None:
        self.log.append(("succeed", urn.rsplit("::", 1)[-1]))

    def fail(self, op_id: str, error: str) -> None:
        self.log.append(("fail", op_id))


def provider() -> aws.Provider:
    return aws.Provider(
        "local",
        region="us-east-1",
        access_key="testing",
        secret_key="testing",
        skip_credentials_validation=True,
        skip_requesting_account_id=True,
        skip_metadata_api_check=True,
        endpoints=[aws.ProviderEndpointArgs(s3="http://127.0.0.1:9")],  # never called: the handler is fake
    )


def bucket(name: str, opts: pulumi.ResourceOptions | None = None, **props: Any) -> aws.s3.Bucket:
    props.setdefault("bucket", name)
    return aws.s3.Bucket(name, **props, opts=pulumi.ResourceOptions(provider=provider()).merge(opts))


def record(name: str, **fields: Any) -> Record:
    inputs = fields.pop("inputs", {"bucket": name})
    return Record(
        urn=urn(name),
        type=BUCKET,
        id=inputs["bucket"],
        inputs=inputs,
        outputs={**inputs, "arn": f"arn:aws:s3:::{inputs['bucket']}"},
        parent=f"{PREFIX}pulumi:pulumi:Stack::mlplatform-test",
        provider=f"{PROVIDER_URN}::prov-id",
        **fields,
    )


def provider_record() -> Record:
    return Record(
        urn=PROVIDER_URN,
        type="pulumi:providers:aws",
        id="prov-id",
        inputs={"region": "us-east-1"},
        outputs={"region": "us-east-1"},
    )


def up(
    program: Callable[[], object],
    previous: list[Record] = (),  # type: ignore[assignment]
    *,
    handler: FakeBucket | None = None,
    preview: bool = False,
    targets: frozenset[str] | None = None,
    journal: Journal | None = None,
) -> tuple[Deployment, FakeBucket]:
    """Run ``program`` like ``up`` (orphans deleted unless something failed); return the deployment and handler."""
    handler = handler or FakeBucket()
    deployment = Deployment(
        previous={r.urn: r for r in [provider_record(), *previous]},
        handlers={BUCKET: handler},
        preview=preview,
        targets=targets,
        journal=journal,
    )
    run_program(lambda: _discard(program), EngineMonitor(deployment, "mlplatform", "test"), preview=preview, parallel=4)
    if not deployment.broken:
        deployment.delete_replaced()
        deployment.delete(deployment.orphans(), parallel=4)
    return deployment, handler


def _discard(program: Callable[[], object]) -> None:
    program()  # programs here are lambdas returning the resource they declare


def change_of(deployment: Deployment, name: str) -> Any:
    return deployment.changes[urn(name)]


def step_of(deployment: Deployment, name: str) -> Any:
    (step,) = [s for s in deployment.steps if s.change.urn == urn(name)]
    return step


# ----------------------------------------------------------------------------------------------- values


def test_diff_keys_compares_revealed_values_and_treats_unknown_as_changed() -> None:
    olds = {"a": 1, "b": secret("s"), "c": {"x": [1, 2]}, "gone": True, "same_unknown": UNKNOWN}
    news = {"a": 1, "b": "s", "c": {"x": [1, 3]}, "new": False, "same_unknown": UNKNOWN}
    assert diff_keys(olds, news) == ["c", "gone", "new", "same_unknown"]
    assert diff_keys({"t": {"k": secret("v1")}}, {"t": {"k": secret("v2")}}) == ["t"]
    assert diff_keys({"t": [1, {"n": UNKNOWN}]}, {"t": [1, {"n": UNKNOWN}]}) == ["t"]
    assert diff_keys({}, {}) == []


def test_values_reveal_mask_and_detect_markers() -> None:
    value = {"p": secret({"inner": [secret("deep")]}), "u": UNKNOWN, "l": [UNKNOWN, 1]}
    assert reveal(value) == {"p": {"inner": ["deep"]}, "u": UNKNOWN, "l": [UNKNOWN, 1]}
    assert mask(value) == {"p": SECRET_MASK, "u": COMPUTED_MASK, "l": [COMPUTED_MASK, 1]}
    assert contains_unknown(secret([UNKNOWN])) and not contains_unknown({"a": [1, "x"]})
    assert contains_secret([{"a": secret(1)}]) and not contains_secret({"a": [1]})
    assert reveal(secret(secret("x"))) == "x"


# ------------------------------------------------------------------------------------------- the basics


def test_unchanged_program_makes_no_call() -> None:
    deployment, handler = up(lambda: bucket("data"), [record("data")])
    assert change_of(deployment, "data").action is Action.SAME
    assert handler.calls == []
    assert deployment.records[urn("data")].id == "data"


def test_changed_input_is_an_update_journaled_around_the_call() -> None:
    log: list[tuple[str, ...]] = []
    deployment, _ = up(
        lambda: bucket("data", tags={"team": "b"}),
        [record("data", inputs={"bucket": "data", "tags": {"team": "a"}})],
        handler=FakeBucket(log),
        journal=RecordingJournal(log),
    )
    change = change_of(deployment, "data")
    assert change.action is Action.UPDATE and change.diff == ("tags",)
    assert log == [("begin", "update", "data"), ("update", "data"), ("succeed", "data")]
    assert deployment.records[urn("data")].inputs == {"bucket": "data", "tags": {"team": "b"}}


# ------------------------------------------------------------------------------------------ ignore_changes


def test_ignore_changes_keeps_the_recorded_value() -> None:
    previous = [record("data", inputs={"bucket": "data", "tags": {"team": "a"}})]
    ignore = pulumi.ResourceOptions(ignore_changes=["tags"])

    deployment, handler = up(lambda: bucket("data", ignore, tags={"team": "b"}), previous)

    assert change_of(deployment, "data").action is Action.SAME
    assert handler.calls == []
    assert deployment.records[urn("data")].inputs["tags"] == {"team": "a"}


def test_ignore_changes_does_not_hide_other_keys() -> None:
    previous = [record("data", inputs={"bucket": "data", "tags": {"team": "a"}, "forceDestroy": False})]
    ignore = pulumi.ResourceOptions(ignore_changes=["tags"])
    deployment, handler = up(lambda: bucket("data", ignore, tags={"team": "b"}, force_destroy=True), previous)
    change = change_of(deployment, "data")
    assert change.action is Action.UPDATE and change.diff == ("forceDestroy",)
    assert handler.calls == [("update", "data")]
    assert deployment.records[urn("data")].inputs == {"bucket": "data", "tags": {"team": "a"}, "forceDestroy": True}


def test_ignore_changes_on_a_nested_path_ignores_only_that_path() -> None:
    previous = [record("data", inputs={"bucket": "data", "tags": {"team": "a", "cost": "1"}})]
    ignore = pulumi.ResourceOptions(ignore_changes=["tags.team"])
    deployment, _ = up(lambda: bucket("data", ignore, tags={"team": "b", "cost": "2"}), previous)
    assert change_of(deployment, "data").action is Action.UPDATE
    assert deployment.records[urn("data")].inputs["tags"] == {"team": "a", "cost": "2"}


# --------------------------------------------------------------------------------------------- replace


def test_handler_replace_on_change_key_forces_replace_with_that_reason() -> None:
    previous = [record("data", inputs={"bucket": "old-name", "tags": {"team": "a"}})]
    deployment, handler = up(lambda: bucket("data", bucket="new-name", tags={"team": "b"}), previous)

    change = change_of(deployment, "data")
    assert change.action is Action.REPLACE
    assert change.diff == ("bucket", "tags")
    assert change.replace_reasons == ("bucket",)  # tags changed too, but only bucket forces it
    # The physical name changed, so both can coexist: create first, then delete the old one.
    assert handler.calls == [("create", "new-name"), ("delete", "old-name")]
    assert deployment.records[urn("data")].id == "new-name"


def test_a_replacement_deletes_the_old_resource_after_its_dependents_point_at_the_new_one() -> None:
    # Pulumi's order: create the replacement, update what depends on it, delete the old one last, so no
    # dependent ever points at a deleted resource.
    log: list[tuple[str, ...]] = []
    previous = [
        record("data", inputs={"bucket": "old-name"}),
        record(
            "logs", inputs={"bucket": "logs", "tags": {"target": "arn:aws:s3:::old-name"}}, dependencies=[urn("data")]
        ),
    ]

    def program() -> None:
        data = bucket("data", bucket="new-name")
        bucket("logs", tags={"target": data.arn}, opts=None)

    deployment, handler = up(program, previous, handler=FakeBucket(log), journal=RecordingJournal(log))
    calls = [call for call in handler.calls if call[0] in ("create", "update", "delete")]
    assert calls == [("create", "new-name"), ("update", "logs"), ("delete", "old-name")]
    # The old resource stays on record (a pending discard) until its delete has succeeded.
    assert log.index(("begin", "discard", "data")) < log.index(("update", "logs")) < log.index(("delete", "old-name"))
    assert log.index(("delete", "old-name")) < len(log) - 1 and log[-1] == ("succeed", "data")
    assert change_of(deployment, "data").action is Action.REPLACE
    assert deployment.records[urn("data")].id == "new-name"


def test_the_old_resource_of_a_replacement_an_earlier_run_left_is_deleted_by_the_next_run() -> None:
    log: list[tuple[str, ...]] = []
    handler = FakeBucket(log)
    deployment = Deployment(
        previous={PROVIDER_URN: provider_record()},
        handlers={BUCKET: handler},
        preview=False,
        journal=RecordingJournal(log),
    )
    deployment.delete_replaced([("op-7", record("data", inputs={"bucket": "old-name"}))])
    assert log == [("delete", "old-name"), ("succeed", "data")]  # the discard settles once it is deleted
    assert deployment.steps == []


def test_a_replaced_resource_whose_delete_fails_is_reported_and_stays_pending() -> None:
    class Stubborn(FakeBucket):
        def delete(self, ctx: StepContext, resource_id: str, inputs: dict[str, Any], outputs: dict[str, Any]) -> None:
            raise RuntimeError("DependencyViolation: still in use")

    log: list[tuple[str, ...]] = []
    previous = [record("data", inputs={"bucket": "old-name"})]
    deployment, _ = up(lambda: bucket("data", bucket="new-name"), previous, handler=Stubborn(log),
                       journal=RecordingJournal(log))  # fmt: skip
    (failed,) = [step for step in deployment.steps if step.status is StepStatus.FAILED]
    assert failed.change.action is Action.DELETE and "DependencyViolation" in (failed.error or "")
    # After the discard began, only the replacement itself succeeded: the discard stays pending.
    assert log[log.index(("begin", "discard", "data")) :].count(("succeed", "data")) == 1
    assert deployment.records[urn("data")].id == "new-name"


def test_preview_of_a_replacement_calls_nothing() -> None:
    previous = [record("data", inputs={"bucket": "old-name"})]
    deployment, handler = up(lambda: bucket("data", bucket="new-name"), previous, preview=True)
    assert change_of(deployment, "data").action is Action.REPLACE
    assert handler.calls == [] and deployment.steps == []


def test_delete_before_replace_option_deletes_first() -> None:
    previous = [record("data", inputs={"bucket": "old-name"})]
    opts = pulumi.ResourceOptions(delete_before_replace=True)
    _, handler = up(lambda: bucket("data", opts, bucket="new-name"), previous)
    assert handler.calls == [("delete", "old-name"), ("create", "new-name")]


def test_replace_on_changes_option_forces_replace() -> None:
    previous = [record("data", inputs={"bucket": "data", "forceDestroy": False})]
    opts = pulumi.ResourceOptions(replace_on_changes=["forceDestroy"])
    deployment, handler = up(lambda: bucket("data", opts, force_destroy=True), previous)
    change = change_of(deployment, "data")
    assert change.action is Action.REPLACE and change.replace_reasons == ("forceDestroy",)
    # Same physical name: a delete-before-create is not inferred without name_key, so create runs first.
    assert handler.calls == [("create", "data"), ("delete", "data")]


# --------------------------------------------------------------------------------------------- protect


def test_protected_orphan_is_not_deleted_and_the_step_says_why() -> None:
    previous = [record("keep", protect=True), record("other")]
    deployment, handler = up(lambda: provider(), previous)

    step = step_of(deployment, "keep")
    assert step.status is StepStatus.FAILED
    assert step.error is not None and "protected" in step.error and "protect: false" in step.error
    assert ("delete", "keep") not in handler.calls
    assert ("delete", "other") in handler.calls  # independent deletes carry on
    assert urn("keep") in deployment.records  # still in state


def test_destroy_keeps_what_a_protected_resource_depends_on() -> None:
    records = [provider_record(), record("keep", protect=True)]
    deployment = Deployment(previous={r.urn: r for r in records}, handlers={BUCKET: FakeBucket()}, preview=False)
    deployment.delete(records, parallel=4)
    assert set(deployment.records) == {PROVIDER_URN, urn("keep")}
    statuses = {s.change.urn: s.status for s in deployment.steps}
    assert statuses == {urn("keep"): StepStatus.FAILED, PROVIDER_URN: StepStatus.SKIPPED}


def test_replacement_of_a_protected_resource_is_refused_and_calls_nothing() -> None:
    previous = [record("keep", protect=True, inputs={"bucket": "old-name"})]
    opts = pulumi.ResourceOptions(protect=True)
    deployment, handler = up(lambda: bucket("keep", opts, bucket="new-name"), previous)

    step = step_of(deployment, "keep")
    assert step.status is StepStatus.FAILED
    assert step.error is not None and "protected" in step.error and "bucket" in step.error
    assert handler.calls == []
    assert deployment.records[urn("keep")].id == "old-name"


# ------------------------------------------------------------------------------------- retain_on_delete


def test_retained_orphan_leaves_state_without_a_delete_call() -> None:
    log: list[tuple[str, ...]] = []
    previous = [record("kept-in-cloud", retain_on_delete=True)]
    deployment, handler = up(lambda: provider(), previous, handler=FakeBucket(log), journal=RecordingJournal(log))

    assert handler.calls == [("begin", "delete", "kept-in-cloud"), ("succeed", "kept-in-cloud")]
    assert urn("kept-in-cloud") not in deployment.records
    step = step_of(deployment, "kept-in-cloud")
    assert step.status is StepStatus.OK and step.error == "retained: dropped from state only"


# -------------------------------------------------------------------------------------------- failures


def test_failure_skips_dependents_and_independent_resources_carry_on() -> None:
    def program() -> None:
        first = bucket("first")
        bucket("second", pulumi.ResourceOptions(depends_on=[first]))
        bucket("third", tags={"uses": first.arn})  # a property dependency
        bucket("independent")

    handler = FakeBucket(fail_create=frozenset({"first"}))
    deployment, _ = up(program, handler=handler)

    first = step_of(deployment, "first")
    assert first.status is StepStatus.FAILED and first.error is not None and "BucketAlreadyExists" in first.error
    assert step_of(deployment, "second").status is StepStatus.SKIPPED
    assert step_of(deployment, "third").status is StepStatus.SKIPPED
    assert step_of(deployment, "independent").status is StepStatus.OK
    created = sorted(name for call, name in handler.calls if call == "create")
    assert created == ["first", "independent"]
    assert {urn("first"), urn("second"), urn("third")} <= deployment.broken
    assert urn("independent") in deployment.records and urn("second") not in deployment.records


def test_failed_update_keeps_the_old_record_and_orphans_are_not_deleted() -> None:
    class FailingUpdate(FakeBucket):
        def update(self, *args: Any) -> dict[str, Any]:
            raise RuntimeError("AccessDenied")

    previous = [record("data", inputs={"bucket": "data", "tags": {"v": "1"}}), record("orphan")]
    deployment, handler = up(lambda: bucket("data", tags={"v": "2"}), previous, handler=FailingUpdate())
    assert step_of(deployment, "data").status is StepStatus.FAILED
    assert deployment.records[urn("data")].inputs["tags"] == {"v": "1"}
    assert ("delete", "orphan") not in handler.calls  # a broken run never removes infrastructure


def test_deletes_run_dependents_first_and_a_failed_delete_keeps_its_dependencies() -> None:
    class FailingDelete(FakeBucket):
        def delete(self, ctx: StepContext, resource_id: str, *args: Any) -> None:
            super().delete(ctx, resource_id, *args)
            if resource_id == "middle":
                raise RuntimeError("BucketNotEmpty")

    records = [
        provider_record(),
        record("base"),
        record("middle", dependencies=[urn("base")]),
        record("top", property_dependencies={"tags": [urn("middle")]}),
        record("alone"),
    ]
    handler = FailingDelete()
    deployment = Deployment(previous={r.urn: r for r in records}, handlers={BUCKET: handler}, preview=False)
    deployment.delete(records, parallel=4)

    deleted = [name for call, name in handler.calls if call == "delete"]
    assert deleted.index("top") < deleted.index("middle")
    assert "base" not in deleted  # still needed by the resource that could not be deleted
    assert set(deployment.records) == {PROVIDER_URN, urn("base"), urn("middle")}
    assert step_of(deployment, "base").status is StepStatus.SKIPPED
    assert step_of(deployment, "alone").status is StepStatus.OK


# --------------------------------------------------------------------------------------------- targets


def test_targets_change_only_the_targeted_resources() -> None:
    previous = [
        record("aimed", inputs={"bucket": "aimed", "tags": {"v": "1"}}),
        record("other", inputs={"bucket": "other", "tags": {"v": "1"}}),
    ]

    def program() -> None:
        bucket("aimed", tags={"v": "2"})
        bucket("other", tags={"v": "2"})
        bucket("brand-new")

    deployment, handler = up(program, previous, targets=frozenset({urn("aimed")}))

    assert change_of(deployment, "aimed").action is Action.UPDATE
    assert change_of(deployment, "other").action is Action.SAME
    assert handler.calls == [("update", "aimed")]
    # Left out of the plan and the steps (Terraform leaves untargeted resources out), named once in a warning.
    assert urn("brand-new") not in deployment.changes and urn("brand-new") not in {
        s.change.urn for s in deployment.steps
    }
    deployment.note_untargeted()
    assert any(
        "--target leaves out 1 resource" in d.message and "brand-new" in d.message for d in deployment.diagnostics
    )


def test_untargeted_resource_keeps_its_recorded_inputs() -> None:
    previous = [
        record("aimed", inputs={"bucket": "aimed", "tags": {"v": "1"}}),
        record("other", inputs={"bucket": "other", "tags": {"v": "1"}}),
    ]

    def program() -> None:
        bucket("aimed", tags={"v": "2"})
        bucket("other", tags={"v": "2"})

    deployment, _ = up(program, previous, targets=frozenset({urn("aimed")}))
    assert deployment.records[urn("other")].inputs["tags"] == {"v": "1"}


def test_a_failing_read_fails_that_resource_only() -> None:
    """A refresh whose read of one resource fails reports that resource as failed and skips what depends on
    it; everything else is refreshed and applied (the whole program used to abort)."""

    class BrokenRead(FakeBucket):
        def read(self, ctx: StepContext, resource_id: str, inputs: dict[str, Any]) -> dict[str, Any] | None:
            if resource_id == "first":
                raise RuntimeError("AccessDenied while reading first")
            return super().read(ctx, resource_id, inputs)

    def program() -> None:
        first = bucket("first")
        bucket("second", tags={"uses": first.arn})
        bucket("independent", tags={"team": "b"})

    handler = BrokenRead()
    deployment = Deployment(
        previous={r.urn: r for r in [provider_record(), record("first"), record("second"), record("independent")]},
        handlers={BUCKET: handler},
        preview=False,
        refresh=True,
    )
    run_program(lambda: _discard(program), EngineMonitor(deployment, "mlplatform", "test"), preview=False, parallel=4)
    first = step_of(deployment, "first")
    assert first.status is StepStatus.FAILED and "failed reading its live state" in (first.error or "")
    assert "AccessDenied" in (first.error or "")
    assert step_of(deployment, "second").status is StepStatus.SKIPPED
    assert step_of(deployment, "independent").status is StepStatus.OK
    assert ("update", "independent") in handler.calls
    assert deployment.records[urn("first")].inputs == {"bucket": "first"}  # state kept as it was


# ------------------------------------------------------------------ values at the engine boundary (numbers, unknowns)


def raw_bucket(name: str, **props: Any) -> pulumi.CustomResource:
    """A resource of the fake handler's type with arbitrary inputs (numbers, nested values)."""
    return pulumi.CustomResource(
        BUCKET, name, {"bucket": name, **props}, opts=pulumi.ResourceOptions(provider=provider())
    )


def test_numbers_reach_the_engine_as_the_program_wrote_them() -> None:
    """Protobuf carries every number as a double; the monitor gives the engine ints back (2, not 2.0)."""
    deployment, _ = up(lambda: raw_bucket("data", days=2, rules=[{"expire": {"days": 90}}], ratio=0.5))
    inputs = deployment.records[urn("data")].inputs
    assert inputs["days"] == 2 and type(inputs["days"]) is int
    assert type(inputs["rules"][0]["expire"]["days"]) is int
    assert inputs["ratio"] == 0.5  # a real fraction stays a float
    assert change_of(deployment, "data").after["days"] == 2


def test_state_written_with_floats_shows_no_diff_against_ints() -> None:
    """State files written before the normalisation hold 2.0: that must not look like a change."""
    previous = [record("data", inputs={"bucket": "data", "days": 2.0, "rules": [{"expire": {"days": 90.0}}]})]
    deployment, handler = up(lambda: raw_bucket("data", days=2, rules=[{"expire": {"days": 90}}]), previous)
    change = change_of(deployment, "data")
    assert change.action is Action.SAME and change.property_diff == ()
    assert handler.calls == []


def test_update_carries_a_property_diff_by_path_with_ints() -> None:
    previous = [record("data", inputs={"bucket": "data", "rules": [{"expire": {"days": 90.0}}], "tags": {"a": "1"}})]
    deployment, _ = up(
        lambda: raw_bucket("data", rules=[{"expire": {"days": 30}}], tags={"a": "1"}), previous, preview=True
    )
    change = change_of(deployment, "data")
    assert change.action is Action.UPDATE and change.diff == ("rules",)
    assert [entry.as_dict() for entry in change.property_diff] == [
        {"path": "rules[0].expire.days", "kind": "update", "before": 90, "after": 30}
    ]
    assert type(change.property_diff[0].before) is int  # 90.0 from the old state shows as 90


def test_unknown_inputs_in_a_preview_are_the_unknown_marker_not_sdk_objects() -> None:
    """A preview input that depends on a resource not yet created is unknown: the plan says so in words."""

    def program() -> None:
        first = bucket("first")
        bucket("second", tags={"uses": first.arn})

    deployment, _ = up(program, [record("second", inputs={"bucket": "second", "tags": {"uses": "old"}})], preview=True)
    change = change_of(deployment, "second")
    assert change.after["tags"] == {"uses": COMPUTED_MASK}
    assert [entry.as_dict() for entry in change.property_diff] == [
        {"path": "tags.uses", "kind": "update", "before": "old", "after": "(known after apply)"}
    ]


def test_a_refreshed_plan_never_holds_a_secret_in_plaintext() -> None:
    """Handlers read live values in plaintext; the plan's before (printed by preview --json) must still mask them,
    also for a resource whose read failed."""
    secret_tags = {"bucket": "data", "tags": {"token": secret("hunter2")}}

    class BrokenRead(FakeBucket):
        def read(self, ctx: StepContext, resource_id: str, inputs: dict[str, Any]) -> dict[str, Any] | None:
            if resource_id == "broken":
                raise RuntimeError("AccessDenied")
            live = super().read(ctx, resource_id, inputs) or {}
            return {**live, "forceDestroy": True}  # drift elsewhere: every live value is taken over

    def program() -> None:
        bucket("data", tags={"token": pulumi.Output.secret("hunter3")})
        bucket("broken", tags={"token": pulumi.Output.secret("hunter3")})

    deployment = Deployment(
        previous={
            r.urn: r
            for r in [
                provider_record(),
                record("data", inputs=secret_tags),
                record("broken", inputs={**secret_tags, "bucket": "broken"}),
            ]
        },
        handlers={BUCKET: BrokenRead()},
        preview=True,
        refresh=True,
    )
    run_program(lambda: _discard(program), EngineMonitor(deployment, "mlplatform", "test"), preview=True, parallel=4)
    for name in ("data", "broken"):
        change = change_of(deployment, name)
        assert change.before["tags"] == {"token": SECRET_MASK}, name
        assert "hunter" not in repr(change.as_dict())
    assert [d.path for d in change_of(deployment, "data").property_diff] == [
        "forceDestroy",
        "tags",
    ]  # the SDK makes the whole map secret


# ---------------------------------------------------------------------------------------------- import_


@pytest.mark.parametrize("preview", [True, False])
def test_import_option_is_refused_instead_of_becoming_a_create(preview: bool) -> None:
    # Pulumi adopts the resource with that id; creating a second one instead would be a silent surprise.
    handler = FakeBucket()
    opts = pulumi.ResourceOptions(import_="existing-bucket")
    with pytest.raises(ConfigError) as raised:
        up(lambda: bucket("adopted", opts), handler=handler, preview=preview)
    assert "'adopted'" in raised.value.message and "import_" in raised.value.message
    assert raised.value.hint is not None and "mlplatform import" in raised.value.hint
    assert handler.calls == []


def test_a_refused_registration_is_reported_once_without_asyncio_tracebacks(caplog: pytest.LogCaptureFixture) -> None:
    # The SDK sets the error on futures it never awaits: at garbage collection asyncio would log "Future
    # exception was never retrieved" with a traceback, after the CLI printed the error (and, in tests, while
    # another test runs).
    for _ in range(2):  # the SDK keeps the last run's futures until the next run replaces them
        with pytest.raises(ConfigError):
            up(lambda: bucket("adopted", pulumi.ResourceOptions(import_="existing-bucket")), handler=FakeBucket())
    gc.collect()
    assert not [r for r in caplog.records if "never retrieved" in r.getMessage()]


def test_import_option_on_a_resource_already_in_state_changes_nothing() -> None:
    # Once the resource is in state the option has done its job (Pulumi ignores it then too).
    opts = pulumi.ResourceOptions(import_="adopted")
    deployment, handler = up(lambda: bucket("adopted", opts), [record("adopted")])
    assert change_of(deployment, "adopted").action is Action.SAME
    assert handler.calls == []


def test_a_component_records_the_outputs_it_registers_as_pulumi_does() -> None:
    class Store(pulumi.ComponentResource):
        def __init__(self, name: str) -> None:
            super().__init__("test:storage:Store", name, {}, None)
            made = bucket(f"{name}-data", pulumi.ResourceOptions(parent=self))
            self.register_outputs({"bucket_name": made.bucket, "count": 1})

    deployment, _ = up(lambda: Store("store"))

    (record,) = [r for r in deployment.records.values() if r.type == "test:storage:Store"]
    assert record.outputs == {"bucket_name": "store-data", "count": 1}
