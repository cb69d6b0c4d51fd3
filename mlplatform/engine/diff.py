"""Property-level diffs of a resource's inputs, like Pulumi's detailed diff and Terraform's plan JSON.

:func:`property_diff` walks the recorded and the requested inputs together and returns one
:class:`PropertyDiff` per leaf that was added, deleted or updated, addressed by a Pulumi property path
(``rules[0].noncurrentVersionExpiration.noncurrentDays``, ``tags["mlplatform:env"]``). Nested mappings
and lists are followed key by key and index by index; a string that holds a JSON object or array (an IAM
policy, a pipeline definition) is followed into its parsed document, so a one-word change in a policy is
one line, not two unreadable copies of the whole document.

The engine computes the diff while it still sees secrets and unknowns as markers — after masking, two
different secrets look the same — and the plan carries it; the text and JSON renderers both print it.
Values in a :class:`PropertyDiff` are already masked (``[secret]``, ``(known after apply)``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from mlplatform.engine.values import UNKNOWN, contains_unknown, is_secret, mask, reveal

ADD = "add"
DELETE = "delete"
UPDATE = "update"

_ABSENT: Any = object()
"""A key that is not there (a ``None`` value counts as not there, as in the engine's key diff)."""

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


@dataclass(frozen=True)
class PropertyDiff:
    """One leaf that differs between the recorded and the requested inputs.

    Attributes:
        path: Pulumi property path of the leaf (``a.b[0].c``; keys that are not identifiers as ``["k:x"]``).
        kind: ``add``, ``delete`` or ``update``.
        before: the recorded value, masked (``None`` for ``add``).
        after: the requested value, masked (``None`` for ``delete``).
    """

    path: str
    kind: str
    before: Any = None
    after: Any = None

    @property
    def key(self) -> str:
        """The top-level input key the path starts with (what ``replace_reasons`` name)."""
        if self.path.startswith('["'):
            key, _ = json.JSONDecoder().raw_decode(self.path, 1)
            return str(key)
        match = re.match(r"[^.\[]+", self.path)
        return match.group(0) if match else self.path

    def as_dict(self) -> dict[str, Any]:
        return {"path": self.path, "kind": self.kind, "before": self.before, "after": self.after}


def property_diff(
    before: Mapping[str, Any] | None, after: Mapping[str, Any] | None, keys: Iterable[str] | None = None
) -> list[PropertyDiff]:
    """The leaves that differ between two input mappings, in key order.

    Args:
        before: the recorded inputs (``None`` for a create: every leaf is an ``add``).
        after: the requested inputs (``None`` for a delete: every leaf is a ``delete``).
        keys: only these top-level keys (the engine passes the keys its own diff found changed).

    Returns:
        One entry per differing leaf. Secrets are compared by what they hide but never entered (a
        changed secret is one ``[secret] => [secret]`` entry); an unknown value always differs.
    """
    olds, news = before or {}, after or {}
    names = sorted(set(olds) | set(news)) if keys is None else list(keys)
    out: list[PropertyDiff] = []
    for name in names:
        _walk(_join("", name), _get(olds, name), _get(news, name), out)
    return out


def _get(mapping: Mapping[str, Any], key: str) -> Any:
    value = mapping.get(key, _ABSENT)
    return _ABSENT if value is None else value


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    if _IDENTIFIER.match(key):
        return f"{path}.{key}" if path else key
    return f"{path}[{json.dumps(key, ensure_ascii=False)}]"


def _walk(path: str, old: Any, new: Any, out: list[PropertyDiff]) -> None:
    if old is _ABSENT and new is _ABSENT:
        return
    if is_secret(old) or is_secret(new) or _is_unknown(old) or _is_unknown(new):
        _leaf(path, old, new, out)
        return
    old_doc, new_doc = _document(old), _document(new)
    if old_doc is not None and new_doc is not None and (old_doc is not _ABSENT or new_doc is not _ABSENT):
        start = len(out)
        _walk(path, old_doc, new_doc, out)
        if len(out) == start and _differs(old, new):
            out.append(PropertyDiff(path, UPDATE, mask(old), mask(new)))  # same document, other text
        return
    if _container(old, dict) and _container(new, dict):
        olds, news = _or_empty(old, {}), _or_empty(new, {})
        if olds or news:
            start = len(out)
            for key in sorted(set(olds) | set(news)):
                _walk(_join(path, key), _get(olds, key), _get(news, key), out)
            if len(out) == start:
                _leaf(path, old, new, out)  # e.g. {"k": None} vs {}: not equal, yet no leaf differs
            return
    if _container(old, list) and _container(new, list):
        olds, news = _or_empty(old, []), _or_empty(new, [])
        if olds or news:
            start = len(out)
            for index in range(max(len(olds), len(news))):
                _walk(
                    _join(path, index),
                    olds[index] if index < len(olds) else _ABSENT,
                    news[index] if index < len(news) else _ABSENT,
                    out,
                )
            if len(out) == start:
                _leaf(path, old, new, out)
            return
    _leaf(path, old, new, out)


def _leaf(path: str, old: Any, new: Any, out: list[PropertyDiff]) -> None:
    if old is _ABSENT:
        out.append(PropertyDiff(path, ADD, None, mask(new)))
    elif new is _ABSENT:
        out.append(PropertyDiff(path, DELETE, mask(old), None))
    elif _differs(old, new):
        out.append(PropertyDiff(path, UPDATE, mask(old), mask(new)))


def _differs(old: Any, new: Any) -> bool:
    if contains_unknown(new):
        return True
    old, new = reveal(old), reveal(new)
    # True == 1 in Python, but a flag that became a number did change.
    return bool(old != new or isinstance(old, bool) != isinstance(new, bool))


def _is_unknown(value: Any) -> bool:
    return isinstance(value, str) and value == UNKNOWN


def _container(value: Any, kind: type) -> bool:
    """``value`` is absent or a ``kind`` (so two of them can be walked together)."""
    return value is _ABSENT or isinstance(value, kind)


def _or_empty(value: Any, empty: Any) -> Any:
    return empty if value is _ABSENT else value


def _document(value: Any) -> Any:
    """The parsed JSON object or array a string holds; ``_ABSENT`` stays absent; ``None`` if not a document."""
    if value is _ABSENT:
        return _ABSENT
    if not isinstance(value, str) or value.lstrip()[:1] not in ("{", "["):
        return None
    try:
        parsed = json.loads(value)
    except ValueError:
        return None
    return parsed if isinstance(parsed, (dict, list)) else None
