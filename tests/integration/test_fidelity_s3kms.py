"""S3 and KMS handlers follow pulumi-aws against the emulator: the in-place updates the provider makes (a key's
isEnabled and rotation period, lifecycle transitions and filters) really happen, and the names pulumi-aws generates
(bucket, bucketPrefix, alias, alias namePrefix, object key) are generated instead of failing."""

from __future__ import annotations

import re
from typing import Any

import pulumi
import pulumi_aws as aws
import pytest

from mlplatform.engine.model import Action
from tests.integration.harness import client, deploy, destroy, provider

pytestmark = pytest.mark.integration


def _key_program(endpoint: str, *, enabled: bool, period: int) -> None:
    opts = pulumi.ResourceOptions(provider=provider(endpoint))
    key = aws.kms.Key(
        "fid-key",
        description="fidelity key",
        enable_key_rotation=True,
        rotation_period_in_days=period,
        is_enabled=enabled,
        deletion_window_in_days=7,
        opts=opts,
    )
    pulumi.export("key", key.key_id)


def test_key_is_enabled_and_rotation_period_update_in_place(endpoint: str) -> None:
    kms = client(endpoint, "kms")
    first = deploy(lambda: _key_program(endpoint, enabled=False, period=90))
    assert not first.broken, [s.error for s in first.steps if s.error]
    key_id = first.stack_outputs["key"]
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "Disabled"

    enabled = deploy(lambda: _key_program(endpoint, enabled=True, period=180), first.records)
    assert not enabled.broken, [s.error for s in enabled.steps if s.error]
    assert {c.name: c.action for c in enabled.plan() if c.custom and c.action is not Action.SAME} == {
        "fid-key": Action.UPDATE
    }
    assert enabled.stack_outputs["key"] == key_id
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "Enabled"
    assert enabled.counter.by_operation.get("kms:EnableKey") == 1
    assert enabled.counter.by_operation.get("kms:EnableKeyRotation") == 1  # the new period is sent

    # No false drift: a refresh reads isEnabled and the rotation back as the inputs say.
    same = deploy(lambda: _key_program(endpoint, enabled=True, period=180), enabled.records, refresh=True)
    assert {c.name: c.action for c in same.plan() if c.custom and c.action is not Action.SAME} == {}

    disabled = deploy(lambda: _key_program(endpoint, enabled=False, period=180), same.records)
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "Disabled"
    assert disabled.counter.by_operation.get("kms:DisableKey") == 1
    gone = destroy(disabled.records)
    assert not gone.records, [s.error for s in gone.steps if s.error]


def _lifecycle_program(endpoint: str, rule: dict[str, Any]) -> None:
    opts = pulumi.ResourceOptions(provider=provider(endpoint))
    bucket = aws.s3.Bucket("fid-lc-bucket", bucket="mlp-fid-lifecycle", force_destroy=True, opts=opts)
    aws.s3.BucketLifecycleConfiguration("fid-lifecycle", bucket=bucket.id, rules=[rule], opts=opts)


