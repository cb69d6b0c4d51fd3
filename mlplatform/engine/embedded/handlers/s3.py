"""S3: buckets and their separate configuration resources (pulumi-aws v7); objects are in ``s3_objects.py``."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from mlplatform.engine.embedded.handlers.base import Handler, StepContext, is_set
from mlplatform.engine.embedded.handlers.common import is_not_found, physical_name, same_policy, tag_list
from mlplatform.engine.embedded.handlers.s3_objects import BucketObjectHandler
from mlplatform.engine.embedded.handlers.shapes import from_api, input_shape, output_shape, to_api


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
    name_key = "bucket"
    computed = ("arn", "bucketDomainName", "bucketRegionalDomainName", "bucket")
    # The deprecated inline blocks (versioning, serverSideEncryptionConfiguration, lifecycleRules, logging, website,
    # policy, acl, grants, corsRules, ...) and bucketNamespace are not implemented: the separate configuration
    # resources are. A program that sets one is refused rather than getting a bucket without it.
    implemented = frozenset({"bucket", "bucketPrefix", "forceDestroy", "objectLockEnabled"})

    def create(self, ctx: StepContext, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        s3 = ctx.aws.client("s3")
        # pulumi-aws: AutoNameTransform("bucket", 63, strings.ToLower); bucketPrefix: Terraform's prefix + unique id.
        name = physical_name(inputs, ctx.name, key="bucket", prefix_key="bucketPrefix", max_length=63, lowercase=True)
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
                live["tags"] = ctx.read_tags(s3.get_bucket_tagging(Bucket=resource_id).get("TagSet"))
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
        name = inputs.get("bucket")  # a generated name is unknown: nothing to look for
        if not name or self.read(ctx, name, {}) is None:
            return None
        return name, _bucket_outputs(ctx, name, inputs)

    def check_delete(
        self,
        ctx: StepContext,
        resource_id: str,
        inputs: dict[str, Any],
        going_first: Sequence[tuple[str, dict[str, Any]]],
    ) -> str | None:
        if inputs.get("forceDestroy"):
            return None  # the delete empties it first
        managed = {
            str(other.get("key"))
            for type_, other in going_first
            if type_ == BucketObjectHandler.type and other.get("bucket") == resource_id
        }
        s3 = ctx.aws.client("s3")
        keys: list[str] = []
        versions = 0
        try:
            for page in s3.get_paginator("list_object_versions").paginate(Bucket=resource_id):
                for item in page.get("Versions", []) + page.get("DeleteMarkers", []):
                    if item["Key"] not in managed:
                        versions += 1
                        if item["Key"] not in keys:
                            keys.append(item["Key"])
                if versions >= _COUNT_LIMIT:
                    break
        except Exception as exc:
            if is_not_found(exc, "NoSuchBucket"):
                return None
            raise
        if not versions:
            return None
        count = f"{versions}{'+' if versions >= _COUNT_LIMIT else ''}"
        shown = ", ".join(keys[:3]) + (", ..." if len(keys) > 3 else "")
        return (
            f"bucket {resource_id} still holds {count} object version(s) ({len(keys)} key(s): {shown}) and its "
            "forceDestroy is off (allow_destroy_data: false), so S3 would refuse to delete it. Two ways out: empty "
            "it yourself (every version: e.g. `aws s3api list-object-versions` + `delete-objects`) and run again; or "
            "set `allow_destroy_data: true` in the environment's overrides and run `mlplatform up` with the "
            "blueprint that still declares the bucket, so it is recorded with forceDestroy, then run this again"
        )


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


_COUNT_LIMIT = 10_000
"""Stop counting a bucket's object versions here: the preview needs to know it is not empty, not how full."""


