"""Pulumi's property paths, and ``ignore_changes`` applied with them.

``ignore_changes`` names property paths (``tags``, ``tags.team``, ``rules[0].status``, ``a["key.with.dots"]``,
``tags.*``); :func:`keep_old_at` applies one to a registration's inputs the way Pulumi's ``PropertyPath.Reset``
does: the value at that path is the recorded one, and everything else keeps the program's new value.
"""

from __future__ import annotations

from typing import Any

from mlplatform.engine.values import is_secret, secret

_MISSING: Any = object()


def property_path(path: str) -> list[str | int] | None:
    """Pulumi's property path syntax: ``a.b``, ``a[0]``, ``a["key.with.dots"]``, ``a.*`` / ``a[*]`` -> segments
    (None if malformed)."""
    segments: list[str | int] = []
    key, i = "", 0
    while i < len(path):
        char = path[i]
        if char in ".[" and key:
            segments.append(key)
            key = ""
        if char == ".":
            i += 1
        elif char == "[":
            if path.startswith('["', i):
                end = path.find('"]', i + 2)
                if end < 0:
                    return None
                segments.append(path[i + 2 : end])
                i = end + 2
            else:
                end = path.find("]", i)
                inner = path[i + 1 : end] if end > 0 else ""
                if not (inner.isdigit() or inner == "*"):
                    return None
                segments.append(int(inner) if inner.isdigit() else inner)
                i = end + 1
        else:
            key += char
            i += 1
    if key:
        segments.append(key)
    return segments or None


def _child(value: Any, segment: str | int) -> Any:
    """``value[segment]`` (``value`` already unwrapped from any secret), or ``_MISSING``."""
    if isinstance(segment, str) and isinstance(value, dict):
        return value.get(segment, _MISSING)
    if isinstance(segment, int) and isinstance(value, list) and 0 <= segment < len(value):
        return value[segment]
    return _MISSING


def _reset(new: Any, old: Any, segments: list[str | int], old_secret: bool = False, new_secret: bool = False) -> Any:
    """A copy of ``new`` with the value at ``segments`` taken from ``old`` (removed where ``old`` has none);
    ``new`` itself is never mutated (it is the registration's inputs). Secrets are looked through on both
    sides, and a value taken from inside an old secret stays secret."""
    if is_secret(new):
        return secret(_reset(new["value"], old, segments, old_secret, True))
    if is_secret(old):
        return _reset(new, old["value"], segments, True, new_secret)

    def taken(value: Any) -> Any:
        return secret(value) if old_secret and not new_secret and value is not _MISSING else value

    segment, rest = segments[0], segments[1:]
    if segment == "*":  # every key or element, like Pulumi's wildcard
        if isinstance(new, dict) and isinstance(old, dict):
            if not rest:
                return {key: taken(value) for key, value in old.items()}
            return {
                key: _reset(value, old[key], rest, old_secret, new_secret) if key in old else value
                for key, value in new.items()
            }
        if isinstance(new, list) and isinstance(old, list) and len(new) == len(old):
            if not rest:
                return [taken(value) for value in old]
            return [_reset(n, o, rest, old_secret, new_secret) for n, o in zip(new, old, strict=True)]
        return new
    current = _child(new, segment)
    if current is _MISSING and rest:
        return new  # nothing at this path in the program's inputs to reset (Pulumi calls it a path error)
    old_child = _child(old, segment)
    value = _reset(current, old_child, rest, old_secret, new_secret) if rest else taken(old_child)
    if isinstance(new, dict) and isinstance(segment, str):
        copy = dict(new)
        if value is _MISSING:
            copy.pop(segment, None)
        else:
            copy[segment] = value
        return copy
    if isinstance(new, list) and isinstance(segment, int) and current is not _MISSING and value is not _MISSING:
        items = list(new)  # an array element is reset, never added or removed (that would resize the array)
        items[segment] = value
        return items
    return new


def keep_old_at(news: dict[str, Any], olds: dict[str, Any], path: str) -> dict[str, Any]:
    """Apply one ``ignore_changes`` entry the way Pulumi does (``PropertyPath.Reset``): the value at that
    property path -- top-level key or nested (``tags.team``, ``rules[0].status``) -- is the recorded one, or
    absent if it was not recorded; everything else keeps the program's new value. Resetting the whole
    top-level key instead would silently drop changes next to the ignored path (another tag, say)."""
    segments = property_path(path)
    if segments is None:
        return news
    result: dict[str, Any] = _reset(news, olds, segments)
    return result
