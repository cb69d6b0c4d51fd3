"""``mlplatform export``: the environment's plan in a format other tools read (Terraform plan JSON for scanners)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from mlplatform import paths
from mlplatform.cli.options import AllowUnprotectedProdOpt, BlueprintOpt, EnvOpt, StateDirOpt
from mlplatform.errors import UsageError

FORMATS = ("terraform-plan",)


def export(
    env: EnvOpt = "local",
    blueprint: BlueprintOpt = None,
    format_: Annotated[
        str,
        typer.Option("--format", "-f", help="Output format: terraform-plan (Terraform plan JSON, for Checkov/Trivy)."),
    ] = "terraform-plan",
    output: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option("--output", "-o", dir_okay=False, help="Write to this file instead of standard output."),
    ] = None,
    state_dir: StateDirOpt = None,
    allow_unprotected_prod: AllowUnprotectedProdOpt = False,
) -> None:
    """Write what the environment would create, for security scanners, without deploying anything.

    The program is evaluated offline: no emulator, no cloud, no credentials — so it works for target aws
    environments too (state is only read for the blueprint an environment without one was last deployed with).
    ARNs are derived from names, account and region, so every IAM policy is shown concretely; ids AWS assigns
    (a KMS key's, VPC, subnet and security group ids) appear as `known-after-apply-...` placeholders.
    Example: `mlplatform export --env prod -o plan.json && checkov -f plan.json`.
    """
    if format_ not in FORMATS:
        raise UsageError(f"unknown export format {format_!r}.", hint=f"Use one of: {', '.join(FORMATS)}.")
    from mlplatform.app.offline import plan_offline
    from mlplatform.app.workspace import remembered_blueprint
    from mlplatform.render.terraform import terraform_plan

    remembered = remembered_blueprint(env, paths.state_dir(state_dir))
    plan = plan_offline(env, blueprint, remembered_blueprint=remembered, allow_unprotected_prod=allow_unprotected_prod)
    document = json.dumps(terraform_plan(plan), indent=2, sort_keys=False) + "\n"
    if output is None:
        typer.echo(document, nl=False)
    else:
        output.write_text(document, encoding="utf-8")
        typer.echo(f"wrote {output}", err=True)