class _BucketConfigHandler(Handler):
    """A configuration resource attached to a bucket: its id is the bucket name."""

    service = "s3"
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
        # The configuration belongs to its bucket: it exists when the bucket has one (import adopts it;
        # for an interrupted run, adopting and re-putting converge alike).
        bucket = inputs.get("bucket")
        if not bucket:
            return None
        live = self.read(ctx, str(bucket), inputs)
        return (str(bucket), {}) if live is not None and self.configured(live) else None

    def configured(self, live: dict[str, Any]) -> bool:
        """Whether what :meth:`read` returned is a configuration someone set (not the bucket's default)."""
        return True


class BucketVersioningHandler(_BucketConfigHandler):
    type = "aws:s3/bucketVersioning:BucketVersioning"
    # expectedBucketOwner (deprecated) and mfa are not implemented: refused when set.
    implemented = frozenset({"bucket", "versioningConfiguration"})

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

    def configured(self, live: dict[str, Any]) -> bool:
        # A bucket that never had versioning reports no status at all.
        return bool(live["versioningConfiguration"]["status"] != "Disabled")

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
    implemented = frozenset({"bucket", "rules"})

    def unsupported_inputs(self, inputs: dict[str, Any]) -> list[str]:
        # blockedEncryptionTypes is not sent (the emulator does not keep it).
        return super().unsupported_inputs(inputs) + _nested_set(inputs, "rules", ("blockedEncryptionTypes",))

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
    # All four are sent every time (an unset one is false); their API names come from S3's model (shapes.py).
    _KEYS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    implemented = frozenset({"bucket", *_KEYS, "skipDestroy"})

    def put(self, ctx: StepContext, inputs: dict[str, Any]) -> None:
        s3 = ctx.aws.client("s3")
        shape = input_shape(s3, "PutPublicAccessBlock", "PublicAccessBlockConfiguration")
        config = to_api(shape, {key: bool(inputs.get(key, False)) for key in self._KEYS})
        s3.put_public_access_block(Bucket=inputs["bucket"], PublicAccessBlockConfiguration=config)

    def read(self, ctx: StepContext, resource_id: str, inputs: dict[str, Any]) -> dict[str, Any] | None:
        s3 = ctx.aws.client("s3")
        try:
            config = s3.get_public_access_block(Bucket=resource_id)["PublicAccessBlockConfiguration"]
        except Exception as exc:
            if is_not_found(exc, "NoSuchBucket", "NoSuchPublicAccessBlockConfiguration"):
                return None
            raise
        shape = output_shape(s3, "GetPublicAccessBlock", "PublicAccessBlockConfiguration")
        got = from_api(config, {key: inputs[key] for key in self._KEYS if key in inputs}, shape)
        return {key: bool(value) for key, value in got.items()}  # an absent setting is false

    def delete(self, ctx: StepContext, resource_id: str, inputs: dict[str, Any], outputs: dict[str, Any]) -> None:
        if inputs.get("skipDestroy"):
            return  # like Terraform: the block stays on the bucket, only the record goes
        try:
            ctx.aws.client("s3").delete_public_access_block(Bucket=resource_id)
        except Exception as exc:
            if not is_not_found(exc, "NoSuchBucket"):
                raise


