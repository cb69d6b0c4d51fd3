"""The IAM condition evaluator the emulator uses for bucket policies (mlplatform/emulator/iam_conditions.py)."""

from __future__ import annotations

import pytest

from mlplatform.emulator.iam_conditions import condition_holds as _condition_holds


def test_condition_evaluation() -> None:
    tls = {"aws:securetransport": "true"}
    assert not _condition_holds({"Bool": {"aws:SecureTransport": "false"}}, tls)
    assert _condition_holds({"Bool": {"aws:SecureTransport": ["true"]}}, tls)
    assert not _condition_holds({"StringEquals": {"aws:SourceAccount": "1"}}, tls)  # unknown key
    assert _condition_holds({"StringEqualsIfExists": {"aws:SourceAccount": "1"}}, tls)
    assert _condition_holds({"Null": {"aws:SourceAccount": "true"}}, tls)
    assert not _condition_holds({"Null": {"aws:SecureTransport": "true"}}, tls)
    assert _condition_holds({"StringLike": {"k": "ab*"}}, {"k": "abc"})
    assert not _condition_holds({"StringNotLike": {"k": "ab*"}}, {"k": "abc"})
    assert not _condition_holds({"NumericLessThan": {"k": "3"}}, {"k": "1"})  # not evaluated: never holds


def test_every_operator_and_every_key_must_hold() -> None:
    context = {"aws:securetransport": "true", "aws:sourceaccount": "111"}
    assert _condition_holds(
        {"Bool": {"aws:SecureTransport": "true"}, "StringEquals": {"aws:SourceAccount": "111"}}, context
    )
    assert not _condition_holds(
        {"Bool": {"aws:SecureTransport": "true"}, "StringEquals": {"aws:SourceAccount": "222"}}, context
    )
    assert not _condition_holds({"StringEquals": {"aws:SourceAccount": "111", "aws:SourceArn": "x"}}, context)
    assert _condition_holds({}, context)  # no condition: the statement applies


def test_a_key_holds_when_any_expected_value_matches() -> None:
    assert _condition_holds({"StringEquals": {"k": ["a", "b"]}}, {"k": "b"})
    assert not _condition_holds({"StringNotEquals": {"k": ["a", "b"]}}, {"k": "b"})
    assert _condition_holds({"StringNotEquals": {"k": ["a", "b"]}}, {"k": "c"})


@pytest.mark.parametrize(
    ("condition", "holds"),
    [
        ({"StringEquals": {"k": "ABC"}}, False),  # case-sensitive
        ({"StringEqualsIgnoreCase": {"k": "ABC"}}, True),
        ({"StringLike": {"k": "a?c"}}, True),
        ({"StringNotLike": {"k": "x*"}}, True),
        ({"StringEqualsIfExists": {"k": "abc"}}, True),  # present: compared as StringEquals
        ({"StringEqualsIfExists": {"k": "abd"}}, False),
        ({"Bool": {"flag": "TRUE"}}, True),  # Bool compares case-insensitively
        ({"Bool": {"flag": True}}, True),  # a JSON boolean, not a string
        ({"Null": {"k": "false"}}, True),  # the key is present
        ({"Null": {"missing": "false"}}, False),
        ({"DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}}, False),  # unsupported: never holds
    ],
)
def test_operators(condition: dict[str, dict[str, object]], holds: bool) -> None:
    assert _condition_holds(condition, {"k": "abc", "flag": "true"}) is holds


def test_keys_are_matched_without_regard_to_case() -> None:
    # IAM condition keys are case-insensitive; the context is given with lower-cased keys.
    assert _condition_holds({"StringEquals": {"AWS:SourceAccount": "1"}}, {"aws:sourceaccount": "1"})
