"""``mlplatform validate``."""

from __future__ import annotations

import json

import typer

from mlplatform import environments
from mlplatform.cli.options import BlueprintOpt, EnvOpt, JsonOpt
from mlplatform.errors import SpecValidationError
from mlplatform.render.spec import environment_summary


def validate(env: EnvOpt = "local", blueprint: BlueprintOpt = None, as_json: JsonOpt = False) -> None:
    """Validate an environment (blueprint + overrides) and print a summary of the resolved spec.

    Beyond types, it refuses what AWS would refuse mid-deploy: instance types per SageMaker API, unknown
    regions, tags AWS or mlplatform would reject, bad VPC blocks and schedules, duplicate and too-long names
    (rules read offline from botocore's API models; see docs/settings.md). Exit 0 when valid; 2 with every
    problem (file, line, field, value, what is allowed) when not; 6 when the environment does not exist.
    """
    if not as_json:
        typer.echo(environment_summary(environments.resolve(env, blueprint)))
        return
    try:
        resolved = environments.resolve(env, blueprint)
    except SpecValidationError as exc:
        typer.echo(json.dumps({"valid": False, "env": env, "problems": [p.as_dict() for p in exc.problems]}, indent=2))
        raise
    typer.echo(
        json.dumps(
            {
                "valid": True,
                "env": env,
                "file": str(resolved.file) if resolved.file else None,
                "blueprint_chain": [bp.name for bp in resolved.blueprint.chain],
                "spec": resolved.spec.model_dump(mode="json"),
            },
            indent=2,
        )
    )
