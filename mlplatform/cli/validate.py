"""``mlplatform validate``."""

from __future__ import annotations

import json

import typer

from mlplatform import environments
from mlplatform.cli.options import JSON_ERROR_FIELDS, BlueprintOpt, EnvOpt, JsonOpt
from mlplatform.errors import SpecValidationError
from mlplatform.render.spec import environment_summary


def validate(
    ctx: typer.Context, env: EnvOpt = "local", blueprint: BlueprintOpt = None, as_json: JsonOpt = False
) -> None:
    """Validate an environment (blueprint + overrides) and print a summary of the resolved spec.

    Exit 0 when valid; 2 with every problem (file, line, field, value, what is allowed) when not;
    6 when the environment does not exist. With --json an invalid spec prints {"valid": false, "env",
    "problems": [...], "error": {...}}.
    """
    if not as_json:
        typer.echo(environment_summary(environments.resolve(env, blueprint)))
        return
    try:
        resolved = environments.resolve(env, blueprint)
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
                "spec": resolved.spec.model_dump(mode="json"),
            },
            indent=2,
        )
    )
