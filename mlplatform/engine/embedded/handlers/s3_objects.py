"""S3 objects (``aws:s3/bucketObjectv2:BucketObjectv2``): content, headers, encryption and tags."""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import urlencode

from mlplatform.engine.embedded.handlers.base import Handler, HandlerError, StepContext
from mlplatform.engine.embedded.handlers.common import is_not_found, tag_list
from mlplatform.engine.embedded.handlers.shapes import from_api, output_shape, request

# Object inputs sent as PutObject headers and read back from HeadObject (API names from S3's model, shapes.py).
_OBJECT_HEADERS = ("cacheControl", "contentDisposition", "contentEncoding", "contentLanguage", "contentType")
# Sent through PutObject's model; Terraform's kms_key_id is the API's SSEKMSKeyId. Tags go as a URL query.
_OBJECT_SENT = ("bucket", "key", *_OBJECT_HEADERS, "metadata", "serverSideEncryption", "kmsKeyId", "storageClass")
_OBJECT_RENAMES = {"kmsKeyId": "SSEKMSKeyId"}
_OBJECT_INPUTS = frozenset(
    {
        *_OBJECT_HEADERS,
        "bucket",
        "key",
        "content",
        "contentBase64",
        "metadata",
        "serverSideEncryption",
        "kmsKeyId",
        "storageClass",
        "tags",
        "forceDestroy",
        "etag",  # only a trigger for re-upload in Terraform; never sent
    }
)
_CONTENT_READ_LIMIT = 1 << 20
"""Inline content is compared by downloading the object; larger live objects are only reported changed."""


