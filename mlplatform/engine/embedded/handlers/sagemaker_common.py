"""What the SageMaker handlers share: waiting, tags, ARNs and the base class that builds requests by the API
model.

Inputs arrive in pulumi-aws camelCase; the API wants PascalCase of the same names, so requests are built
and responses read back in input shape by ``shapes.py`` from SageMaker's own API model (names, one-item
lists, integers); each handler lists the inputs it sends and reads (``fields``) and, in ``renames``, the
few whose API name is not the same by case (Terraform renames). Tags are managed through
``AddTags``/``DeleteTags``/``ListTags`` on the resource ARN.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, ClassVar

from mlplatform.engine.embedded.handlers.base import Handler, HandlerError, StepContext
from mlplatform.engine.embedded.handlers.common import (
    arns_tagged_with_urn,
    error_code,
    is_not_found,
    physical_name,
    retag,
    tag_list,
)
from mlplatform.engine.embedded.handlers.shapes import from_api, output_shape, request
from mlplatform.engine.embedded.handlers.waiting import poll

WAIT_SECONDS = 30 * 60
WAITER_DELAY = 15.0
"""Seconds between polls of botocore's SageMaker waiters (theirs is 30): endpoints and notebooks take minutes."""


def gone(exc: BaseException) -> bool:
    """SageMaker answers a missing resource with ``ValidationException`` ("Could not find ...") on most calls."""
    if is_not_found(exc, "ResourceNotFound"):
        return True
    message = str(exc).lower()
    return error_code(exc) == "ValidationException" and any(
        text in message for text in ("could not find", "does not exist", "recordnotfound", "not found")
    )


def describe_or_none(call: Callable[..., dict[str, Any]], **args: Any) -> dict[str, Any] | None:
    try:
        return call(**args)
    except Exception as exc:
        if gone(exc):
            return None
        raise


def wait_for(
    fetch: Callable[[], dict[str, Any] | None],
    status_key: str,
    ready: tuple[str, ...],
    failed: tuple[str, ...] = ("Failed",),
    *,
    what: str,
) -> dict[str, Any] | None:
    """Poll until the status is one of ``ready`` (or the resource is gone, when ``ready`` is empty).

    For the states botocore has no waiter for (domains, feature groups, monitoring schedules, "either
    InService or Stopped"); the others use :func:`~mlplatform.engine.embedded.handlers.waiting.wait_until`.
    """
    seen: list[str] = []

    def check() -> dict[str, Any] | bool | None:
        current = fetch()
        if current is None:
            if not ready:
                return True
            raise HandlerError(f"{what} disappeared while waiting for it to become {'/'.join(ready)}")
        status = current.get(status_key)
        seen[:] = [str(status)]
        if ready and status in ready:
            return current
        if status in failed:
            raise HandlerError(f"{what} is {status}: {current.get('FailureReason') or 'no reason given'}")
        return None

    found = poll(check, what=f"{what} to become {'/'.join(ready) or 'deleted'}", timeout=WAIT_SECONDS,
                 max_delay=30.0, status=lambda: seen[0] if seen else None)  # fmt: skip
    return found if isinstance(found, dict) else None


def list_tags(ctx: StepContext, arn: str) -> dict[str, str]:
    tags: list[dict[str, str]] = []
    args: dict[str, Any] = {"ResourceArn": arn}
    while True:
        page = ctx.aws.client("sagemaker").list_tags(**args)
        tags += page.get("Tags", [])
        if not page.get("NextToken"):
            return ctx.read_tags(tags)
        args["NextToken"] = page["NextToken"]


def sync_tags(ctx: StepContext, arn: str, olds: dict[str, Any], news: dict[str, Any]) -> None:
    """Make the resource's tags ``news["tags"]``, by difference from the live tags.

    The live tags, not the recorded ones: after a refresh found drift the engine still passes the recorded
    inputs as ``olds``, and the repair must undo the out-of-band change.
    """
    if "tags" not in news and not olds.get("tags"):
        return
    sm = ctx.aws.client("sagemaker")
    retag(
        list_tags(ctx, arn),
        news.get("tags"),
        untag=lambda keys: sm.delete_tags(ResourceArn=arn, TagKeys=keys),
        tag=lambda tags: sm.add_tags(ResourceArn=arn, Tags=tag_list(tags)),
    )


def stale(keys: Any, olds: dict[str, Any], news: dict[str, Any], live: dict[str, Any]) -> list[str]:
    """The keys to update: changed in the program, or different live (drift a refresh found)."""
    return [key for key in keys if olds.get(key) != news.get(key) or (key in live and live[key] != news.get(key))]


def arn_of(ctx: StepContext, kind: str, name: str) -> str:
    return f"arn:{ctx.aws.partition}:sagemaker:{ctx.aws.region}:{ctx.aws.account_id}:{kind}/{name}"