def test_lifecycle_transitions_and_filters_are_carried_and_updated(endpoint: str) -> None:
    s3 = client(endpoint, "s3")
    rule: dict[str, Any] = {
        "id": "archive",
        "status": "Enabled",
        "filter": {"prefix": "raw/"},
        "transitions": [{"days": 30, "storage_class": "STANDARD_IA"}],
        "expiration": {"days": 365},
    }
    first = deploy(lambda: _lifecycle_program(endpoint, rule))
    assert not first.broken, [s.error for s in first.steps if s.error]
    live = s3.get_bucket_lifecycle_configuration(Bucket="mlp-fid-lifecycle")["Rules"][0]
    assert live["Filter"] == {"Prefix": "raw/"}
    assert live["Transitions"] == [{"Days": 30, "StorageClass": "STANDARD_IA"}]

    # No false drift on refresh.
    same = deploy(lambda: _lifecycle_program(endpoint, rule), first.records, refresh=True)
    assert {c.name: c.action for c in same.plan() if c.custom and c.action is not Action.SAME} == {}

    changed = {
        **rule,
        "filter": {"and": {"prefix": "raw/", "tags": {"tier": "cold"}}},
        "transitions": [{"days": 30, "storage_class": "STANDARD_IA"}, {"days": 90, "storage_class": "GLACIER"}],
        "noncurrent_version_transitions": [{"noncurrent_days": 10, "storage_class": "GLACIER"}],
        "expiration": {"date": "2031-01-01T00:00:00Z"},
    }
    updated = deploy(lambda: _lifecycle_program(endpoint, changed), same.records)
    assert not updated.broken, [s.error for s in updated.steps if s.error]
    assert {c.name: c.action for c in updated.plan() if c.custom and c.action is not Action.SAME} == {
        "fid-lifecycle": Action.UPDATE
    }
    live = s3.get_bucket_lifecycle_configuration(Bucket="mlp-fid-lifecycle")["Rules"][0]
    assert live["Filter"] == {"And": {"Prefix": "raw/", "Tags": [{"Key": "tier", "Value": "cold"}]}}
    assert sorted(t["StorageClass"] for t in live["Transitions"]) == ["GLACIER", "STANDARD_IA"]
    assert live["NoncurrentVersionTransitions"] == [{"NoncurrentDays": 10, "StorageClass": "GLACIER"}]
    assert live["Expiration"]["Date"].year == 2031
    again = deploy(lambda: _lifecycle_program(endpoint, changed), updated.records, refresh=True)
    assert {c.name: c.action for c in again.plan() if c.custom and c.action is not Action.SAME} == {}
    gone = destroy(again.records)
    assert not gone.records, [s.error for s in gone.steps if s.error]


def _named_program(endpoint: str) -> None:
    opts = pulumi.ResourceOptions(provider=provider(endpoint))
    auto = aws.s3.Bucket("Fid-Auto", force_destroy=True, opts=opts)
    prefixed = aws.s3.Bucket("fid-prefixed", bucket_prefix="mlp-fid-", force_destroy=True, opts=opts)
    key = aws.kms.Key("fid-alias-key", deletion_window_in_days=7, opts=opts)
    auto_alias = aws.kms.Alias("fid-alias", target_key_id=key.key_id, opts=opts)
    prefixed_alias = aws.kms.Alias("fid-alias-prefixed", name_prefix="alias/fid-", target_key_id=key.key_id, opts=opts)
    obj = aws.s3.BucketObjectv2("fid-object", bucket=auto.id, content="hello", opts=opts)
    pulumi.export("auto", auto.bucket)
    pulumi.export("prefixed", prefixed.bucket)
    pulumi.export("alias", auto_alias.name)
    pulumi.export("alias_prefixed", prefixed_alias.name)
    pulumi.export("key", obj.key)


def test_names_pulumi_aws_generates_are_generated(endpoint: str) -> None:
    first = deploy(lambda: _named_program(endpoint))
    assert not first.broken, [s.error for s in first.steps if s.error]
    out = first.stack_outputs
    assert re.fullmatch(r"fid-auto-[0-9a-f]{7}", out["auto"]), out["auto"]
    assert re.fullmatch(r"mlp-fid-\d{18}[0-9a-f]{8}", out["prefixed"]), out["prefixed"]
    assert re.fullmatch(r"alias/fid-alias-[0-9a-f]{7}", out["alias"]), out["alias"]
    assert re.fullmatch(r"alias/fid-\d{18}[0-9a-f]{8}", out["alias_prefixed"]), out["alias_prefixed"]
    assert out["key"] == "fid-object"

    s3, kms = client(endpoint, "s3"), client(endpoint, "kms")
    buckets = {b["Name"] for b in s3.list_buckets()["Buckets"]}
    assert {out["auto"], out["prefixed"]} <= buckets
    assert s3.get_object(Bucket=out["auto"], Key="fid-object")["Body"].read() == b"hello"
    aliases = {a["AliasName"] for a in kms.list_aliases()["Aliases"]}
    assert {out["alias"], out["alias_prefixed"]} <= aliases

    # The generated names are kept: a second run changes nothing.
    second = deploy(lambda: _named_program(endpoint), first.records)
    assert {c.name: c.action for c in second.plan() if c.custom and c.action is not Action.SAME} == {}
    assert second.stack_outputs == out

    gone = destroy(second.records)
    assert not gone.records, [s.error for s in gone.steps if s.error]
    assert not {out["auto"], out["prefixed"]} & {b["Name"] for b in s3.list_buckets()["Buckets"]}
