"""Storage: the artifact store (artifact bucket + access-log bucket) and the secure bucket it is built from."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from mlplatform.components.common import Platform, child, policy, statement, tls_only_statement


@dataclass(frozen=True)
class SecureBucketArgs:
    """One S3 bucket with the platform's baseline.

    Attributes:
        component: the ``mlplatform:component`` tag value.
        role: what the bucket is for; part of its physical name (``<platform>-<role>-<account>``).
        kms_key_arn: encrypt objects with this KMS key; ``None`` uses SSE-S3 (AES-256), which is what
            AWS requires of a server-access-log target bucket.
        log_bucket: send server access logs to this bucket (under ``log_prefix``); ``None`` for none.
        log_prefix: prefix of this bucket's access logs in ``log_bucket``.
        noncurrent_version_expiration_days: delete replaced object versions after this many days.
        expiration_days: delete objects after this many days; ``None`` keeps them.
        extra_policy_statements: statements added to the bucket policy (the TLS-only deny is always there).
        receives_access_logs: grant the S3 logging service write access (for an access-log bucket).
        versioning: keep every version of every object; ``False`` suspends versioning (a visible security
            override: versions made while it was on stay until the lifecycle rule expires them).
    """

    component: str
    role: str
    kms_key_arn: pulumi.Input[str] | None
    noncurrent_version_expiration_days: int
    versioning: bool
    log_bucket: pulumi.Input[str] | None = None
    log_prefix: str = ""
    expiration_days: int | None = None
    extra_policy_statements: Sequence[dict[str, Any]] = field(default_factory=tuple)
    receives_access_logs: bool = False


class SecureBucket(pulumi.ComponentResource):
    """An S3 bucket that is private, versioned, encrypted, TLS-only, logged, lifecycled and evented.

    Built from pulumi-aws v7's separate resources (versioning, encryption, public-access block,
    ownership controls, policy, logging, lifecycle, notification) rather than the deprecated inline
    arguments, so each setting is its own diffable resource, as in Terraform.
    """

    bucket_name: pulumi.Output[str]
    bucket_arn: pulumi.Output[str]

    def __init__(
        self, name: str, args: SecureBucketArgs, platform: Platform, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlplatform:storage:SecureBucket", name, {}, opts)
        bucket = aws.s3.Bucket(
            f"{name}-bucket",
            bucket=platform.global_name(args.role),
            # Never empty a bucket on delete unless the environment says its data is disposable.
            force_destroy=platform.allow_destroy_data,
            tags=platform.tags_for(args.component),
            opts=child(self, protect=platform.protect),
        )
        # The configuration resources go with the bucket (Pulumi's deletedWith): deleting the bucket removes
        # them, and while it still exists — e.g. its delete is refused because it holds data — they stay, so a
        # failed delete never leaves a data-holding bucket unencrypted, unblocked or without its TLS-only policy.
        with_bucket = child(self, deleted_with=bucket)
        aws.s3.BucketOwnershipControls(
            f"{name}-ownership",
            bucket=bucket.id,
            rule={"object_ownership": "BucketOwnerEnforced"},  # ACLs off: the policy alone decides access
            opts=with_bucket,
        )
        public_access = aws.s3.BucketPublicAccessBlock(
            f"{name}-public-access",
            bucket=bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=with_bucket,
        )
        # "Suspended", not "Disabled": S3 cannot take a bucket back to never-versioned, and a suspended bucket
        # keeps the versions it already has (the lifecycle rule below still expires them).
        aws.s3.BucketVersioning(
            f"{name}-versioning",
            bucket=bucket.id,
            versioning_configuration={"status": "Enabled" if args.versioning else "Suspended"},
            opts=with_bucket,
        )
        default: dict[str, Any] = (
            {"sse_algorithm": "aws:kms", "kms_master_key_id": args.kms_key_arn}
            if args.kms_key_arn is not None
            else {"sse_algorithm": "AES256"}
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption",
            bucket=bucket.id,
            rules=[{"apply_server_side_encryption_by_default": default, "bucket_key_enabled": True}],
            opts=with_bucket,
        )
        # The ARN from the bucket's fixed name when it has one (same value as bucket.arn): the policy is then
        # known before deploying, so `mlplatform export` shows scanners the TLS-only deny and every principal
        # instead of a policy "known after apply".
        physical_name = platform.global_name(args.role)
        bucket_arn: pulumi.Input[str] = (
            f"arn:{platform.partition}:s3:::{physical_name}" if physical_name is not None else bucket.arn
        )
        statements = [tls_only_statement(bucket_arn), *args.extra_policy_statements]
        if args.receives_access_logs:
            statements.append(
                statement(
                    "S3ServerAccessLogsDelivery",
                    ["s3:PutObject"],
                    [pulumi.Output.concat(bucket_arn, "/*")],
                    principal={"Service": "logging.s3.amazonaws.com"},
                    condition={"StringEquals": {"aws:SourceAccount": platform.account}},
                )
            )
        aws.s3.BucketPolicy(
            f"{name}-policy",
            bucket=bucket.id,
            policy=policy(*statements),
            # A policy put while the public-access block is still being applied can be refused.
            opts=child(self, depends_on=[public_access], deleted_with=bucket),
        )
        if args.log_bucket is not None:
            aws.s3.BucketLogging(
                f"{name}-logging",
                bucket=bucket.id,
                target_bucket=args.log_bucket,
                target_prefix=args.log_prefix,
                opts=with_bucket,
            )
        rule: dict[str, Any] = {
            "id": "baseline",
            "status": "Enabled",
            "filter": {"prefix": ""},
            "noncurrent_version_expiration": {"noncurrent_days": args.noncurrent_version_expiration_days},
            "abort_incomplete_multipart_upload": {"days_after_initiation": 7},
        }
        if args.expiration_days is not None:
            rule["expiration"] = {"days": args.expiration_days}
        aws.s3.BucketLifecycleConfiguration(f"{name}-lifecycle", bucket=bucket.id, rules=[rule], opts=with_bucket)
        # Every object event goes to EventBridge: the pipelines' new-data trigger and any audit rule use it.
        aws.s3.BucketNotification(f"{name}-events", bucket=bucket.id, eventbridge=True, opts=with_bucket)

        self.bucket_name = bucket.bucket
        self.bucket_arn = bucket.arn
        self.register_outputs({"bucket_name": bucket.bucket, "bucket_arn": bucket.arn})


@dataclass(frozen=True)
class ArtifactStoreArgs:
    """Settings of the artifact store.

    Attributes:
        kms_key_arn: the platform key; the artifact bucket is encrypted with it.
        access_logging: log every request to the artifact bucket into a separate access-log bucket.
        versioning: keep every version of every object in the artifact bucket (the access-log bucket is always
            versioned: logs are evidence).
        noncurrent_version_expiration_days: delete replaced object versions after this many days.
        log_retention_days: delete access-log objects after this many days.
    """

    kms_key_arn: pulumi.Input[str]
    access_logging: bool
    versioning: bool
    noncurrent_version_expiration_days: int
    log_retention_days: int


class ArtifactStore(pulumi.ComponentResource):
    """The artifact bucket (datasets, model artifacts, pipeline outputs, captured data) and its access logs."""

    bucket_name: pulumi.Output[str]
    bucket_arn: pulumi.Output[str]
    log_bucket_name: pulumi.Output[str] | None

    def __init__(
        self, name: str, args: ArtifactStoreArgs, platform: Platform, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlplatform:storage:ArtifactStore", name, {}, opts)
        log_bucket: SecureBucket | None = None
        if args.access_logging:
            log_bucket = SecureBucket(
                f"{name}-logs",
                SecureBucketArgs(
                    component="artifact_store",
                    role="access-logs",
                    kms_key_arn=None,  # S3 server access logging delivers only to SSE-S3 buckets
                    expiration_days=args.log_retention_days,
                    noncurrent_version_expiration_days=30,
                    versioning=True,  # logs are evidence: always versioned, whatever the artifact bucket does
                    receives_access_logs=True,
                ),
                platform,
                opts=child(self),
            )
        artifacts = SecureBucket(
            f"{name}-artifacts",
            SecureBucketArgs(
                component="artifact_store",
                role="artifacts",
                kms_key_arn=args.kms_key_arn,
                log_bucket=log_bucket.bucket_name if log_bucket else None,
                log_prefix="artifacts/",
                noncurrent_version_expiration_days=args.noncurrent_version_expiration_days,
                versioning=args.versioning,
            ),
            platform,
            # S3 refuses to enable access logging until the log bucket's policy admits the logging service.
            opts=child(self, depends_on=[log_bucket] if log_bucket else None),
        )
        self.bucket_name = artifacts.bucket_name
        self.bucket_arn = artifacts.bucket_arn
        self.log_bucket_name = log_bucket.bucket_name if log_bucket else None
        self.register_outputs(
            {
                "bucket_name": artifacts.bucket_name,
                "bucket_arn": artifacts.bucket_arn,
                "log_bucket_name": self.log_bucket_name,
            }
        )