class BucketObjectHandler(Handler):
    """One object with inline content (``content`` or ``contentBase64``), e.g. a small sample model artifact.

    The id is the key, like Terraform's ``aws_s3_object``; the bucket comes from the inputs. Inputs the
    handler does not implement (``source`` files, ACLs, object lock, ...) fail loudly instead of being
    silently dropped.
    """

    type = "aws:s3/bucketObjectv2:BucketObjectv2"
    service = "s3"
    name_key = "key"
    computed = ("arn", "etag", "versionId")
    implemented = _OBJECT_INPUTS - {"tags"}

    def _body(self, inputs: dict[str, Any]) -> bytes:
        if inputs.get("contentBase64") is not None:
            return base64.b64decode(inputs["contentBase64"])
        return str(inputs.get("content") or "").encode()

    def _check(self, inputs: dict[str, Any]) -> None:
        # The engine refuses these before planning (unsupported_inputs); this guards direct handler use.
        unsupported = self.unsupported_inputs(inputs)
        if unsupported:
            raise HandlerError(
                f"the embedded engine's S3 object handler does not support {', '.join(unsupported)}",
                hint="Give the object's bytes inline with content or contentBase64.",
            )

    def _outputs(
        self, ctx: StepContext, inputs: dict[str, Any], key: str, etag: str, version: str | None
    ) -> dict[str, Any]:
        return {
            "key": key,
            "arn": f"arn:{ctx.aws.partition}:s3:::{inputs['bucket']}/{key}",
            "etag": etag.strip('"'),
            "versionId": version or "",
            "tagsAll": dict(inputs.get("tags") or {}),
        }

    def _put(self, ctx: StepContext, inputs: dict[str, Any], key: str) -> dict[str, Any]:
        self._check(inputs)
        s3 = ctx.aws.client("s3")
        sent = {name: inputs.get(name) or None for name in _OBJECT_SENT}
        sent["key"] = key
        args = {**request(s3, "PutObject", sent, _OBJECT_RENAMES), "Body": self._body(inputs)}
        if inputs.get("tags"):
            args["Tagging"] = _query(inputs["tags"])
        response = s3.put_object(**args)
        return self._outputs(ctx, inputs, key, response.get("ETag", ""), response.get("VersionId"))

    def create(self, ctx: StepContext, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        key = object_key(inputs, ctx.name)
        return key, self._put(ctx, inputs, key)

    def read(self, ctx: StepContext, resource_id: str, inputs: dict[str, Any]) -> dict[str, Any] | None:
        s3 = ctx.aws.client("s3")
        bucket = inputs["bucket"]
        try:
            head = s3.head_object(Bucket=bucket, Key=resource_id)
        except Exception as exc:
            if is_not_found(exc, "NoSuchKey", "NoSuchBucket"):
                return None
            raise
        # A header HeadObject leaves out reads as "" (unset).
        headers = {key: "" for key in _OBJECT_HEADERS if key in inputs}
        live: dict[str, Any] = from_api(head, headers, output_shape(s3, "HeadObject"))
        if "metadata" in inputs:
            wanted = {k.lower(): v for k, v in (inputs.get("metadata") or {}).items()}
            got = head.get("Metadata") or {}
            live["metadata"] = inputs["metadata"] if got == wanted else got
        if "serverSideEncryption" in inputs:
            live["serverSideEncryption"] = head.get("ServerSideEncryption", "")
        if "kmsKeyId" in inputs:
            live["kmsKeyId"] = _same_kms_key(ctx, inputs.get("kmsKeyId"), head.get("SSEKMSKeyId", ""))
        if "storageClass" in inputs:
            live["storageClass"] = head.get("StorageClass", "STANDARD")  # HeadObject omits the default
        if "tags" in inputs:
            live["tags"] = ctx.read_tags(s3.get_object_tagging(Bucket=bucket, Key=resource_id).get("TagSet"))
        content_key = "contentBase64" if inputs.get("contentBase64") is not None else "content"
        if content_key in inputs:
            live[content_key] = self._live_content(s3, bucket, resource_id, head, inputs, content_key)
        return live

    def _live_content(
        self, s3: Any, bucket: str, key: str, head: dict[str, Any], inputs: dict[str, Any], content_key: str
    ) -> Any:
        """The object's bytes in the input's encoding; the recorded value when they are unchanged.

        The ETag is no content hash for SSE-KMS objects, so the bytes themselves are compared. A live
        object far larger than any inline content is reported changed without downloading it.
        """
        expected = self._body(inputs)
        size = int(head.get("ContentLength", -1))
        if size != len(expected) and size > _CONTENT_READ_LIMIT:
            return f"<{size} bytes changed outside mlplatform>"
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        if body == expected:
            return inputs[content_key]
        if content_key == "contentBase64":
            return base64.b64encode(body).decode()
        return body.decode("utf-8", errors="replace")

    def update(
        self, ctx: StepContext, resource_id: str, olds: dict[str, Any], news: dict[str, Any], outputs: dict[str, Any]
    ) -> dict[str, Any]:
        changed = {key for key in set(olds) | set(news) if olds.get(key) != news.get(key)}
        # ``olds`` are the recorded inputs: when nothing differs, the engine is repairing drift found by a
        # refresh and the whole object is written again.
        if changed and changed <= {"tags", "forceDestroy"}:
            # Only the tags (or the delete behaviour) changed: no need to upload the bytes again.
            s3 = ctx.aws.client("s3")
            if news.get("tags"):
                s3.put_object_tagging(
                    Bucket=news["bucket"], Key=resource_id, Tagging={"TagSet": tag_list(news["tags"])}
                )
            elif "tags" in changed:
                s3.delete_object_tagging(Bucket=news["bucket"], Key=resource_id)
            return {**outputs, "key": resource_id, "tagsAll": dict(news.get("tags") or {})}
        return self._put(ctx, news, resource_id)

    def delete(self, ctx: StepContext, resource_id: str, inputs: dict[str, Any], outputs: dict[str, Any]) -> None:
        s3 = ctx.aws.client("s3")
        bucket = inputs["bucket"]
        try:
            if outputs.get("versionId"):
                # A versioned bucket: like Terraform, remove every version of the key, not just hide it
                # behind a delete marker; forceDestroy also overrides governance-mode retention.
                extra = {"BypassGovernanceRetention": True} if inputs.get("forceDestroy") else {}
                for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=resource_id):
                    for item in page.get("Versions", []) + page.get("DeleteMarkers", []):
                        if item["Key"] == resource_id:
                            s3.delete_object(Bucket=bucket, Key=resource_id, VersionId=item["VersionId"], **extra)
            else:
                s3.delete_object(Bucket=bucket, Key=resource_id)
        except Exception as exc:
            if not is_not_found(exc, "NoSuchBucket", "NoSuchKey"):
                raise

    def find(self, ctx: StepContext, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
        key = object_key(inputs, ctx.name)  # the default key is the logical name itself: findable
        try:
            head = ctx.aws.client("s3").head_object(Bucket=inputs["bucket"], Key=key)
        except Exception as exc:
            if is_not_found(exc, "NoSuchKey", "NoSuchBucket"):
                return None
            raise
        return key, self._outputs(ctx, inputs, key, head.get("ETag", ""), head.get("VersionId"))


def object_key(inputs: dict[str, Any], logical: str) -> str:
    """The object's key: ``key``, else the logical name verbatim (pulumi-aws's default for ``aws_s3_object``'s
    key is ``FromName`` with no random suffix)."""
    return str(inputs.get("key") or logical)


def _query(tags: dict[str, str]) -> str:
    """Tags as PutObject's ``Tagging`` header wants them: a URL query string."""
    return urlencode(sorted(tags.items()))


def _same_kms_key(ctx: StepContext, wanted: Any, live: str) -> Any:
    """S3 reports the key's ARN; inputs may name it by id, ARN or alias. The recorded form when they agree."""
    wanted = str(wanted or "")
    if not wanted or wanted == live or live.endswith(f"key/{wanted}"):
        return wanted
    if "alias/" in wanted:
        try:
            if ctx.aws.client("kms").describe_key(KeyId=wanted)["KeyMetadata"]["Arn"] == live:
                return wanted
        except Exception as exc:
            if not is_not_found(exc):
                raise
    return live


HANDLERS: tuple[type[Handler], ...] = (BucketObjectHandler,)
