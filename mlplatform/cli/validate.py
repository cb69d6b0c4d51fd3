"""``mlplatform validate``."""

from __future__ import annotations

import json

import typer

from mlplatform import paths
from mlplatform.cli.options import (
    JSON_ERROR_FIELDS,
    AllowUnprotectedProdOpt,
    BlueprintOpt,
    EnvOpt,
    JsonOpt,
    StateDirOpt,
)
from mlplatform.errors import SpecValidationError
from mlplatform.render.spec import environment_summary


def validate(
    ctx: typer.Context,
    env: EnvOpt = "local",
    blueprint: BlueprintOpt = None,
    as_json: JsonOpt = False,
    state_dir: StateDirOpt = None,
    allow_unprotected_prod: AllowUnprotectedProdOpt = False,
) -> None:
    """Validate an environment (blueprint + overrides) and print a summary of the resolved spec.

    Beyond types, it refuses what AWS would refuse mid-deploy: instance types per SageMaker API, unknown
    regions, tags AWS or mlplatform would reject, bad VPC blocks and schedules, duplicate and too-long names
    (rules read offline from botocore's API models; see docs/settings.md). Exit 0 when valid; 2 with every
    problem (file, line, field, value, what is allowed) when not; 6 when the environment does not exist.
    Every active security override (docs/security.md) is named as a warning, and listed under
    "security_overrides" with --json. With --json an invalid spec prints {"valid": false, "env", "problems":
    [...], "error": {...}}. The
    blueprint follows the rule every command follows: --blueprint, else the env file's, else the one the
    environment was last deployed with, else level0.
    """
    from mlplatform.app.workspace import resolve

    folder = paths.state_dir(state_dir)
    if not as_json:
        typer.echo(environment_summary(resolve(env, blueprint, folder, allow_unprotected_prod=allow_unprotected_prod)))
        return
    try:
        resolved = resolve(env, blueprint, folder, allow_unprotected_prod=allow_unprotected_prod)
    except SpecValidationError as exc:
        # The error document (printed by the CLI's error handler) keeps validate's own fields up front.
        ctx.meta[JSON_ERROR_FIELDS] = {"valid": False, "env": env, "problems": [p.as_dict() for p in exc.problems]}
        raise
    typer.echo(
        json.dumps(
            {
                "valid": True,
                "env": env,
                "file": str(resolved.file) if resolved.file else None,
                "blueprint_chain": [bp.name for bp in resolved.blueprint.chain],
                "blueprint_source": resolved.blueprint_source,
                "notes": list(resolved.notes),
                "warnings": list(resolved.warnings),
                "security_overrides": [override.as_dict() for override in resolved.security_overrides],
                "spec": resolved.spec.model_dump(mode="json"),
            },
            indent=2,
        )
    )
