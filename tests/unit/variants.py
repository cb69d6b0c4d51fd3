"""Environments the IAM tests walk: the packaged levels and the variants that build other policies.

Each variant is resolved from an in-memory environment file (no ``stacks/`` needed), so tests can evaluate
it with fake handlers (:func:`tests.unit.platform_plans.evaluate`) or offline, as ``mlplatform export``
does (:func:`mlplatform.app.offline.plan_spec`).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from mlplatform import environments
from mlplatform.spec.models import PlatformSpec

ACCOUNT = "210987654321"
ENDPOINTS = [
    {"name": "churn", "model": {"image": "serving:1.0", "model_data_url": "sample"}, "data_capture_percent": 20},
    {"name": "fraud", "model": {"image": "serving:2.0", "model_data_url": "sample"}, "data_capture_percent": 5},
    {"name": "later"},
]

VARIANTS: dict[str, tuple[str, dict[str, Any], dict[str, Any]]] = {
    # name: (blueprint, environment-file settings, overrides)
    "level0": ("level0", {}, {}),
    "level1": ("level1", {}, {}),
    "level2": ("level2", {}, {}),
    "notebook": ("level1", {}, {"dev_environment": {"kind": "notebook"}}),
    "github-oidc": ("level2", {}, {"cicd": {"provider": "github-oidc", "repository": "acme/models"}}),
    "budget": ("level1", {}, {"monitoring": {"budget": {"monthly_limit_usd": 250, "alert_emails": ["a@b.example"]}}}),
    "endpoints": ("level2", {"samples": False}, {"serving": {"endpoints": ENDPOINTS}}),
    # No endpoint and no feature group at all (what `mlplatform init` writes).
    "bare": ("level1", {"samples": False}, {"monitoring": {"data_quality": {"enabled": False}}}),
    "aws": (
        "level2",
        {"target": "aws", "region": "eu-west-1", "account_id": ACCOUNT, "samples": False},
        {
            "serving": {
                "endpoints": [
                    {
                        "name": "churn",
                        "model": {"image": "serving:1.0", "model_data_url": "s3://models-bucket/churn/model.tar.gz"},
                        "data_capture_percent": 10,
                    }
                ]
            }
        },
    ),
}


@cache
def spec_for(variant: str, env: str | None = None) -> PlatformSpec:
    """The spec of a variant, as environment ``env`` (default: the variant's name)."""
    blueprint, settings, overrides = VARIANTS[variant]
    file = environments.EnvironmentFile(
        **{"target": "local", "region": "us-east-1", "samples": True, "blueprint": blueprint, **settings},
        overrides=overrides or None,
    )
    name = env or ("local" if variant.startswith("level") else variant)
    return environments.resolve_loaded(name, None, file, blueprint=blueprint).spec
