"""The S3 and KMS handlers refuse what they do not implement (never silently ignore an input), carry every input
the packaged components set, generate the names pulumi-aws would, and the replace-rule table for the group
(/work/rules/s3kms.json when present) names only arguments pulumi-aws has."""

from __future__ import annotations

import re

import pytest

from mlplatform.engine.embedded.handlers import kms, s3, s3_objects
from mlplatform.engine.embedded.handlers.base import Handler
from mlplatform.engine.embedded.handlers.kms import alias_name
from mlplatform.engine.embedded.handlers.s3_objects import object_key

HANDLERS: tuple[type[Handler], ...] = (*s3.HANDLERS, *s3_objects.HANDLERS, *kms.HANDLERS)


def _handler(type_token: str) -> Handler:
    return next(cls() for cls in HANDLERS if cls.type == type_token)


@pytest.mark.parametrize(
    "block",
    [
        "versioning",
        "serverSideEncryptionConfiguration",
        "lifecycleRules",
        "logging",
        "website",
        "corsRules",
        "grants",
        "acl",
        "policy",
        "replicationConfiguration",
        "objectLockConfiguration",
        "accelerationStatus",
        "requestPayer",
        "bucketNamespace",
    ],
)
def test_the_deprecated_inline_bucket_blocks_are_refused(block: str) -> None:
    handler = _handler("aws:s3/bucket:Bucket")
    assert handler.unsupported_inputs({"bucket": "b", block: {"enabled": True}}) == [block]


def test_an_unset_inline_block_is_no_refusal() -> None:
    handler = _handler("aws:s3/bucket:Bucket")
    assert handler.unsupported_inputs({"bucket": "b", "versioning": None, "lifecycleRules": [], "tags": {}}) == []


@pytest.mark.parametrize("key", ["customKeyStoreId", "xksKeyId"])
def test_a_key_in_a_custom_key_store_is_refused(key: str) -> None:
    assert _handler("aws:kms/key:Key").unsupported_inputs({"description": "d", key: "cks-1234"}) == [key]


def test_the_key_implements_is_enabled_and_the_rotation_period() -> None:
    inputs = {"isEnabled": False, "enableKeyRotation": True, "rotationPeriodInDays": 180, "multiRegion": True}
    assert _handler("aws:kms/key:Key").unsupported_inputs(inputs) == []


def test_lifecycle_transitions_and_filters_are_carried() -> None:
    rule = {
        "id": "archive",
        "status": "Enabled",
        "filter": {"and": {"prefix": "raw/", "tags": {"tier": "cold"}}},
        "transitions": [{"days": 30, "storageClass": "STANDARD_IA"}],
        "noncurrentVersionTransitions": [{"noncurrentDays": 30, "storageClass": "GLACIER"}],
        "expiration": {"days": 365},
    }
    handler = _handler("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")
    assert handler.unsupported_inputs({"bucket": "b", "rules": [rule]}) == []


def test_lifecycle_settings_the_emulator_drops_are_refused_by_path() -> None:
    rules = [
        {"id": "a", "status": "Enabled", "filter": {"objectSizeGreaterThan": 10}},
        {"id": "b", "status": "Enabled", "filter": {"and": {"prefix": "p/", "objectSizeLessThan": 99}}},
        {
            "id": "c",
            "status": "Enabled",
            "noncurrentVersionExpiration": {"noncurrentDays": 5, "newerNoncurrentVersions": 2},
        },
    ]
    handler = _handler("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")
    found = handler.unsupported_inputs({"bucket": "b", "rules": rules, "transitionDefaultMinimumObjectSize": "x"})
    assert found == [
        "transitionDefaultMinimumObjectSize",
        "rules[0].filter.objectSizeGreaterThan",
        "rules[1].filter.and.objectSizeLessThan",
        "rules[2].noncurrentVersionExpiration.newerNoncurrentVersions",
    ]


