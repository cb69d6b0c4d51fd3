"""What the Pulumi engine does about a killed run's pending operations, on a checkpoint held in memory.

The stack is a stand-in with the Automation API's three calls the recovery makes (``export_stack``,
``import_stack``, ``refresh``); the same flow against the real CLI, the emulator provider and the emulator is in
``tests/integration/test_pulumi_engine.py``.
"""

from __future__ import annotations

import copy
import json
from contextlib import nullcontext
from types import SimpleNamespace
from typing import Any

import pytest

from mlplatform.app.conventions import CONVENTIONS
from mlplatform.engine.pulumi.lookup import EmulatorLookup
from mlplatform.engine.pulumi.recovery import (
    CannotTell,
    InterruptedCreate,
    PulumiPendingOperationsError,
    recover,
)
from mlplatform.engine.values import SECRET_SIG, SIG_KEY, is_secret, secret

PROVIDER = "urn:pulumi:local::mlplatform::pulumi:providers:aws::aws"
KEY = "urn:pulumi:local::mlplatform::mlplatform:security:Encryption$aws:kms/key:Key::encryption-key"
GROUP = "urn:pulumi:local::mlplatform::mlplatform:ops:Monitoring$aws:cloudwatch/logGroup:LogGroup::monitoring-logs"
BUCKET = "urn:pulumi:local::mlplatform::mlplatform:storage:ArtifactStore$aws:s3/bucket:Bucket::artifacts"
ENDPOINTS = json.dumps([{"kms": "http://127.0.0.1:4566", "logs": "http://127.0.0.1:4566"}])


def _plaintext(value: Any) -> dict[str, Any]:
    """A secret as ``pulumi stack export --show-secrets`` writes it."""
    return {SIG_KEY: SECRET_SIG, "plaintext": json.dumps(value)}


def _deployment() -> dict[str, Any]:
    provider = {"urn": PROVIDER, "id": "p-1", "type": "pulumi:providers:aws", "custom": True}
    provider["inputs"] = {"region": "us-east-1", "endpoints": ENDPOINTS, "accessKey": _plaintext("mlplatform-local")}
    bucket = {"urn": BUCKET, "id": "mlp-artifacts", "type": "aws:s3/bucket:Bucket", "custom": True, "inputs": {}}
    key = {
        "urn": KEY,
        "type": "aws:kms/key:Key",
        "custom": True,
        "provider": f"{PROVIDER}::p-1",
        "inputs": {"description": "platform key", "tags": {"token": _plaintext("s3cr3t")}},
    }
    group = {"urn": GROUP, "type": "aws:cloudwatch/logGroup:LogGroup", "custom": True, "inputs": {"name": "/mlp"}}
    return {
        "resources": [provider, bucket],
        "pending_operations": [
            {"resource": key, "type": "creating"},
            {"resource": group, "type": "creating"},
            {"resource": bucket, "type": "updating"},
        ],
    }


class FakeStack:
    """The Automation API stack calls :func:`recover` makes, on an in-memory checkpoint."""

    def __init__(self, deployment: dict[str, Any], *, refresh_drops: tuple[str, ...] = ()) -> None:
        self.deployment = deployment
        self.imported: list[dict[str, Any]] = []
        self.refreshed: list[list[str]] = []
        self.refresh_drops = refresh_drops

    def export_stack(self) -> Any:
        return SimpleNamespace(deployment=copy.deepcopy(self.deployment))

    def import_stack(self, exported: Any) -> None:
        self.imported.append(copy.deepcopy(exported.deployment))
        self.deployment = {**exported.deployment, "pending_operations": []}  # `stack import` drops them all

    def refresh(self, *, target: list[str], parallel: int, show_secrets: bool) -> None:
        self.refreshed.append(target)
        resources = self.deployment["resources"]
        self.deployment["resources"] = [r for r in resources if r["urn"] not in self.refresh_drops]


def _recover(stack: FakeStack, finder: Any) -> list[Any]:
    return recover(stack, "local", finder, parallel=4, guard=nullcontext)


