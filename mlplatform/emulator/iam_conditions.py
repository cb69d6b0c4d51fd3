"""Evaluate an IAM policy statement's ``Condition`` block against what is known of a request.

moto's own statement evaluator understands only ``StringEquals`` and treats every other operator as holding,
which makes a conditional ``Deny`` deny everything. :mod:`mlplatform.emulator.patches.s3` uses
:func:`condition_holds` to decide which bucket-policy statements apply to a request. It covers the operators
mlplatform's policies use (the string family, ``Bool``, ``Null``, each with ``...IfExists``); any other
operator never holds, so a statement that depends on one is left out rather than guessed at.
"""

from __future__ import annotations

import fnmatch
from typing import Any


def condition_holds(condition: dict[str, Any], context: dict[str, str]) -> bool:
    """Whether an IAM ``Condition`` block holds for ``context`` (lower-cased keys), as IAM evaluates it.

    Every operator must hold; within one, every key; a key holds when any expected value matches. A key with
    no value in the context holds only under ``...IfExists`` or ``Null: true``. Operators beyond the string,
    Bool and Null families never hold, so a statement that depends on them is left out (not guessed at).
    """
    for operator, keys in condition.items():
        if_exists = operator.endswith("IfExists")
        base = operator.removesuffix("IfExists")
        for key, expected in keys.items():
            values = [
                str(v).lower() if base == "Bool" else str(v)
                for v in (expected if isinstance(expected, list) else [expected])
            ]
            actual = context.get(key.lower())
            if base == "Null":
                if (actual is None) != ("true" in [v.lower() for v in values]):
                    return False
                continue
            if actual is None:
                if not if_exists:
                    return False
                continue
            if base in ("Bool", "StringEquals"):
                holds = actual in values
            elif base == "StringNotEquals":
                holds = actual not in values
            elif base == "StringEqualsIgnoreCase":
                holds = actual.lower() in [v.lower() for v in values]
            elif base == "StringLike":
                holds = any(fnmatch.fnmatchcase(actual, v) for v in values)
            elif base == "StringNotLike":
                holds = not any(fnmatch.fnmatchcase(actual, v) for v in values)
            else:
                return False
            if not holds:
                return False
    return True
