"""One resource of an environment's state, for people (``state show``) and programs (``state show --json``)."""

from __future__ import annotations

import json
from typing import Any

from mlplatform.engine.values import mask, reveal

FIELDS = (
    ("urn", "urn"),
    ("type", "type"),
    ("id", "id"),
    ("parent", "parent"),
    ("provider", "provider"),
    ("protect", "protect"),
    ("retain on delete", "retain_on_delete"),
    ("delete before replace", "delete_before_replace"),
    ("created", "created_at"),
    ("updated", "updated_at"),
)


def resource_json(record: dict[str, Any], *, show_secrets: bool = False) -> dict[str, Any]:
    """The resource's state as a JSON document; secrets as ``[secret]`` unless ``show_secrets``."""
    shown = reveal if show_secrets else mask
    return {
        **{key: record.get(key) for _, key in FIELDS},
        "custom": record.get("custom"),
        "dependencies": list(record.get("dependencies") or []),
        "property_dependencies": dict(record.get("property_dependencies") or {}),
        "inputs": shown(record.get("inputs") or {}),
        "outputs": shown(record.get("outputs") or {}),
    }


def resource_text(record: dict[str, Any], *, show_secrets: bool = False) -> str:
    """The resource's state as aligned ``label  value`` lines, then its dependencies, inputs and outputs."""
    doc = resource_json(record, show_secrets=show_secrets)
    width = max(len(label) for label, _ in FIELDS)
    lines = [f"{label:<{width}}  {_scalar(doc[key])}" for label, key in FIELDS]
    lines.append("dependencies:")
    lines.extend(f"  {urn}" for urn in doc["dependencies"])
    lines.extend(
        f"  {', '.join(urns)}  (input {key})" for key, urns in sorted(doc["property_dependencies"].items()) if urns
    )
    if lines[-1] == "dependencies:":
        lines.append("  (none)")
    for section in ("inputs", "outputs"):
        values = doc[section]
        lines.append(f"{section}:")
        if not values:
            lines.append("  (none)")
        for key in sorted(values):
            lines.append(f"  {key}: {json.dumps(values[key], sort_keys=True, default=str)}")
    return "\n".join(lines)


def _scalar(value: Any) -> str:
    if value is None or value == "":
        return "-"
    return str(value).lower() if isinstance(value, bool) else str(value)