def test_the_lifecycle_rule_goes_to_the_api_whole() -> None:
    import boto3

    s3_client = boto3.client("s3", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    rule = {
        "id": "archive",
        "status": "Enabled",
        "filter": {"and": {"prefix": "raw/", "tags": {"tier": "cold"}}},
        "transitions": [{"days": 30.0, "storageClass": "STANDARD_IA"}],
        "noncurrentVersionTransitions": [{"noncurrentDays": 30, "storageClass": "GLACIER"}],
        "expiration": {"expiredObjectDeleteMarker": True},
    }
    api = s3._lifecycle_rule(s3_client, rule)
    assert api == {
        "ID": "archive",
        "Status": "Enabled",
        "Filter": {"And": {"Prefix": "raw/", "Tags": [{"Key": "tier", "Value": "cold"}]}},
        "Transitions": [{"Days": 30, "StorageClass": "STANDARD_IA"}],
        "NoncurrentVersionTransitions": [{"NoncurrentDays": 30, "StorageClass": "GLACIER"}],
        "Expiration": {"ExpiredObjectDeleteMarker": True},
    }
    # No filter and no prefix: the whole bucket, as an empty prefix filter.
    assert s3._lifecycle_rule(s3_client, {"id": "all", "status": "Enabled"})["Filter"] == {"Prefix": ""}


def test_lifecycle_dates_compare_in_one_spelling() -> None:
    from datetime import UTC, datetime

    sent = [{"ID": "r", "Expiration": {"Date": "2030-01-01T00:00:00Z"}, "Transitions": [{"Days": 2}, {"Days": 1}]}]
    live = [
        {"ID": "r", "Expiration": {"Date": datetime(2030, 1, 1, tzinfo=UTC)}, "Transitions": [{"Days": 1}, {"Days": 2}]}
    ]
    assert s3._normalise_rules(sent) == s3._normalise_rules(live)


def test_encryption_blocked_types_are_refused() -> None:
    handler = _handler("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")
    rules = [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}, "blockedEncryptionTypes": ["SSE-C"]}]
    assert handler.unsupported_inputs({"bucket": "b", "rules": rules}) == ["rules[0].blockedEncryptionTypes"]


@pytest.mark.parametrize(
    ("type_token", "key"),
    [
        ("aws:s3/bucketVersioning:BucketVersioning", "expectedBucketOwner"),
        ("aws:s3/bucketVersioning:BucketVersioning", "mfa"),
        ("aws:s3/bucketLogging:BucketLogging", "targetGrants"),
        ("aws:s3/bucketLogging:BucketLogging", "targetObjectKeyFormat"),
        ("aws:s3/bucketObjectv2:BucketObjectv2", "source"),
        ("aws:s3/bucketObjectv2:BucketObjectv2", "acl"),
        ("aws:s3/bucketObjectv2:BucketObjectv2", "objectLockMode"),
    ],
)
def test_other_unimplemented_inputs_are_refused(type_token: str, key: str) -> None:
    assert _handler(type_token).unsupported_inputs({"bucket": "b", key: "x"}) == [key]


def test_alias_names_follow_pulumi_aws() -> None:
    assert alias_name({"name": "alias/fixed"}, "logical") == "alias/fixed"
    generated = alias_name({}, "platform-alias")
    assert re.fullmatch(r"alias/platform-alias-[0-9a-f]{7}", generated), generated
    # A logical name that already is an alias name gets no second prefix (pulumi/pulumi-aws#1445).
    assert re.fullmatch(r"alias/mine-[0-9a-f]{7}", alias_name({}, "alias/mine"))
    prefixed = alias_name({"namePrefix": "alias/team-"}, "logical")
    assert prefixed.startswith("alias/team-") and len(prefixed) == len("alias/team-") + 26


def test_alias_find_without_a_name_looks_for_nothing() -> None:
    handler = _handler("aws:kms/alias:Alias")
    assert handler.find(None, {"namePrefix": "alias/x-", "targetKeyId": "k"}) is None  # type: ignore[arg-type]


def test_object_key_defaults_to_the_logical_name() -> None:
    assert object_key({"key": "models/a.tar.gz"}, "logical") == "models/a.tar.gz"
    assert object_key({}, "sample-model") == "sample-model"


def test_bucket_find_without_a_name_looks_for_nothing() -> None:
    handler = _handler("aws:s3/bucket:Bucket")
    assert handler.find(None, {"bucketPrefix": "logs-"}) is None  # type: ignore[arg-type]
