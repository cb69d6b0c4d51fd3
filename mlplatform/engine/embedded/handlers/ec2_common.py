"""What the EC2 handlers (``ec2.py``, ``security_groups.py``) share: tags, lookup by URN, ARNs, patient deletes.

EC2 resources have no user-chosen physical name (security groups aside), so every create tags the resource
with the engine's URN tag (``ctx.urn_tag``) in the ``TagSpecifications`` of the create call itself — there is
no window in which an interrupted run leaves an untagged resource behind — and ``find`` looks for that tag.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mlplatform.engine.embedded.handlers.base import StepContext
from mlplatform.engine.embedded.handlers.common import error_code, is_not_found, retag, tag_list
from mlplatform.engine.embedded.handlers.waiting import DEFAULT_TIMEOUT, poll


def tag_specs(resource_type: str, ctx: StepContext, tags: dict[str, str] | None) -> list[dict[str, Any]]:
    """``TagSpecifications`` for a create call: the user's tags plus the URN tag ``find`` looks for."""
    return [{"ResourceType": resource_type, "Tags": tag_list({**(tags or {}), ctx.urn_tag: ctx.urn})}]


def sync_tags(ec2: Any, resource_id: str, live: dict[str, str], wanted: dict[str, str] | None) -> None:
    """Make the resource's tags (the URN tag aside) equal ``wanted``."""
    retag(
        live,
        wanted,
        untag=lambda keys: ec2.delete_tags(Resources=[resource_id], Tags=[{"Key": key} for key in keys]),
        tag=lambda tags: ec2.create_tags(Resources=[resource_id], Tags=tag_list(tags)),
    )


def refuse_unless_default(inputs: dict[str, Any], refused: list[str], defaults: dict[str, Any]) -> list[str]:
    """``refused`` without the inputs that only restate the provider's default (``ipv6Native=False``): a value
    that asks for nothing the API would not do anyway is not ignored by leaving it out of the request."""
    return [key for key in refused if key not in defaults or inputs.get(key) != defaults[key]]


def urn_filter(ctx: StepContext) -> list[dict[str, Any]]:
    """The ``Filters`` of a Describe* call that finds the resource ``ctx``'s URN created."""
    return [{"Name": f"tag:{ctx.urn_tag}", "Values": [ctx.urn]}]


def describe_items(call: Callable[..., dict[str, Any]], key: str, **args: Any) -> list[dict[str, Any]]:
    """The items ``key`` of a Describe* answer; none when AWS answers that the id does not exist."""
    try:
        return [dict(item) for item in call(**args)[key]]
    except Exception as exc:
        if is_not_found(exc):
            return []
        raise


def ec2_arn(ctx: StepContext, kind: str, resource_id: str, owner: str | None = None) -> str:
    """The ARN of an EC2 resource (``kind`` as in ``vpc``, ``security-group``), owned by ``owner`` or us."""
    account = owner or ctx.aws.account_id
    return f"arn:{ctx.aws.partition}:ec2:{ctx.aws.region}:{account}:{kind}/{resource_id}"


def delete_with_retry(call: Callable[[], Any], what: str, timeout: float = DEFAULT_TIMEOUT) -> None:
    """Run a delete, retrying while AWS answers ``DependencyViolation`` (dependents still being torn down).

    An interface endpoint's network interfaces outlive the endpoint by minutes; Terraform retries the same
    way. A resource that is already gone counts as deleted.
    """
    refusal: list[str] = []

    def attempt() -> bool:
        try:
            call()
        except Exception as exc:
            if is_not_found(exc):
                return True
            if error_code(exc) != "DependencyViolation":
                raise
            refusal[:] = [str(exc)]
            return False
        return True

    poll(attempt, what=f"{what} to be deleted", timeout=timeout, status=lambda: refusal[0] if refusal else None)
