"""Merge layers of configuration: blueprint <- extends <- environment overrides.

The rules, the same everywhere (documented in docs/blueprints.md):

* mappings merge deeply, key by key;
* lists replace: an override's list is the whole new list (merging lists item by item hides which
  items are in effect — Helm and Kustomize users learned this the hard way);
* a ``null`` value removes the key, so the built-in default applies again;
* any other value replaces.

Merging never mutates its inputs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Return ``base`` with ``override`` applied by the rules in the module docstring.

    Args:
        base: the lower layer (e.g. the parent blueprint).
        override: the upper layer (e.g. the child blueprint or an environment's overrides).

    Returns:
        A new mapping; neither input is changed.
    """
    merged: dict[str, Any] = {key: _copy(value) for key, value in base.items()}
    for key, value in override.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = _strip_nulls(value)
    return merged


def _strip_nulls(value: Any) -> Any:
    """Copy a value that lands on an empty slot: a ``null`` inside it still means "no such key"."""
    if isinstance(value, Mapping):
        return {key: _strip_nulls(item) for key, item in value.items() if item is not None}
    return _copy(value)


def _copy(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {key: _copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copy(item) for item in value]
    return value
