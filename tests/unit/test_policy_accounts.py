"""Issue 8, items 2 and 5: no policy is built for "any account"; the key serves every topic publisher.

Every policy document of every level and variant (trust, key, bucket, topic and role policies) is walked
for ARNs and account conditions: an account field must be this account's 12 digits (empty only where the
service's ARNs have none: S3), a region field must never be a wildcard. A platform whose account is not
known refuses to build its policies instead of writing ``*``. The key policy lets AWS Budgets, CloudWatch
and EventBridge use the key for the encrypted alarm topic, for this account only, and ``kms:CreateGrant``
is allowed only for grants to AWS resources.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from mlplatform.components.common import AccountRequiredError, Platform
from tests.unit.iam_eval import as_list
from tests.unit.platform_plans import PlatformPlan, evaluate
from tests.unit.variants import VARIANTS, spec_for

POLICY_KEYS = ("policy", "assumeRolePolicy")
ARN = re.compile(r"arn:[^:\s\"]*:[^:\s\"]*:[^:\s\"]*:[^:\s\"]*:")
ACCOUNTLESS = {"s3"}  # services whose ARNs carry no account
REGIONLESS = {"s3", "iam", "budgets"}


def documents(plan: PlatformPlan) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every IAM policy document the program registers (not e.g. an ECR lifecycle policy)."""
    for record in plan.custom():
        for key in POLICY_KEYS:
            value = record.inputs.get(key)
            if isinstance(value, str) and value.strip().startswith("{"):
                document = json.loads(value)
                if "Statement" in document:
                    yield f"{plan.name(record)}.{key}", document


def strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def wildcard_accounts(document: dict[str, Any], account: str) -> list[str]:
    """What in the document names another or any account or region."""
    found = []
    for text in strings(document):
        for match in ARN.finditer(text):
            _, _, service, region, owner, _ = match.group(0).split(":")
            if service == "fake":  # the fake handlers' ARNs stand for real outputs of this account
                continue
            if "*" in region or "?" in region or (not region and service not in REGIONLESS):
                found.append(f"region of {text!r}")
            if service in ACCOUNTLESS:
                if owner:
                    found.append(f"account of {text!r}")
            elif owner != account:
                found.append(f"account of {text!r}")
    for item in as_list(document["Statement"]):
        for keys in (item.get("Condition") or {}).values():
            for key, value in keys.items():
                if key.lower() in ("aws:sourceaccount", "aws:resourceaccount") and as_list(value) != [account]:
                    found.append(f"{key} {value!r}")
    return found


@pytest.fixture(scope="module", params=sorted(VARIANTS))
def plan(request: pytest.FixtureRequest) -> PlatformPlan:
    return evaluate(spec_for(request.param))


def test_no_policy_names_any_other_account_or_a_wildcard_region(plan: PlatformPlan) -> None:
    account = plan.spec.account_id or "123456789012"
    walked = list(documents(plan))
    assert len(walked) >= 10
    for where, document in walked:
        assert not wildcard_accounts(document, account), where
    principals = [item.get("Principal") for _, doc in walked for item in as_list(doc["Statement"])]
    assert {"AWS": f"arn:aws:iam::{account}:root"} in principals, "the key policy names this account's root"


def test_every_statement_is_one_iam_accepts(plan: PlatformPlan) -> None:
    """IAM refuses a statement without actions or resources, and a condition value that is not a string."""
    for where, document in documents(plan):
        for item in as_list(document["Statement"]):
            assert item["Effect"] in ("Allow", "Deny") and as_list(item["Action"]), where
            assert as_list(item.get("Resource", [])) or where.endswith(".assumeRolePolicy"), f"{where}: {item}"
            for keys in (item.get("Condition") or {}).values():
                for value in keys.values():
                    assert all(isinstance(v, (str, bool)) for v in as_list(value)), f"{where}: {keys}"


def test_the_walk_finds_a_wildcard_account() -> None:
    """The check itself can fail: a statement for any account is reported."""
    document = {"Statement": [{"Principal": {"AWS": "arn:aws:iam::*:root"}, "Resource": "arn:aws:sns:*:*:t"}]}
    assert len(wildcard_accounts(document, "123456789012")) == 3


def test_every_trust_policy_is_limited_to_this_account(plan: PlatformPlan) -> None:
    account = plan.spec.account_id or "123456789012"
    for where, document in documents(plan):
        if not where.endswith(".assumeRolePolicy"):
            continue
        for item in as_list(document["Statement"]):
            if "Service" in item["Principal"]:
                assert item["Condition"]["StringEquals"]["aws:SourceAccount"] == account, where


def test_a_platform_without_an_account_refuses_to_build_policies() -> None:
    """target aws without account_id (the spec rejects it too, but components must not rely on that)."""
    spec = spec_for("aws").model_copy(update={"account_id": None})
    with pytest.raises(AccountRequiredError) as caught:
        evaluate(spec)
    assert caught.value.exit_code == 2
    assert "account_id" in str(caught.value) and "mlp-aws" in str(caught.value)
    with pytest.raises(AccountRequiredError):
        Platform(name="mlp-x", env="x", blueprint="level0", region="eu-west-1").arn("sns", "topic")


def test_budgets_cloudwatch_and_eventbridge_may_use_the_key_for_the_alarm_topic(plan: PlatformPlan) -> None:
    account = plan.spec.account_id or "123456789012"
    [key] = plan.of_type("aws:kms/key:Key")
    statements = as_list(json.loads(key.inputs["policy"])["Statement"])
    for service in ("budgets.amazonaws.com", "cloudwatch.amazonaws.com", "events.amazonaws.com"):
        grants = [item for item in statements if service in as_list(item["Principal"].get("Service", []))]
        assert grants, f"{service} cannot use the key: its notifications to the encrypted topic would fail"
        for item in grants:
            assert {"kms:GenerateDataKey*", "kms:Decrypt"} <= set(as_list(item["Action"]))
            assert item["Condition"] == {"StringEquals": {"aws:SourceAccount": account}}
    [topic_policy] = plan.of_type("aws:sns/topicPolicy:TopicPolicy")
    publish = next(s for s in json.loads(topic_policy.inputs["policy"])["Statement"] if s["Effect"] == "Allow")
    assert "budgets.amazonaws.com" in publish["Principal"]["Service"]


def test_create_grant_only_for_aws_resources(plan: PlatformPlan) -> None:
    found = 0
    for where, document in documents(plan):
        for item in as_list(document["Statement"]):
            actions = [action.lower() for action in as_list(item.get("Action", []))]
            if item["Effect"] == "Allow" and "kms:creategrant" in actions and "Principal" not in item:
                found += 1
                assert item["Condition"] == {"Bool": {"kms:GrantIsForAWSResource": "true"}}, where
                assert actions == ["kms:creategrant"], f"{where}: CreateGrant shares a statement with {actions}"
    assert found, "the roles whose volumes are encrypted need CreateGrant"