def test_a_create_that_happened_is_adopted_one_that_did_not_is_dropped_and_the_rest_read_again() -> None:
    stack = FakeStack(_deployment())
    asked: list[InterruptedCreate] = []

    def finder(created: InterruptedCreate) -> tuple[str, dict[str, Any]] | None:
        asked.append(created)
        return (
            ("key-1234", {"arn": "arn:aws:kms:us-east-1:123456789012:key/key-1234", "echo": "s3cr3t"})
            if (created.type == "aws:kms/key:Key")
            else None
        )

    notes = _recover(stack, finder)

    assert [c.urn for c in asked] == [KEY, GROUP]
    key_ask = asked[0]
    assert key_ask.inputs["tags"]["token"] == secret("s3cr3t")  # secrets arrive wrapped, not as checkpoint text
    assert key_ask.provider_inputs["endpoints"] == ENDPOINTS and is_secret(key_ask.provider_inputs["accessKey"])
    (written,) = stack.imported
    assert written["pending_operations"] == [
        op for op in _deployment()["pending_operations"] if op["type"] != "creating"
    ]
    adopted = written["resources"][-1]
    assert adopted["urn"] == KEY and adopted["id"] == "key-1234"
    assert adopted["outputs"]["description"] == "platform key"  # what the lookup does not report: as asked
    assert adopted["outputs"]["arn"].endswith("key/key-1234")
    assert adopted["outputs"]["echo"] == _plaintext("s3cr3t")  # an output echoing a secret input stays secret
    assert GROUP not in {r["urn"] for r in written["resources"]}  # not made: this run creates it
    assert stack.refreshed == [sorted([KEY, BUCKET])]
    (note,) = notes
    assert note.severity == "warning" and "killed during 3 operations" in note.message
    assert "adopted 'encryption-key' (key-1234)" in note.message
    assert "'monitoring-logs' was not created by the interrupted run" in note.message
    assert "'artifacts' was being updated: read live again" in note.message


def test_no_pending_operations_means_no_change() -> None:
    deployment = _deployment()
    deployment["pending_operations"] = []
    stack = FakeStack(deployment)
    assert _recover(stack, lambda created: pytest.fail("nothing to look for")) == []
    assert stack.imported == [] and stack.refreshed == []


@pytest.mark.parametrize(
    ("finder", "reason"),
    [
        (None, "no way to look for them"),
        (lambda created: (_ for _ in ()).throw(CannotTell("no lookup for the type")), "no lookup for the type"),
        (lambda created: (_ for _ in ()).throw(OSError("connection refused")), "OSError: connection refused"),
    ],
    ids=["no finder", "cannot tell", "lookup failed"],
)
def test_without_an_answer_for_every_create_nothing_is_changed(finder: Any, reason: str) -> None:
    stack = FakeStack(_deployment())
    with pytest.raises(PulumiPendingOperationsError) as raised:
        _recover(stack, finder)
    message = str(raised.value)
    assert reason in message and "Nothing was changed" in message
    assert KEY in message and GROUP in message and BUCKET in message  # every operation is named
    assert raised.value.exit_code == 4
    assert stack.imported == [] and stack.refreshed == []


def test_an_adopted_resource_the_provider_cannot_read_is_an_error_not_a_silent_create() -> None:
    stack = FakeStack(_deployment(), refresh_drops=(KEY,))
    with pytest.raises(PulumiPendingOperationsError, match="could not read it by the id found"):
        _recover(stack, lambda created: ("key-1234", {}) if created.urn == KEY else None)


# ---- the emulator lookup ----------------------------------------------------------------------------------------


class _Handler:
    def __init__(self) -> None:
        self.calls: list[tuple[Any, dict[str, Any]]] = []

    def find(self, ctx: Any, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
        self.calls.append((ctx, inputs))
        return ("key-1", {"arn": "arn"})


def _created(endpoints: str = ENDPOINTS, type_: str = "aws:kms/key:Key") -> InterruptedCreate:
    provider = {"region": "us-east-1", "endpoints": endpoints, "accessKey": secret("mlplatform-local")}
    return InterruptedCreate(KEY, type_, {"description": "k", "token": secret("s3cr3t")}, provider)


def test_the_emulator_lookup_asks_the_types_handler_at_the_emulators_current_endpoint() -> None:
    handler = _Handler()
    lookup = EmulatorLookup(CONVENTIONS, "http://127.0.0.1:5999", {"aws:kms/key:Key": handler})  # type: ignore[dict-item]
    assert lookup(_created()) == ("key-1", {"arn": "arn"})
    ((ctx, inputs),) = handler.calls
    assert inputs == {"description": "k", "token": "s3cr3t"}  # handlers take plaintext
    assert ctx.urn == KEY and ctx.urn_tag == CONVENTIONS.urn_tag
    assert ctx.aws.endpoint_for("kms") == "http://127.0.0.1:5999"  # where the emulator is now


@pytest.mark.parametrize(
    ("created", "reason"),
    [
        (_created(type_="aws:ec2/instance:Instance"), "no lookup for the type"),
        (_created(endpoints=json.dumps([{"kms": "https://kms.us-east-1.amazonaws.com"}])), "local emulator"),
        (_created(endpoints=""), "local emulator"),
    ],
    ids=["unknown type", "real AWS endpoint", "no endpoints"],
)
def test_the_emulator_lookup_cannot_tell_outside_the_emulator(created: InterruptedCreate, reason: str) -> None:
    handler = _Handler()
    lookup = EmulatorLookup(CONVENTIONS, "http://127.0.0.1:5999", {"aws:kms/key:Key": handler})  # type: ignore[dict-item]
    with pytest.raises(CannotTell, match=reason):
        lookup(created)
    assert handler.calls == []