class BucketPolicyHandler(_BucketConfigHandler):
    type = "aws:s3/bucketPolicy:BucketPolicy"
    implemented = frozenset({"bucket", "policy"})

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
    # targetGrants, targetObjectKeyFormat and the deprecated expectedBucketOwner are not implemented: refused.
    implemented = frozenset({"bucket", "targetBucket", "targetPrefix"})

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
    # transitionDefaultMinimumObjectSize and expectedBucketOwner are not implemented (the emulator ignores the
    # first; the second is deprecated): refused when set.
    implemented = frozenset({"bucket", "rules"})

    def unsupported_inputs(self, inputs: dict[str, Any]) -> list[str]:
        """Besides the top-level keys: the object-size filters and ``newerNoncurrentVersions`` of a noncurrent
        expiration, which the emulator drops (they would be silently lost locally)."""
        found = super().unsupported_inputs(inputs)
        for index, rule in enumerate(inputs.get("rules") or []):
            if not isinstance(rule, dict):
                continue
            where = f"rules[{index}]"
            parts = [
                ("filter", rule.get("filter")),
                ("filter.and", (rule.get("filter") or {}).get("and")),
                ("noncurrentVersionExpiration", rule.get("noncurrentVersionExpiration")),
            ]
            for path, block in parts:
                for key in _LIFECYCLE_UNSUPPORTED.get(path, ()):
                    if isinstance(block, dict) and is_set(block.get(key)):
                        found.append(f"{where}.{path}.{key}")
        return found

    def put(self, ctx: StepContext, inputs: dict[str, Any]) -> None:
        s3 = ctx.aws.client("s3")
        rules = [_lifecycle_rule(s3, rule) for rule in inputs.get("rules") or []]
        s3.put_bucket_lifecycle_configuration(Bucket=inputs["bucket"], LifecycleConfiguration={"Rules": rules})

    def read(self, ctx: StepContext, resource_id: str, inputs: dict[str, Any]) -> dict[str, Any] | None:
        s3 = ctx.aws.client("s3")
        try:
            rules = s3.get_bucket_lifecycle_configuration(Bucket=resource_id).get("Rules", [])
        except Exception as exc:
            if is_not_found(exc, "NoSuchBucket", "NoSuchLifecycleConfiguration"):
                return None
            raise
        wanted = inputs.get("rules") or []
        live = [_lifecycle_rule(s3, rule) for rule in wanted]
        # Compare in the API's shape; report the recorded inputs unless the rules differ.
        return {"rules": wanted if _normalise_rules(rules) == _normalise_rules(live) else rules}

    def delete(self, ctx: StepContext, resource_id: str, inputs: dict[str, Any], outputs: dict[str, Any]) -> None:
        try:
            ctx.aws.client("s3").delete_bucket_lifecycle(Bucket=resource_id)
        except Exception as exc:
            if not is_not_found(exc, "NoSuchBucket"):
                raise


# Lifecycle settings the handler refuses, by block: the emulator drops them, so they would be lost locally.
_LIFECYCLE_UNSUPPORTED: dict[str, tuple[str, ...]] = {
    "filter": ("objectSizeGreaterThan", "objectSizeLessThan"),
    "filter.and": ("objectSizeGreaterThan", "objectSizeLessThan"),
    "noncurrentVersionExpiration": ("newerNoncurrentVersions",),
}


def _lifecycle_rule(s3: Any, rule: dict[str, Any]) -> dict[str, Any]:
    """A pulumi lifecycle rule as the API's, whole: expiration, transitions, noncurrent-version transitions and
    expiration, multipart abort, and the filter (prefix, tag, ``and`` of prefix and tags); names and integer day
    counts come from S3's model (shapes.py). Without a filter or a (deprecated) rule prefix the rule applies to
    every object (an empty prefix filter), as Terraform sends it."""
    item: dict[str, Any] = {key: value for key, value in rule.items() if value is not None}
    item.setdefault("id", "rule")
    item.setdefault("status", "Enabled")
    if item.get("filter"):
        item["filter"] = dict(item["filter"])
        both = item["filter"].get("and")
        if isinstance(both, dict) and isinstance(both.get("tags"), dict):
            # pulumi gives the and-operator's tags as a map; the API wants Key/Value pairs.
            item["filter"]["and"] = {**both, "tags": [{"key": k, "value": v} for k, v in sorted(both["tags"].items())]}
    elif "prefix" not in item:
        item["filter"] = {"prefix": ""}
    else:
        item.pop("filter", None)
    shape = input_shape(s3, "PutBucketLifecycleConfiguration", "LifecycleConfiguration", "Rules")
    converted: dict[str, Any] = to_api(shape, item, where="PutBucketLifecycleConfiguration")
    return converted