def pick(inputs: dict[str, Any], keys: Iterable[str]) -> dict[str, Any]:
    return {key: inputs[key] for key in keys if key in inputs}


def same_strings(a: Any, b: Any) -> bool:
    return sorted(map(str, a or [])) == sorted(map(str, b or []))


class SageMakerHandler(Handler):
    """Shared CRUD shape: a describe call by name, tags on the ARN, delete by name."""

    service = "sagemaker"
    kind: ClassVar[str]
    """The ARN's resource type (``model``, ``endpoint-config``, ...)."""
    describe_op: ClassVar[str]
    delete_op: ClassVar[str]
    name_param: ClassVar[str]
    """The API's name parameter (``ModelName``)."""
    fields: ClassVar[tuple[str, ...]] = ()
    """The inputs sent on create and read back (API names and shapes derived from the model by ``shapes.py``)."""
    renames: ClassVar[dict[str, str]] = {}
    """Inputs whose API member is not the same name by case (Terraform renames), as ``shapes.py`` takes them."""

    def _request(self, ctx: StepContext, operation: str, inputs: dict[str, Any], keys: Iterable[str]) -> dict[str, Any]:
        """``operation``'s parameters for the inputs ``keys`` (those the inputs have)."""
        return request(ctx.aws.client("sagemaker"), operation, pick(inputs, keys), self.renames)

    name_prefix_key: ClassVar[str] = ""
    """The input holding a name prefix (``namePrefix``), for the types pulumi-aws gives one."""

    def _name(self, ctx: StepContext, inputs: dict[str, Any]) -> str:
        """The physical name: the program's, else one from the prefix, else Pulumi's auto-name."""
        return physical_name(inputs, ctx.name, key=self.name_key or "name", prefix_key=self.name_prefix_key)

    def _create_tags(self, ctx: StepContext, inputs: dict[str, Any]) -> dict[str, str]:
        """The tags of the create call: an auto-named resource also gets its URN, the one way to find it
        again (an interrupted run, ``mlplatform import``). Reads leave that tag out, so it is never drift."""
        tags = dict(inputs.get("tags") or {})
        if not inputs.get(self.name_key or "name"):
            tags[ctx.urn_tag] = ctx.urn
        return tags

    def _outputs(self, ctx: StepContext, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
        return {
            self.name_key or "name": name,
            "arn": arn_of(ctx, self.kind, name),
            "tagsAll": dict(inputs.get("tags") or {}),
        }

    def describe(self, ctx: StepContext, resource_id: str) -> dict[str, Any] | None:
        sm = ctx.aws.client("sagemaker")
        return describe_or_none(getattr(sm, self.describe_op), **{self.name_param: resource_id})

    def live(self, ctx: StepContext, described: dict[str, Any], inputs: dict[str, Any]) -> dict[str, Any]:
        """The described resource in input shape, for the keys in ``fields`` that the inputs have."""
        sm = ctx.aws.client("sagemaker")
        shape = output_shape(sm, sm.meta.method_to_api_mapping[self.describe_op])
        found: dict[str, Any] = from_api(described, pick(inputs, self.fields), shape, self.renames, unordered=True)
        return found

    def read(self, ctx: StepContext, resource_id: str, inputs: dict[str, Any]) -> dict[str, Any] | None:
        described = self.describe(ctx, resource_id)
        if described is None:
            return None
        live = self.live(ctx, described, inputs)
        if "tags" in inputs:
            live["tags"] = list_tags(ctx, arn_of(ctx, self.kind, resource_id))
        return live

    def update(
        self, ctx: StepContext, resource_id: str, olds: dict[str, Any], news: dict[str, Any], outputs: dict[str, Any]
    ) -> dict[str, Any]:
        # Everything but tags is ForceNew for these types: an update only retags.
        sync_tags(ctx, arn_of(ctx, self.kind, resource_id), olds, news)
        return {**outputs, **self._outputs(ctx, resource_id, news)}

    def delete(self, ctx: StepContext, resource_id: str, inputs: dict[str, Any], outputs: dict[str, Any]) -> None:
        try:
            getattr(ctx.aws.client("sagemaker"), self.delete_op)(**{self.name_param: resource_id})
        except Exception as exc:
            if not gone(exc):
                raise

    def find(self, ctx: StepContext, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
        name = inputs.get(self.name_key or "name")
        if not name:
            # Auto-named: the resource this URN created carries the URN tag.
            for arn in arns_tagged_with_urn(ctx, f"sagemaker:{self.kind}"):
                found = arn.rsplit("/", 1)[-1]
                if self.describe(ctx, found) is not None:
                    return found, self._outputs(ctx, found, inputs)
            return None
        if self.describe(ctx, str(name)) is None:
            return None
        return str(name), self._outputs(ctx, str(name), inputs)
