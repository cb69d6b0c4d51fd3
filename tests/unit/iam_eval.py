"""A small evaluator of IAM identity policies, for asserting on the platform's policy documents.

The emulator (moto) cannot evaluate most condition keys: its access control ignores every condition but
``sts:ExternalId``, and it never sees SageMaker's request keys (``sagemaker:InstanceTypes``...) or tag
keys. So the tests evaluate the documents themselves, with IAM's rules for what the platform's policies
use: Allow/Deny, ``*``/``?`` wildcards in actions and resources (actions case-insensitively), and the
condition operators below, all conditions of a statement ANDed, an explicit deny winning. An operator the
evaluator does not know fails the test instead of being ignored.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any


def as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, (list, tuple)) else [value]


def wildcard(pattern: str, value: str, *, case: bool = True) -> bool:
    """IAM's ``*`` and ``?`` (no other glob syntax)."""
    regex = "".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern)
    return re.fullmatch(regex, value, 0 if case else re.IGNORECASE) is not None


@dataclass
class Request:
    """One API call: the action, the resource and the request's condition keys (missing keys are absent)."""

    action: str
    resource: str
    context: dict[str, Any] = field(default_factory=dict)


def _condition(operator: str, key: str, expected: Any, context: Mapping[str, Any]) -> bool:
    present = key in context
    if operator == "Null":
        return (str(expected).lower() == "true") == (not present)
    qualifier, _, base = operator.rpartition(":")
    if base.endswith("IfExists"):
        base = base.removesuffix("IfExists")
        if not present:
            return True
    expected_values = [str(item) for item in as_list(expected)]
    if qualifier == "ForAllValues":
        return all(_match(base, str(actual), expected_values) for actual in as_list(context.get(key, [])))
    if qualifier == "ForAnyValue":
        return any(_match(base, str(actual), expected_values) for actual in as_list(context.get(key, [])))
    assert not qualifier, f"unknown qualifier {qualifier}"
    if not present:
        return False
    actual = context[key]
    if isinstance(actual, list):
        return False  # a single-valued operator on a multi-valued key never matches here
    return _match(base, str(actual), expected_values)


def _match(operator: str, actual: str, expected: list[str]) -> bool:
    if operator in ("StringEquals", "ArnEquals"):
        return actual in expected
    if operator in ("StringLike", "ArnLike"):
        return any(wildcard(pattern, actual) for pattern in expected)
    if operator == "Bool":
        return actual.lower() in [value.lower() for value in expected]
    if operator == "NumericLessThanEquals":
        return any(float(actual) <= float(value) for value in expected)
    raise AssertionError(f"the test evaluator does not know condition operator {operator!r}")


def statement_applies(item: Mapping[str, Any], request: Request) -> bool:
    """The statement's actions, resources and every condition match the request."""
    if not any(wildcard(action, request.action, case=False) for action in as_list(item.get("Action", []))):
        return False
    if not any(wildcard(resource, request.resource) for resource in as_list(item.get("Resource", []))):
        return False
    for operator, keys in (item.get("Condition") or {}).items():
        for key, expected in keys.items():
            if not _condition(operator, key, expected, request.context):
                return False
    return True


def allowed(documents: Iterable[Mapping[str, Any]], request: Request) -> bool:
    """IAM's decision for an identity policy set: some Allow applies and no Deny does."""
    decision = False
    for document in documents:
        for item in as_list(document["Statement"]):
            if statement_applies(item, request):
                if item["Effect"] == "Deny":
                    return False
                decision = True
    return decision


def arn_matches(pattern: str, arn: str) -> bool:
    """Whether an ARN pattern of a Resource element matches a concrete ARN."""
    return wildcard(pattern, arn)
