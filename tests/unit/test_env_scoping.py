"""Issue 8, item 7: no environment's role policy reaches another environment's resources.

Two environments in one account, ``dev`` and ``dev-gpu``: ``mlp-dev-*`` would match ``mlp-dev-gpu``'s
endpoints, feature groups, model package groups, pipeline and log groups. Both programs are evaluated
offline (as ``mlplatform export`` does, which derives every resource's ARN from its name), and every
statement of every role policy of one is matched against every resource ARN of the other: none may match,
unless the statement is scoped to its own environment by the ``mlplatform:env`` tag (which the other's
resources carry with another value), or its resource is ``*`` for an action that has no resource-level
permissions at all.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import pytest

from mlplatform.app.offline import plan_spec
from mlplatform.engine.offline import OfflinePlan
from tests.unit.iam_eval import arn_matches, as_list
from tests.unit.variants import spec_for

ENVS = ("dev", "dev-gpu")
# Actions AWS authorizes only on "*" (no resource-level permissions).
NO_RESOURCE_LEVEL = {
    "cloudwatch:PutMetricData",
    "ecr:GetAuthorizationToken",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeVpcs",
    "ec2:DescribeSubnets",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeDhcpOptions",
}
# List actions granted on every resource of their type in the account and region, because which ARN AWS matches
# a list call against is not documented (components/cicd.py): they return summaries, never a resource's content.
ACCOUNT_WIDE_LIST = {
    "sagemaker:ListModelPackages": "arn:aws:sagemaker:us-east-1:123456789012:model-package/*",
}
NOT_CHECKED_HERE: set[str] = set()  # every component is checked
TAG_KEYS = ("aws:ResourceTag/mlplatform:env", "aws:RequestTag/mlplatform:env")


@cache
def offline(variant: str, env: str) -> OfflinePlan:
    return plan_spec(spec_for(variant, env))


def resource_arns(plan: OfflinePlan) -> set[str]:
    """The ARNs of everything the environment creates, and of things inside them."""
    arns: set[str] = set()
    for res in plan.resources:
        arn = res.derived.get("arn")
        if res.type.startswith("aws:ec2/") and "id" in res.derived:
            kind = {"aws:ec2/vpc:Vpc": "vpc", "aws:ec2/subnet:Subnet": "subnet"}.get(res.type, "security-group")
            arn = f"arn:aws:ec2:us-east-1:123456789012:{kind}/{res.derived['id']}"
        if not arn:
            continue
        arns.add(arn)
        if res.type == "aws:s3/bucket:Bucket":
            arns.add(f"{arn}/models/x/model.tar.gz")
        elif res.type == "aws:cloudwatch/logGroup:LogGroup":
            arns.add(f"{arn}:log-stream:x")
        elif res.type == "aws:sagemaker/modelPackageGroup:ModelPackageGroup":
            arns.add(arn.replace(":model-package-group/", ":model-package/") + "/1")
    return arns


def role_statements(plan: OfflinePlan) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for res in plan.resources:
        if res.type == "aws:iam/rolePolicy:RolePolicy" and res.component not in NOT_CHECKED_HERE:
            for item in as_list(json.loads(res.inputs["policy"])["Statement"]):
                found.append((f"{res.name}:{item.get('Sid')}", item))
    return found


def scoped_to(item: dict[str, Any]) -> str | None:
    """The environment a statement is limited to by tag, if any."""
    for operator, keys in (item.get("Condition") or {}).items():
        for key, value in keys.items():
            if operator == "StringEquals" and key in (
                f"aws:{kind}/mlplatform:env" for kind in ("ResourceTag", "RequestTag")
            ):
                return str(value)
    return None


def reach(statements: list[tuple[str, dict[str, Any]]], arns: set[str], other_env: str) -> list[str]:
    found = []
    for where, item in statements:
        if item["Effect"] != "Allow" or scoped_to(item) not in (None, other_env):
            continue
        actions = as_list(item["Action"])
        for pattern in as_list(item["Resource"]):
            if len(actions) == 1 and ACCOUNT_WIDE_LIST.get(actions[0]) == pattern:
                continue
            if pattern == "*":
                assert set(as_list(item["Action"])) <= NO_RESOURCE_LEVEL, f"{where} allows {item['Action']} on *"
                continue
            found += [f"{where}: {pattern} matches {arn}" for arn in arns if arn_matches(pattern, arn)]
    return found


@pytest.mark.parametrize("variant", ["level2", "endpoints", "notebook"])
@pytest.mark.parametrize(("mine", "theirs"), [ENVS, ENVS[::-1]])
def test_no_statement_of_one_environment_matches_a_resource_of_the_other(variant: str, mine: str, theirs: str) -> None:
    statements = role_statements(offline(variant, mine))
    arns = resource_arns(offline(variant, theirs))
    assert len(statements) > 20 and len(arns) > 20
    assert any(":endpoint/mlp-dev-gpu-" in arn for arn in resource_arns(offline(variant, "dev-gpu")))
    assert not reach(statements, arns, theirs)


def test_the_check_finds_a_prefix_pattern() -> None:
    """The check can fail: the pattern the platform used before (`<platform>-*`) reaches dev-gpu."""
    arns = resource_arns(offline("level2", "dev-gpu"))
    old = {"Effect": "Allow", "Action": "sagemaker:DescribeEndpoint", "Resource": "arn:aws:sagemaker:*:*:*/mlp-dev-*"}
    assert reach([("old", old)], arns, "dev-gpu")
    tagged = {**old, "Condition": {"StringEquals": {"aws:ResourceTag/mlplatform:env": "dev"}}}
    assert not reach([("tagged", tagged)], arns, "dev-gpu")
