"""S3 and KMS handlers against the real moto server, through the embedded engine; checked with boto3."""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws
import pytest

from mlplatform.engine.model import Action
from tests.integration.harness import client, deploy, destroy, provider

pytestmark = pytest.mark.integration


def _program(endpoint: str, *, versioning: str = "Enabled", tags: dict[str, str] | None = None) -> None:
    opts = pulumi.ResourceOptions(provider=provider(endpoint))
    key = aws.kms.Key(
        "key",
        description="platform key",
        enable_key_rotation=True,
        deletion_window_in_days=7,
        tags={"managed-by": "mlplatform"},
        opts=opts,
    )
    aws.kms.Alias("alias", name="alias/mlp-s3kms", target_key_id=key.key_id, opts=opts)
    bucket = aws.s3.Bucket(
        "bucket", bucket="mlp-s3kms-artifacts", force_destroy=True, tags=tags or {"managed-by": "mlplatform"}, opts=opts
    )
    aws.s3.BucketVersioning("versioning", bucket=bucket.id, versioning_configuration={"status": versioning}, opts=opts)
    aws.s3.BucketServerSideEncryptionConfiguration(
        "encryption",
        bucket=bucket.id,
        rules=[
            {
                "apply_server_side_encryption_by_default": {"sse_algorithm": "aws:kms", "kms_master_key_id": key.arn},
                "bucket_key_enabled": True,
            }
        ],
        opts=opts,
    )
    aws.s3.BucketPublicAccessBlock(
        "public-access",
        bucket=bucket.id,
        block_public_acls=True,
        block_public_policy=True,
        ignore_public_acls=True,
        restrict_public_buckets=True,
        opts=opts,
    )
    aws.s3.BucketPolicy(
        "policy",
        bucket=bucket.id,
        policy=bucket.arn.apply(
            lambda arn: json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "TlsOnly",
                            "Effect": "Deny",
                            "Principal": "*",
                            "Action": "s3:*",
                            "Resource": [arn, f"{arn}/*"],
                            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                        }
                    ],
                }
            )
        ),
        opts=opts,
    )
    aws.s3.BucketLifecycleConfiguration(
        "lifecycle",
        bucket=bucket.id,
        rules=[
            {
                "id": "noncurrent",
                "status": "Enabled",
                "filter": {"prefix": ""},
                "noncurrent_version_expiration": {"noncurrent_days": 90},
            }
        ],
        opts=opts,
    )
    # Access logs go to a second bucket whose policy lets the S3 logging service write (AWS and moto check).
    logs = aws.s3.Bucket("logs", bucket="mlp-s3kms-logs", force_destroy=True, opts=opts)
    log_policy = aws.s3.BucketPolicy(
        "logs-policy",
        bucket=logs.id,
        policy=logs.arn.apply(
            lambda arn: json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "S3ServerAccessLogs",
                            "Effect": "Allow",
                            "Principal": {"Service": "logging.s3.amazonaws.com"},
                            "Action": ["s3:PutObject"],
                            "Resource": f"{arn}/*",
                        }
                    ],
                }
            )
        ),
        opts=opts,
    )
    aws.s3.BucketLogging(
        "logging",
        bucket=bucket.id,
        target_bucket=logs.id,
        target_prefix="access/",
        opts=pulumi.ResourceOptions(provider=opts.provider, depends_on=[log_policy]),
    )
    pulumi.export("bucket", bucket.bucket)


def test_create_noop_drift_and_destroy(endpoint: str) -> None:
    first = deploy(lambda: _program(endpoint))
    assert not first.broken, [s.error for s in first.steps if s.error]
    s3, kms = client(endpoint, "s3"), client(endpoint, "kms")
    assert s3.get_bucket_versioning(Bucket="mlp-s3kms-artifacts")["Status"] == "Enabled"
    rule = s3.get_bucket_encryption(Bucket="mlp-s3kms-artifacts")["ServerSideEncryptionConfiguration"]["Rules"][0]
    key_arn = rule["ApplyServerSideEncryptionByDefault"]["KMSMasterKeyID"]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert kms.get_key_rotation_status(KeyId=key_arn)["KeyRotationEnabled"] is True
    assert all(s3.get_public_access_block(Bucket="mlp-s3kms-artifacts")["PublicAccessBlockConfiguration"].values())
    assert first.stack_outputs["bucket"] == "mlp-s3kms-artifacts"

    assert s3.get_bucket_logging(Bucket="mlp-s3kms-artifacts")["LoggingEnabled"]["TargetBucket"] == "mlp-s3kms-logs"

    second = deploy(lambda: _program(endpoint), first.records)
    assert {c.action for c in second.plan() if c.custom} == {Action.SAME}
    assert second.counter.mutating == 0 and second.counter.total == 0

    # Refresh without changes: every handler's read matches its inputs (no false drift), nothing is written.
    unchanged = deploy(lambda: _program(endpoint), second.records, refresh=True)
    assert {
        c.name: (c.action, c.detail) for c in unchanged.plan() if c.custom and (c.action is not Action.SAME or c.detail)
    } == {}
    assert unchanged.counter.mutating == 0 and unchanged.counter.total > 0
    second = unchanged

    # Drift: versioning suspended behind mlplatform's back; refresh sees it and up repairs it.
    s3.put_bucket_versioning(Bucket="mlp-s3kms-artifacts", VersioningConfiguration={"Status": "Suspended"})
    repaired = deploy(lambda: _program(endpoint), second.records, refresh=True)
    changed = {c.name: c for c in repaired.plan() if c.action is not Action.SAME}
    assert set(changed) == {"versioning"} and changed["versioning"].action is Action.UPDATE
    assert s3.get_bucket_versioning(Bucket="mlp-s3kms-artifacts")["Status"] == "Enabled"

    # An update in place: tags change, nothing is replaced.
    retagged = deploy(lambda: _program(endpoint, tags={"managed-by": "mlplatform", "team": "ml"}), repaired.records)
    assert {c.name: c.action for c in retagged.plan() if c.action is not Action.SAME} == {"bucket": Action.UPDATE}
    tags = {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket="mlp-s3kms-artifacts")["TagSet"]}
    assert tags == {"managed-by": "mlplatform", "team": "ml"}

    gone = destroy(retagged.records)
    assert not gone.records, [s.error for s in gone.steps if s.error]
    assert not {"mlp-s3kms-artifacts", "mlp-s3kms-logs"} & {b["Name"] for b in s3.list_buckets()["Buckets"]}
    assert kms.describe_key(KeyId=key_arn)["KeyMetadata"]["KeyState"] == "PendingDeletion"