def _normalise_rules(rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rules in a comparable form: dates as UTC ISO text, transitions in no particular order (they are sets)."""
    normal = []
    for rule in rules:
        item = json.loads(json.dumps(rule, sort_keys=True, default=_iso))
        for key in ("Transitions", "NoncurrentVersionTransitions"):
            if key in item:
                item[key] = sorted(item[key], key=lambda t: json.dumps(t, sort_keys=True))
        normal.append(_dates(item))
    return sorted(normal, key=lambda r: r.get("ID", ""))


def _iso(value: Any) -> str:
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return str(value)


def _dates(value: Any) -> Any:
    """``Date`` values (sent as RFC 3339 text, read back as timestamps) in one spelling."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key == "Date" and isinstance(item, str):
                with contextlib.suppress(ValueError):
                    item = _iso(datetime.fromisoformat(item.replace("Z", "+00:00")))
            out[key] = _dates(item)
        return out
    if isinstance(value, list):
        return [_dates(item) for item in value]
    return value


def _nested_set(inputs: dict[str, Any], block: str, keys: tuple[str, ...]) -> list[str]:
    """Paths ``block[i].key`` of the ``keys`` set in the items of the list input ``block``."""
    return [
        f"{block}[{index}].{key}"
        for index, item in enumerate(inputs.get(block) or [])
        if isinstance(item, dict)
        for key in keys
        if is_set(item.get(key))
    ]


# The three kinds of notification target: (input key, input ARN key, API list key, API ARN key).
_NOTIFICATION_TARGETS = (
    ("topics", "topicArn", "TopicConfigurations", "TopicArn"),
    ("queues", "queueArn", "QueueConfigurations", "QueueArn"),
    ("lambdaFunctions", "lambdaFunctionArn", "LambdaFunctionConfigurations", "LambdaFunctionArn"),
)


class BucketNotificationHandler(_BucketConfigHandler):
    """The bucket's whole notification configuration (one per bucket; id = bucket, as in Terraform).

    ``eventbridge: true`` sends every bucket event to EventBridge's default bus, which is how a rule can
    start a pipeline when new training data lands; topics, queues and Lambda functions are the older,
    per-target notifications.
    """

    type = "aws:s3/bucketNotification:BucketNotification"
    implemented = frozenset({"bucket", "eventbridge", "topics", "queues", "lambdaFunctions"})

    def put(self, ctx: StepContext, inputs: dict[str, Any]) -> None:
        config: dict[str, Any] = {}
        for key, arn_key, api_key, api_arn in _NOTIFICATION_TARGETS:
            items = [_notification_target(item, arn_key, api_arn) for item in inputs.get(key) or []]
            if items:
                config[api_key] = items
        if inputs.get("eventbridge"):
            config["EventBridgeConfiguration"] = {}
        ctx.aws.client("s3").put_bucket_notification_configuration(
            Bucket=inputs["bucket"], NotificationConfiguration=config
        )

    def read(self, ctx: StepContext, resource_id: str, inputs: dict[str, Any]) -> dict[str, Any] | None:
        try:
            config = ctx.aws.client("s3").get_bucket_notification_configuration(Bucket=resource_id)
        except Exception as exc:
            if is_not_found(exc, "NoSuchBucket"):
                return None
            raise
        live: dict[str, Any] = {}
        if "eventbridge" in inputs:
            live["eventbridge"] = "EventBridgeConfiguration" in config
        for key, arn_key, api_key, api_arn in _NOTIFICATION_TARGETS:
            got = config.get(api_key) or []
            if key not in inputs and not got:
                continue
            wanted = list(inputs.get(key) or [])
            # AWS keeps the order it was given; compare item by item in input shape.
            wanted += [{}] * (len(got) - len(wanted))
            live[key] = [
                _notification_item(item, want, arn_key, api_arn) for item, want in zip(got, wanted, strict=False)
            ]
        return live

    def configured(self, live: dict[str, Any]) -> bool:
        return any(bool(value) for value in live.values())

    def delete(self, ctx: StepContext, resource_id: str, inputs: dict[str, Any], outputs: dict[str, Any]) -> None:
        # There is no delete call: an empty configuration turns every notification off (as Terraform does).
        try:
            ctx.aws.client("s3").put_bucket_notification_configuration(Bucket=resource_id, NotificationConfiguration={})
        except Exception as exc:
            if not is_not_found(exc, "NoSuchBucket"):
                raise


def _notification_target(item: dict[str, Any], arn_key: str, api_arn: str) -> dict[str, Any]:
    target: dict[str, Any] = {api_arn: item[arn_key], "Events": list(item.get("events") or [])}
    if item.get("id"):
        target["Id"] = item["id"]
    rules = [
        {"Name": name, "Value": item[key]}
        for name, key in (("prefix", "filterPrefix"), ("suffix", "filterSuffix"))
        if item.get(key)
    ]
    if rules:
        target["Filter"] = {"Key": {"FilterRules": rules}}
    return target


def _notification_item(got: dict[str, Any], want: dict[str, Any], arn_key: str, api_arn: str) -> dict[str, Any]:
    """One live notification in input shape; the ``id`` AWS generates shows only if the input named one."""
    rules = {
        r.get("Name", "").lower(): r.get("Value") for r in got.get("Filter", {}).get("Key", {}).get("FilterRules", [])
    }
    events = list(got.get("Events") or [])
    wanted_events = list(want.get("events") or [])
    item: dict[str, Any] = {
        arn_key: got.get(api_arn),
        # Event order carries no meaning: keep the recorded order when the sets agree.
        "events": wanted_events if sorted(events) == sorted(wanted_events) else events,
    }
    if rules.get("prefix") or "filterPrefix" in want:
        item["filterPrefix"] = rules.get("prefix", "")
    if rules.get("suffix") or "filterSuffix" in want:
        item["filterSuffix"] = rules.get("suffix", "")
    if "id" in want:
        item["id"] = got.get("Id")
    return item


class BucketOwnershipControlsHandler(_BucketConfigHandler):
    """Object ownership (``BucketOwnerEnforced`` turns ACLs off); id = bucket, as in Terraform."""

    type = "aws:s3/bucketOwnershipControls:BucketOwnershipControls"
    implemented = frozenset({"bucket", "rule"})

    def put(self, ctx: StepContext, inputs: dict[str, Any]) -> None:
        ownership = (inputs.get("rule") or {}).get("objectOwnership", "BucketOwnerEnforced")
        ctx.aws.client("s3").put_bucket_ownership_controls(
            Bucket=inputs["bucket"], OwnershipControls={"Rules": [{"ObjectOwnership": ownership}]}
        )

    def read(self, ctx: StepContext, resource_id: str, inputs: dict[str, Any]) -> dict[str, Any] | None:
        try:
            controls = ctx.aws.client("s3").get_bucket_ownership_controls(Bucket=resource_id)["OwnershipControls"]
        except Exception as exc:
            if is_not_found(exc, "NoSuchBucket", "OwnershipControlsNotFoundError"):
                return None
            raise
        rules = controls.get("Rules") or [{}]
        return {"rule": {"objectOwnership": rules[0].get("ObjectOwnership")}}

    def delete(self, ctx: StepContext, resource_id: str, inputs: dict[str, Any], outputs: dict[str, Any]) -> None:
        try:
            ctx.aws.client("s3").delete_bucket_ownership_controls(Bucket=resource_id)
        except Exception as exc:
            if not is_not_found(exc, "NoSuchBucket", "OwnershipControlsNotFoundError"):
                raise


HANDLERS: tuple[type[Handler], ...] = (
    BucketHandler,
    BucketVersioningHandler,
    BucketEncryptionHandler,
    PublicAccessBlockHandler,
    BucketPolicyHandler,
    BucketLoggingHandler,
    BucketLifecycleHandler,
    BucketNotificationHandler,
    BucketOwnershipControlsHandler,
)
