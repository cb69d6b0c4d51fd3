"""Visible security overrides: the settings that switch off part of the security baseline, named, never silent.

Each secure default of the baseline (docs/security.md) can be turned off per environment, but never
quietly: :func:`security_overrides` lists every override a spec makes, and ``validate``, ``preview`` and
``up`` name each one as a warning (text and ``--json``). :data:`OVERRIDES` is the one list of them; the
settings' own descriptions and docs/security.md's table say the same (a test holds the three together).

Production environments get one more rule: ``protect: false`` with ``allow_destroy_data: true`` on target
``aws`` — destroy would delete every bucket with its data and nothing would stop it — is refused for an
environment that :func:`production_marker` recognises, unless the user passes ``--allow-unprotected-prod``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from mlplatform.spec.models import PlatformSpec


def _always(spec: PlatformSpec) -> bool:
    return True


def _on_aws(spec: PlatformSpec) -> bool:
    # Target local is a disposable emulator: no protection and destroyable data are its defaults, not overrides.
    return spec.target == "aws"


@dataclass(frozen=True)
class OverrideRule:
    """One setting whose value ``insecure`` switches off part of the baseline.

    Attributes:
        path: the setting's path in the spec (``("encryption", "key_rotation")``).
        insecure: the value that is the override.
        consequence: what is lost, in a few words.
        component: the component that must be enabled for the setting to take effect (``None``: platform-wide).
        applies: a further condition on the spec (the target, for the safety switches).
    """

    path: tuple[str, ...]
    insecure: Any
    consequence: str
    component: str | None
    applies: Callable[[PlatformSpec], bool] = _always

    @property
    def setting(self) -> str:
        return ".".join(self.path)


OVERRIDES: tuple[OverrideRule, ...] = (
    OverrideRule(("encryption", "key_rotation"), False, "the platform key's material is never rotated", "encryption"),
    OverrideRule(
        ("artifact_store", "versioning"),
        False,
        "artifact bucket versioning is suspended: an overwritten or deleted object cannot be recovered",
        "artifact_store",
    ),
    OverrideRule(
        ("artifact_store", "access_logging"),
        False,
        "requests to the artifact bucket are not logged (no access-log bucket)",
        "artifact_store",
    ),
    OverrideRule(("network", "flow_logs"), False, "VPC traffic is not recorded (no flow logs)", "network"),
    OverrideRule(
        ("container_registry", "scan_on_push"),
        False,
        "pushed images are not scanned for vulnerabilities",
        "container_registry",
    ),
    OverrideRule(
        ("container_registry", "immutable_tags"),
        False,
        "image tags are mutable: a deployed tag can be overwritten with another image",
        "container_registry",
    ),
    OverrideRule(("dev_environment", "root_access"), True, "notebook users can become root", "dev_environment"),
    OverrideRule(
        ("dev_environment", "direct_internet_access"),
        True,
        "the notebook reaches the internet outside the VPC (data can leave without the VPC's controls)",
        "dev_environment",
    ),
    OverrideRule(
        ("registry", "approval"),
        "automatic",
        "new model versions are approved on registration, with no person reviewing them",
        "registry",
    ),
    OverrideRule(
        ("cicd", "manual_approval_before_prod"),
        False,
        "deployments reach the last stage (production) without a person's approval",
        "cicd",
    ),
    OverrideRule(
        ("protect",),
        False,
        "stateful resources (buckets, the KMS key, registries, feature groups) are not protected from deletion",
        None,
        _on_aws,
    ),
    OverrideRule(
        ("allow_destroy_data",),
        True,
        "buckets are created with force_destroy: destroy deletes them with every object in them",
        None,
        _on_aws,
    ),
)
"""Every visible security override, in the order they are reported."""


@dataclass(frozen=True)
class SecurityOverride:
    """An override a spec makes, and where it was set (filled in by environment resolution).

    Attributes:
        rule: which override.
        file: the file that set it (blueprint or environment file), when known.
        line: the line in that file, when known.
        path: the setting's path inside that file (``overrides.encryption.key_rotation``).
    """

    rule: OverrideRule
    file: str | None = None
    line: int | None = None
    path: str | None = None

    @property
    def setting(self) -> str:
        return self.rule.setting

    def message(self) -> str:
        """One warning line: the setting, its value, where it was set, and what it switches off."""
        where = f" ({self.file}:{self.line})" if self.file and self.line else f" ({self.file})" if self.file else ""
        return f"security override: {self.setting}: {json.dumps(self.rule.insecure)}{where} — {self.rule.consequence}"

    def as_dict(self) -> dict[str, Any]:
        """JSON form (validate's ``security_overrides``)."""
        return {
            "setting": self.setting,
            "value": self.rule.insecure,
            "consequence": self.rule.consequence,
            "file": self.file,
            "line": self.line,
            "path": self.path,
        }


def _value_at(spec: PlatformSpec, path: tuple[str, ...]) -> Any:
    node: Any = spec
    for part in path:
        node = getattr(node, part)
    return node


def security_overrides(spec: PlatformSpec) -> list[SecurityOverride]:
    """Every override ``spec`` makes that takes effect (its component is enabled), in :data:`OVERRIDES` order."""
    on = set(spec.enabled_components())
    return [
        SecurityOverride(rule)
        for rule in OVERRIDES
        if (rule.component is None or rule.component in on)
        and rule.applies(spec)
        and _value_at(spec, rule.path) == rule.insecure
    ]


PRODUCTION_NAME = re.compile(r"(prod|production)(-.*)?|.*-(prod|production)")
"""Environment names that mark production: ``prod``, ``production``, ``prod-eu``, ``ml-prod``."""

PRODUCTION_TAG_KEYS = ("environment", "env", "stage")
PRODUCTION_TAG_VALUES = ("prod", "production")


def production_marker(env: str, tags: Mapping[str, str]) -> str | None:
    """Why ``env`` counts as production (its name or a tag), or ``None`` when nothing marks it.

    The rule (docs/security.md): the environment's name is ``prod`` or ``production``, starts with ``prod-``
    or ``production-``, or ends with ``-prod`` or ``-production``; or a tag ``environment``, ``env`` or
    ``stage`` (any case) has the value ``prod`` or ``production`` (any case).
    """
    if PRODUCTION_NAME.fullmatch(env):
        return f"its name {env!r}"
    for key, value in tags.items():
        if key.lower() in PRODUCTION_TAG_KEYS and value.lower() in PRODUCTION_TAG_VALUES:
            return f"its tag {key}: {value}"
    return None


def unprotected_production(env: str, spec: PlatformSpec) -> str | None:
    """Why ``spec`` is a production environment deployed with destroyable data, or ``None`` when it is not."""
    if spec.target != "aws" or spec.protect or not spec.allow_destroy_data:
        return None
    return production_marker(env, spec.tags)
