"""What every component shares: the platform's identity (names, tags, ARNs) and policy documents.

A :class:`Platform` is the small, explicit context each component gets besides its own Args: the prefix of
physical names, the tags every taggable resource carries, the account and region used to build ARNs, and
the safety switches (``protect``, ``allow_destroy_data``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi

from mlplatform.errors import ConfigError
from mlplatform.spec import tagging

MANAGED_BY = {tagging.MANAGED_BY_KEY: tagging.MANAGED_BY_VALUE}


class AccountRequiredError(ConfigError):
    """A policy document needs the AWS account, and the platform does not know it."""

    headline = "account_id required"


@dataclass(frozen=True)
class Platform:
    """The platform's identity, shared by every component.

    Attributes:
        name: prefix of every physical resource name (``mlp-dev``).
        env: the environment's name (tag ``mlplatform:env``).
        blueprint: the blueprint's name (tag ``mlplatform:blueprint``).
        region: AWS region.
        account_id: the AWS account, when known before deploying (always for target ``local``); names that
            must be globally unique (buckets) include it, otherwise they are auto-named.
        partition: ``aws`` (or ``aws-cn``/``aws-us-gov``).
        protect: refuse to delete stateful resources.
        allow_destroy_data: buckets and repositories may be emptied on delete.
        tags: extra tags from the spec, on every taggable resource.
    """

    name: str
    env: str
    blueprint: str
    region: str
    account_id: str | None = None
    partition: str = "aws"
    protect: bool = True
    allow_destroy_data: bool = False
    tags: Mapping[str, str] = field(default_factory=dict)

    def tags_for(self, component: str) -> dict[str, str]:
        """The tags of a resource in ``component``: the spec's extra tags plus the four mlplatform tags."""
        return {
            **self.tags,
            tagging.ENV_KEY: self.env,
            tagging.BLUEPRINT_KEY: self.blueprint,
            tagging.COMPONENT_KEY: component,
            **MANAGED_BY,
        }

    @property
    def account(self) -> str:
        """The account for ARNs and policy conditions.

        A policy is never built for "any account": a ``*`` account would turn the key policy's principal
        into ``arn:aws:iam::*:root`` and every resource ARN into one that matches other accounts' resources.

        Raises:
            AccountRequiredError: the account is not known (target ``aws`` without ``account_id``).
        """
        if not self.account_id:
            raise AccountRequiredError(
                f"platform {self.name!r} (env {self.env!r}) has no AWS account: its trust, key, bucket, topic and "
                "role policies name the account, and mlplatform never builds one for any account ('*').",
                hint="set account_id (the 12-digit AWS account the environment deploys to) in the environment file",
            )
        return self.account_id

    def arn(self, service: str, resource: str, *, region: bool = True, account: bool = True) -> str:
        """An ARN in this platform's partition, region and account."""
        return (
            f"arn:{self.partition}:{service}:{self.region if region else ''}:"
            f"{self.account if account else ''}:{resource}"
        )

    def sagemaker_arn(self, resource_type: str, name: str) -> str:
        """The ARN of one named SageMaker resource (``endpoint``, ``pipeline``, ``feature-group`` ...).

        SageMaker writes resource names in ARNs in lower case, and IAM compares ARNs case-sensitively.
        """
        return self.arn("sagemaker", f"{resource_type}/{name.lower()}")

    def env_tag_condition(self, key: str = "aws:ResourceTag") -> dict[str, Any]:
        """A condition that holds only for resources (or requests) tagged with this environment.

        For resources whose names are chosen at run time (training and processing jobs), where an ARN
        pattern cannot tell this environment's resources from another's.
        """
        return {"StringEquals": {f"{key}/{tagging.ENV_KEY}": self.env}}

    def global_name(self, role: str) -> str | None:
        """A globally unique physical name (buckets) when the account is known, else ``None`` (auto-name)."""
        return f"{self.name}-{role}-{self.account_id}" if self.account_id else None


def child(parent: pulumi.Resource, *, protect: bool = False, **kwargs: Any) -> pulumi.ResourceOptions:
    """Options for a component's child: parented (so the provider is inherited) and optionally protected."""
    return pulumi.ResourceOptions(parent=parent, protect=protect or None, **kwargs)


def statement(
    sid: str,
    actions: Sequence[str],
    resources: Sequence[Any],
    *,
    effect: str = "Allow",
    condition: Mapping[str, Any] | None = None,
    principal: Mapping[str, Any] | str | None = None,
) -> dict[str, Any]:
    """One IAM policy statement. ``resources`` may hold Outputs; :func:`policy` resolves them."""
    item: dict[str, Any] = {"Sid": sid, "Effect": effect, "Action": list(actions), "Resource": list(resources)}
    if principal is not None:
        item["Principal"] = principal
    if condition:
        item["Condition"] = dict(condition)
    return item


def policy(*statements: Mapping[str, Any]) -> pulumi.Output[str]:
    """A policy document as a JSON string Output (statements may contain Outputs anywhere)."""
    document = {"Version": "2012-10-17", "Statement": list(statements)}
    return pulumi.Output.from_input(document).apply(lambda doc: json.dumps(doc, sort_keys=True))


def assume_role_policy(service: str, *, source_account: str | None = None) -> str:
    """Trust policy for an AWS service principal, limited to this account when it is known (confused deputy)."""
    trust: dict[str, Any] = {
        "Sid": "AssumeByService",
        "Effect": "Allow",
        "Principal": {"Service": service},
        "Action": "sts:AssumeRole",
    }
    if source_account:
        trust["Condition"] = {"StringEquals": {"aws:SourceAccount": source_account}}
    return json.dumps({"Version": "2012-10-17", "Statement": [trust]}, sort_keys=True)


def tls_only_statement(bucket_arn: pulumi.Input[str]) -> dict[str, Any]:
    """Deny every request to a bucket that does not use TLS."""
    return statement(
        "DenyInsecureTransport",
        ["s3:*"],
        [bucket_arn, pulumi.Output.concat(bucket_arn, "/*")],
        effect="Deny",
        principal="*",
        condition={"Bool": {"aws:SecureTransport": "false"}},
    )
