"""Helpers shared by handlers: tags, error codes, policy comparison and auto-naming."""

from __future__ import annotations

import itertools
import json
import secrets
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlplatform.engine.embedded.handlers.base import AwsContext, StepContext

TAGGING_SERVICE = "resourcegroupstaggingapi"
"""boto3's name (and the provider's ``endpoints`` key) of the Resource Groups Tagging API."""


def error_code(exc: BaseException) -> str:
    """The AWS error code of a botocore ``ClientError`` (``""`` for anything else)."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""


def status_code(exc: BaseException) -> int:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return int(response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))
    return 0


def is_not_found(exc: BaseException, *codes: str) -> bool:
    code = error_code(exc)
    return code in codes or code.endswith(("NotFound", "NotFoundException", "NoSuchEntity")) or status_code(exc) == 404


def tag_list(tags: dict[str, str] | None, *, key: str = "Key", value: str = "Value") -> list[dict[str, str]]:
    """``{"a": "b"}`` -> ``[{"Key": "a", "Value": "b"}]`` (the key names vary by service)."""
    return [{key: k, value: v} for k, v in sorted((tags or {}).items())]


def tag_dict(
    items: list[dict[str, str]] | None, *, key: str = "Key", value: str = "Value", hide: str | None = None
) -> dict[str, str]:
    """``[{"Key": "a", "Value": "b"}]`` -> ``{"a": "b"}``, without the tag ``hide``."""
    return {item[key]: item[value] for item in items or [] if item.get(key) != hide}


def same_policy(a: Any, b: Any) -> bool:
    """Policies compare as JSON documents, not strings (AWS reformats them)."""
    try:
        return bool(json.loads(a) == json.loads(b)) if isinstance(a, str) and isinstance(b, str) else a == b
    except ValueError:
        return bool(a == b)


def auto_name(logical: str, *, max_length: int = 63, lowercase: bool = True) -> str:
    """Pulumi-style auto-name: the logical name plus a random 7-character suffix."""
    suffix = secrets.token_hex(4)[:7]
    base = logical.lower() if lowercase else logical
    return f"{base[: max_length - 8]}-{suffix}"


_unique_counter = itertools.count(1)
_unique_lock = threading.Lock()


def prefixed_name(prefix: str) -> str:
    """A name from ``namePrefix`` as the Terraform provider makes one (its ``id.PrefixedUniqueId``): the prefix,
    then a 26-character suffix: the UTC time to 1/10,000 s (18 digits) and an 8-hex-digit process counter.

    Unlike :func:`auto_name` there is no dash: AWS sees exactly ``prefix + suffix``, so a length limit the
    program respects with pulumi-aws holds here too.
    """
    stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S%f")[:18]
    with _unique_lock:
        counter = next(_unique_counter)
    return f"{prefix}{stamp}{counter:08x}"


def physical_name(
    inputs: dict[str, Any],
    logical: str,
    *,
    key: str = "name",
    prefix_key: str = "namePrefix",
    max_length: int = 63,
    lowercase: bool = False,
) -> str:
    """The name a resource gets: ``inputs[key]`` when the program sets it, else one from ``inputs[prefix_key]``
    (:func:`prefixed_name`), else Pulumi's auto-name from the logical name (:func:`auto_name`)."""
    if inputs.get(key):
        return str(inputs[key])
    if prefix_key and inputs.get(prefix_key):
        return prefixed_name(str(inputs[prefix_key]))
    return auto_name(logical, max_length=max_length, lowercase=lowercase)


def retag(
    current: dict[str, str] | None,
    wanted: dict[str, str] | None,
    *,
    untag: Callable[[list[str]], object],
    tag: Callable[[dict[str, str]], object],
) -> None:
    """Make a resource's tags ``wanted``, given ``current``: untag the keys that go, tag what is new or changed.

    Each service spells its tag calls differently, so the caller passes them in; the difference is the same
    everywhere (and a no-op when nothing differs).
    """
    current, wanted = dict(current or {}), dict(wanted or {})
    stale = [key for key in current if key not in wanted]
    if stale:
        untag(stale)
    changed = {key: value for key, value in wanted.items() if current.get(key) != value}
    if changed:
        tag(changed)


def can_list_tags(aws: AwsContext) -> bool:
    """Whether the tagging API may be asked: a provider that points other services at an emulator but not
    this one would send the emulator's credentials to AWS itself (state written by an older mlplatform)."""
    return not aws.endpoints or TAGGING_SERVICE in aws.endpoints


def arns_tagged_with_urn(ctx: StepContext, resource_type: str) -> list[str]:
    """ARNs of the resources of ``resource_type`` (``sagemaker:model``) that carry ``ctx``'s URN tag."""
    if not can_list_tags(ctx.aws):
        return []
    client = ctx.aws.client(TAGGING_SERVICE)
    args: dict[str, Any] = {
        "TagFilters": [{"Key": ctx.urn_tag, "Values": [ctx.urn]}],
        "ResourceTypeFilters": [resource_type],
    }
    arns: list[str] = []
    while True:
        page = client.get_resources(**args)
        arns += [str(item["ResourceARN"]) for item in page.get("ResourceTagMappingList", [])]
        if not page.get("PaginationToken"):
            return arns
        args["PaginationToken"] = page["PaginationToken"]


def ignore_missing(call: Callable[[], Any]) -> None:
    """Run a delete; a resource that is already gone counts as deleted."""
    try:
        call()
    except Exception as exc:
        if not is_not_found(exc):
            raise


def only_inputs(live: dict[str, Any], inputs: dict[str, Any]) -> dict[str, Any]:
    """Keep the keys the inputs set: an attribute the program leaves to AWS's default is not drift."""
    return {key: value for key, value in live.items() if key in inputs}
