"""Replacement order against the emulator: create the replacement, update its dependents, delete the old one last.

A KMS key whose key spec changes is replaced (the provider's ForceNew); the alias that points at it is updated
in place to the new key. The API calls, recorded in the order the engine made them, must be Pulumi's order, so
the alias never points at a key that is pending deletion; boto3 then checks the result independently.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws
import pytest

from mlplatform.engine.embedded.deployment import Deployment
from mlplatform.engine.embedded.handlers import registry
from mlplatform.engine.embedded.handlers.base import READ_ONLY_PREFIXES, CallCounter
from mlplatform.engine.embedded.monitor import EngineMonitor
from mlplatform.engine.embedded.runner import run_program
from mlplatform.engine.model import Action
from tests.integration.harness import CONVENTIONS, client, provider

pytestmark = pytest.mark.integration


class Sequence(CallCounter):
    """A call counter that also keeps the mutating calls in the order they were made."""

    def __init__(self) -> None:
        super().__init__()
        self.order: list[str] = []

    def __call__(self, model: Any = None, **kwargs: Any) -> None:
        super().__call__(model=model, **kwargs)
        name = getattr(model, "name", "?")
        if not name.startswith(READ_ONLY_PREFIXES):
            with self.lock:
                self.order.append(name)


def _run(program: Any, previous: dict[str, Any]) -> tuple[Deployment, Sequence]:
    calls = Sequence()
    deployment = Deployment(
        previous=previous, handlers=registry(), preview=False, counter=calls, conventions=CONVENTIONS
    )
    run_program(program, EngineMonitor(deployment, "mlplatform", "test"), preview=False, parallel=10)
    assert not deployment.broken, deployment.steps
    deployment.delete_replaced()
    deployment.delete(deployment.orphans(), parallel=10)
    return deployment, calls


def _program(endpoint: str, usage: str, spec: str) -> Any:
    def program() -> None:
        opts = pulumi.ResourceOptions(provider=provider(endpoint))
        key = aws.kms.Key("key", key_usage=usage, customer_master_key_spec=spec, deletion_window_in_days=7, opts=opts)
        aws.kms.Alias("alias", name="alias/mlp-replacement-order", target_key_id=key.key_id, opts=opts)

    return program


def test_a_replaced_key_is_deleted_only_after_the_alias_points_at_its_replacement(endpoint: str) -> None:
    first, _ = _run(_program(endpoint, "ENCRYPT_DECRYPT", "SYMMETRIC_DEFAULT"), {})
    old_key = next(r.id for r in first.records.values() if r.type == "aws:kms/key:Key")

    second, calls = _run(_program(endpoint, "SIGN_VERIFY", "RSA_2048"), dict(first.records))

    actions = {change.name: change.action for change in second.changes.values() if change.custom}
    assert actions == {"key": Action.REPLACE, "alias": Action.UPDATE}
    mutating = [name for name in calls.order if name in ("CreateKey", "UpdateAlias", "ScheduleKeyDeletion")]
    assert mutating == ["CreateKey", "UpdateAlias", "ScheduleKeyDeletion"]

    kms = client(endpoint, "kms")
    new_key = next(r.id for r in second.records.values() if r.type == "aws:kms/key:Key")
    assert new_key != old_key
    alias = next(a for a in kms.list_aliases()["Aliases"] if a["AliasName"] == "alias/mlp-replacement-order")
    assert alias["TargetKeyId"] == new_key
    assert kms.describe_key(KeyId=old_key)["KeyMetadata"]["KeyState"] == "PendingDeletion"
    assert kms.describe_key(KeyId=new_key)["KeyMetadata"]["KeyState"] == "Enabled"
