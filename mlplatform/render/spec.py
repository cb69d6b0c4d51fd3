"""Text renderings of blueprints and resolved environments (for `blueprints` and `validate`)."""

from __future__ import annotations

import json
from typing import Any

import yaml

from mlplatform.blueprints import BlueprintDiff, ResolvedBlueprint
from mlplatform.environments import ResolvedEnvironment
from mlplatform.render.context import BLUEPRINT_SOURCES
from mlplatform.spec.models import COMPONENTS


def _scalar(value: Any) -> str:
    return json.dumps(value) if not isinstance(value, str) else value


def resolved_blueprint_yaml(resolved: ResolvedBlueprint) -> str:
    """The fully merged blueprint as a standalone, valid blueprint document, with a provenance header."""
    top = resolved.chain[-1]
    chain = " <- ".join(bp.name for bp in reversed(resolved.chain))
    header = (
        f"# blueprint {resolved.name}, resolved: {chain}\n"
        f"# every setting, defaults included; this document is itself a valid blueprint (no extends).\n"
    )
    body = {
        "description": top.meta.description,
        "level": resolved.level,
        "version": top.meta.version,
        **resolved.settings.model_dump(mode="json"),
    }
    return header + yaml.safe_dump(body, sort_keys=False, allow_unicode=True, width=110)


def blueprint_diff_text(result: BlueprintDiff) -> str:
    """Human form of :func:`mlplatform.blueprints.diff`."""
    lines = [f"blueprint {result.a} (level {result.level_a}) -> {result.b} (level {result.level_b})", ""]
    lines.append(f"components {result.b} adds:")
    lines.extend(f"  + {name}" for name in result.added) if result.added else lines.append("  (none)")
    lines.append(f"components {result.b} removes:")
    lines.extend(f"  - {name}" for name in result.removed) if result.removed else lines.append("  (none)")
    lines.append("settings that differ (components enabled in both):")
    if result.changed:
        lines.extend(f"  ~ {c.path}: {_scalar(c.before)} -> {_scalar(c.after)}" for c in result.changed)
    else:
        lines.append("  (none)")
    return "\n".join(lines)


def environment_summary(resolved: ResolvedEnvironment) -> str:
    """A short summary of a validated environment, for `validate` and `init`."""
    spec = resolved.spec
    source = f"{resolved.file.name}" if resolved.file else "built-in; no stacks/local.yaml"
    chain = " <- ".join(bp.name for bp in reversed(resolved.blueprint.chain))
    on = spec.enabled_components()
    off = [name for name in COMPONENTS if name not in on]
    lines = [
        f"environment {resolved.env!r} is valid ({source})",
        f"  blueprint   {spec.blueprint} (level {spec.level}): {chain}",
        f"              {BLUEPRINT_SOURCES.get(resolved.blueprint_source, 'from ' + resolved.blueprint_source)}",
        f"  target      {spec.target}, region {spec.region}"
        + (f", account {spec.account_id}" if spec.account_id else ""),
        f"  name        {spec.name} (prefix of physical resource names)",
        f"  protect     {_on(spec.protect)}; allow_destroy_data {_on(spec.allow_destroy_data)}",
        f"  components  {len(on)} enabled: {', '.join(on)}",
    ]
    if off:
        lines.append(f"              disabled: {', '.join(off)}")
    if spec.feature_store.enabled:
        groups = [group.name for group in spec.feature_store.feature_groups]
        lines.append(f"  features    {len(groups)} feature group(s){': ' + ', '.join(groups) if groups else ''}")
    if spec.serving.enabled:
        endpoints = spec.serving.effective_endpoints()
        if endpoints:
            for endpoint in endpoints:
                model = "model configured" if endpoint.model else "no model: roles and alarms only"
                strategy = endpoint.deployment.strategy if endpoint.deployment else "all-at-once"
                lines.append(
                    f"  endpoint    {endpoint.name}: {endpoint.instance_type} x{endpoint.instance_count}, "
                    f"{strategy}, {model}"
                )
        else:
            lines.append("  endpoints   none declared (serving prepares roles, capture prefix and alarms)")
    settings = resolved.settings
    extra = [f"owner {settings.owner}"] if settings.owner else []
    extra += [f"ttl {settings.ttl}"] if settings.ttl else []
    extra += [f"backend {settings.backend}"] if settings.backend else []
    if extra:
        lines.append(f"  lifecycle   {', '.join(extra)}")
    lines.extend(f"info: {note}" for note in resolved.notes)
    lines.extend(f"warning: {warning}" for warning in resolved.warnings)
    return "\n".join(lines)


def _on(value: bool) -> str:
    return "on" if value else "off"
