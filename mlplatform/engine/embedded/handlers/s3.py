"""S3: buckets and their separate configuration resources (pulumi-aws v7), and objects."""

from __future__ import annotations

import json
from typing import Any, ClassVar

from mlplatform.engine.embedded.handlers.base import Handler, StepContext
from mlplatform.engine.embedded.handlers.common import auto_name, is_not_found, same_policy, tag_dict, tag_list


def _bucket_outputs(ctx: StepContext, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    region = ctx.aws.region
    return {
        "bucket": name,
        "arn": f"arn:{ctx.aws.partition}:s3:::{name}",
        "bucketDomainName": f"{name}.s3.amazonaws.com",
        "bucketRegionalDomainName": f"{name}.s3.{region}.amazonaws.com",
        "region": region,
        "tagsAll": dict(inputs.get("tags") or {}),
        "forceDestroy": bool(inputs.get("forceDestroy", False)),
    }


class BucketHandler(Handler):
    type = "aws:s3/bucket:Bucket"
    service = "s3"
    replace_on_change = frozenset({"bucket", "bucketPrefix", "objectLockEnabled", "region"})
    name_key = "bucket"
    computed = ("arn", "bucketDomainName", "bucketRegionalDomainName", "bucket")

    def create(self, ctx: StepContext, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        s3 = ctx.aws.client("s3")
        name = inputs.get("bucket") or auto_name(inputs.get("bucketPrefix") or ctx.name)
        args: dict[str, Any] = {"Bucket": name}
        if ctx.aws.region != "us-east-1":
            args["CreateBucketConfiguration"] = {"LocationConstraint": ctx.aws.region}
        if inputs.get("objectLockEnabled"):
            args["ObjectLockEnabledForBucket"] = True
        s3.create_bucket(**args)
        self._put_tags(ctx, name, inputs.get("tags"))
        return name, _bucket_outputs(ctx, name, inputs)

    def _put_tags(self, ctx: StepContext, name: str, tags: dict[str, str] | None) -> None:
        s3 = ctx.aws.client("s3")
        if tags:
            s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": tag_list(tags)})
        else:
            s3.delete_bucket_tagging(Bucket=name)

    def read(self, ctx: StepContext, resource_id: str, inputs: dict[str, Any]) -> dict[str, Any] | None:
        s3 = ctx.aws.client("s3")
        try:
            s3.head_bucket(Bucket=resource_id)
        except Exception as exc:
            if is_not_found(exc, "NoSuchBucket"):
                return None
            raise
        live: dict[str, Any] = {}
        if "tags" in inputs:
            try:
                live["tags"] = tag_dict(s3.get_bucket_tagging(Bucket=resource_id).get("TagSet"))
            except Exception as exc:
                if not is_not_found(exc, "NoSuchTagSet", "NoSuchTagSetError"):
                    raise
                live["tags"] = {}
        return live

    def update(
        self, ctx: StepContext, resource_id: str, olds: dict[str, Any], news: dict[str, Any], outputs: dict[str, Any]
    ) -> dict[str, Any]:
        if olds.get("tags") != news.get("tags"):
            self._put_tags(ctx, resource_id, news.get("tags"))
        return _bucket_outputs(ctx, resource_id, news)

    def delete(self, ctx: StepContext, resource_id: str, inputs: dict[str, Any], outputs: dict[str, Any]) -> None:
        s3 = ctx.aws.client("s3")
        if inputs.get("forceDestroy"):
            _empty_bucket(s3, resource_id)
        try:
            s3.delete_bucket(Bucket=resource_id)
        except Exception as exc:
            if not is_not_found(exc, "NoSuchBucket"):
                raise

    def find(self, ctx: StepContext, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
        name = inputs.get("bucket")
        if not name or self.read(ctx, name, {}) is None:
            return None
        return name, _bucket_outputs(ctx, name, inputs)


def _empty_bucket(s3: Any, bucket: str) -> None:
    """Delete every object version and delete marker (forceDestroy)."""
    paginator = s3.get_paginator("list_object_versions")
    try:
        for page in paginator.paginate(Bucket=bucket):
            items = [{"Key": v["Key"], "VersionId": v["VersionId"]} for v in page.get("Versions", [])]
            items += [{"Key": m["Key"], "VersionId": m["VersionId"]} for m in page.get("DeleteMarkers", [])]
            for start in range(0, len(items), 1000):
                s3.delete_objects(Bucket=bucket, Delete={"Objects": items[start : start + 1000], "Quiet": True})
    except Exception as exc:
        if not is_not_found(exc, "NoSuchBucket"):
            raise


class _BucketConfigHandler(Handler):
    """A configuration resource attached to a bucket: its id is the bucket name."""

    service = "s3"
    replace_on_change = frozenset({"bucket", "expectedBucketOwner"})
    computed = ()

    def create(self, ctx: StepContext, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        self.put(ctx, inputs)
        return str(inputs["bucket"]), {}

    def update(
        self, ctx: StepContext, resource_id: str, olds: dict[str, Any], news: dict[str, Any], outputs: dict[str, Any]
    ) -> dict[str, Any]:
        self.put(ctx, news)
        return {}

    def put(self, ctx: StepContext, inputs: dict[str, Any]) -> None:
        raise NotImplementedError

    def find(self, ctx: StepContext, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
        # Configuration resources are idempotent puts: re-running create converges, nothing to adopt.
        return None


class BucketVersioningHandler(_BucketConfigHandler):
    type = "aws:s3/bucketVersioning:BucketVersioning"

    def put(self, ctx: StepContext, inputs: dict[str, Any]) -> None:
        config = inputs.get("versioningConfiguration") or {}
        args: dict[str, Any] = {"Status": config.get("status", "Enabled")}
        if config.get("mfaDelete"):
            args["MFADelete"] = config["mfaDelete"]
        ctx.aws.client("s3").put_bucket_versioning(Bucket=inputs["bucket"], VersioningConfiguration=args)

    def read(self, ctx: StepContext, resource_id: str, inputs: dict[str, Any]) -> dict[str, Any] | None:
        try:
            status = ctx.aws.client("s3").get_bucket_versioning(Bucket=resource_id).get("Status", "Disabled")
        except Exception as exc:
            if is_not_found(exc, "NoSuchBucket"):
                return None
            raise
        return {"versioningConfiguration": {**(inputs.get("versioningConfiguration") or {}), "status": status}}

    def delete(self, ctx: StepContext, resource_id: str, inputs: dict[str, Any], outputs: dict[str, Any]) -> None:
        # S3 cannot turn versioning off once on; like the Terraform provider, deleting suspends it.
        try:
            ctx.aws.client("s3").put_bucket_versioning(
                Bucket=resource_id, VersioningConfiguration={"Status": "Suspended"}
            )
        except Exception as exc:
            if not is_not_found(exc, "NoSuchBucket"):
                raise


class BucketEncryptionHandler(_BucketConfigHandler):
    type = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"

    def put(self, ctx: StepContext, inputs: dict[str, Any]) -> None:
        rules = []
        for rule in inputs.get("rules") or []:
            default = rule.get("applyServerSideEncryptionByDefault") or {}
            item: dict[str, Any] = {
                "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": default.get("sseAlgorithm", "AES256")}
            }
            if default.get("kmsMasterKeyId"):
                item["ApplyServerSideEncryptionByDefault"]["KMSMasterKeyID"] = default["kmsMasterKeyId"]
            if "bucketKeyEnabled" in rule:
                item["BucketKeyEnabled"] = bool(rule["bucketKeyEnabled"])
            rules.append(item)
        ctx.aws.client("s3").put_bucket_encryption(
            Bucket=inputs["bucket"], ServerSideEncryptionConfiguration={"Rules": rules}
        )

    def read(self, ctx: StepContext, resource_id: str, inputs: dict[str, Any]) -> dict[str, Any] | None:
        try:
            rules = ctx.aws.client("s3").get_bucket_encryption(Bucket=resource_id)["ServerSideEncryptionConfiguration"]
        except Exception as exc:
            if is_not_found(exc, "NoSuchBucket", "ServerSideEncryptionConfigurationNotFoundError"):
                return None
            raise
        live = []
        for rule, wanted in zip(rules.get("Rules", []), inputs.get("rules") or [{}] * 10, strict=False):
            default = rule.get("ApplyServerSideEncryptionByDefault", {})
            item: dict[str, Any] = {"applyServerSideEncryptionByDefault": {"sseAlgorithm": default.get("SSEAlgorithm")}}
            if default.get("KMSMasterKeyID"):
                item["applyServerSideEncryptionByDefault"]["kmsMasterKeyId"] = default["KMSMasterKeyID"]
            if "bucketKeyEnabled" in wanted:
                item["bucketKeyEnabled"] = bool(rule.get("BucketKeyEnabled", False))
            live.append(item)
        return {"rules": live}

    def delete(self, ctx: StepContext, resource_id: str, inputs: dict[str, Any], outputs: dict[str, Any]) -> None:
        try:
            ctx.aws.client("s3").delete_bucket_encryption(Bucket=resource_id)
        except Exception as exc:
            if not is_not_found(exc, "NoSuchBucket"):
                raise


class PublicAccessBlockHandler(_BucketConfigHandler):
    type = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
    _KEYS: ClassVar[dict[str, str]] = {
        "blockPublicAcls": "BlockPublicAcls",
        "blockPublicPolicy": "BlockPublicPolicy",
        "ignorePublicAcls": "IgnorePublicAcls",
        "restrictPublicBuckets": "RestrictPublicBuckets",
    }

    def put(self, ctx: StepContext, inputs: dict[str, Any]) -> None:
        config = {aws: bool(inputs.get(key, False)) for key, aws in self._KEYS.items()}
        ctx.aws.client("s3").put_public_access_block(Bucket=inputs["bucket"], PublicAccessBlockConfiguration=config)

    def read(self, ctx: StepContext, resource_id: str, inputs: dict[str, Any]) -> dict[str, Any] | None:
        try:
            config = ctx.aws.client("s3").get_public_access_block(Bucket=resource_id)["PublicAccessBlockConfiguration"]
        except Exception as exc:
            if is_not_found(exc, "NoSuchBucket", "NoSuchPublicAccessBlockConfiguration"):
                return None
            raise
        return {key: bool(config.get(aws, False)) for key, aws in self._KEYS.items() if key in inputs}

    def delete(self, ctx: StepContext, resource_id: str, inputs: dict[str, Any], outputs: dict[str, Any]) -> None:
        try:
            ctx.aws.client("s3").delete_public_access_block(Bucket=resource_id)
        except Exception as exc:
            if not is_not_found(exc, "NoSuchBucket"):
                raise


class BucketPolicyHandler(_BucketConfigHandler):
    type = "aws:s3/bucketPolicy:BucketPolicy"

    def put(self, ctx: StepContext, inputs: dict[str, Any]) -> None:
        policy = inputs["policy"]
        ctx.aws.client("s3").put_bucket_policy(
            Bucket=inputs["bucket"], Policy=policy if isinstance(policy, str) else json.dumps(policy)
        )

    def read(self, ctx: StepContext, resource_id: str, inputs: dict[str, Any]) -> dict[str, Any] | None:
        try:
            live = ctx.aws.client("s3").get_bucket_policy(Bucket=resource_id)["Policy"]
        except Exception as exc:
            if is_not_found(exc, "NoSuchBucket", "NoSuchBucketPolicy"):
                return None
            raise
        # Keep the recorded text when the documents are equal, so formatting alone is not drift.
        return {"policy": inputs.get("policy") if same_policy(live, inputs.get("policy")) else live}

    def delete(self, ctx: StepContext, resource_id: str, inputs: dict[str, Any], outputs: dict[str, Any]) -> None:
        try:
            ctx.aws.client("s3").delete_bucket_policy(Bucket=resource_id)
        except Exception as exc:
            if not is_not_found(exc, "NoSuchBucket"):
                raise


class BucketLoggingHandler(_BucketConfigHandler):
    type = "aws:s3/bucketLogging:BucketLogging"

    def put(self, ctx: StepContext, inputs: dict[str, Any]) -> None:
        ctx.aws.client("s3").put_bucket_logging(
            Bucket=inputs["bucket"],
            BucketLoggingStatus={
                "LoggingEnabled": {
                    "TargetBucket": inputs["targetBucket"],
                    "TargetPrefix": inputs.get("targetPrefix", ""),
                }
            },
        )

    def read(self, ctx: StepContext, resource_id: str, inputs: dict[str, Any]) -> dict[str, Any] | None:
        try:
            enabled = ctx.aws.client("s3").get_bucket_logging(Bucket=resource_id).get("LoggingEnabled")
        except Exception as exc:
            if is_not_found(exc, "NoSuchBucket"):
                return None
            raise
        if not enabled:
            return None
        return {"targetBucket": enabled.get("TargetBucket"), "targetPrefix": enabled.get("TargetPrefix", "")}

    def delete(self, ctx: StepContext, resource_id: str, inputs: dict[str, Any], outputs: dict[str, Any]) -> None:
        try:
            ctx.aws.client("s3").put_bucket_logging(Bucket=resource_id, BucketLoggingStatus={})
        except Exception as exc:
            if not is_not_found(exc, "NoSuchBucket"):
                raise


class BucketLifecycleHandler(_BucketConfigHandler):
    type = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"

    def put(self, ctx: StepContext, inputs: dict[str, Any]) -> None:
        rules = [_lifecycle_rule(rule) for rule in inputs.get("rules") or []]
        ctx.aws.client("s3").put_bucket_lifecycle_configuration(
            Bucket=inputs["bucket"], LifecycleConfiguration={"Rules": rules}
        )

    def read(self, ctx: StepContext, resource_id: str, inputs: dict[str, Any]) -> dict[str, Any] | None:
        try:
            rules = ctx.aws.client("s3").get_bucket_lifecycle_configuration(Bucket=resource_id).get("Rules", [])
        except Exception as exc:
            if is_not_found(exc, "NoSuchBucket", "NoSuchLifecycleConfiguration"):
                return None
            raise
        wanted = inputs.get("rules") or []
        live = [_lifecycle_rule(rule) for rule in wanted]
        # Compare in the API's shape; report the recorded inputs unless the rules differ.
        return {"rules": wanted if _normalise_rules(rules) == _normalise_rules(live) else rules}

    def delete(self, ctx: StepContext, resource_id: str, inputs: dict[str, Any], outputs: dict[str, Any]) -> None:
        try:
            ctx.aws.client("s3").delete_bucket_lifecycle(Bucket=resource_id)
        except Exception as exc:
            if not is_not_found(exc, "NoSuchBucket"):
                raise


def _lifecycle_rule(rule: dict[str, Any]) -> dict[str, Any]:
    item: dict[str, Any] = {"ID": rule.get("id", "rule"), "Status": rule.get("status", "Enabled")}
    filt = rule.get("filter") or {}
    item["Filter"] = {"Prefix": filt.get("prefix", "")}
    if rule.get("expiration"):
        item["Expiration"] = {"Days": int(rule["expiration"]["days"])}
    if rule.get("noncurrentVersionExpiration"):
        item["NoncurrentVersionExpiration"] = {
            "NoncurrentDays": int(rule["noncurrentVersionExpiration"]["noncurrentDays"])
        }
    if rule.get("abortIncompleteMultipartUpload"):
        item["AbortIncompleteMultipartUpload"] = {
            "DaysAfterInitiation": int(rule["abortIncompleteMultipartUpload"]["daysAfterInitiation"])
        }
    return item


def _normalise_rules(rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted((json.loads(json.dumps(rule, sort_keys=True)) for rule in rules), key=lambda r: r.get("ID", ""))


HANDLERS: tuple[type[Handler], ...] = (
    BucketHandler,
    BucketVersioningHandler,
    BucketEncryptionHandler,
    PublicAccessBlockHandler,
    BucketPolicyHandler,
    BucketLoggingHandler,
    BucketLifecycleHandler,
)
