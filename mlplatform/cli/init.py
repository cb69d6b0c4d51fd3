"""``mlplatform init``."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from mlplatform import scaffold
from mlplatform.render.spec import environment_summary


def init(
    env: Annotated[str, typer.Option("--env", "-e", help="Name of the new environment (a lowercase DNS label).")],
    blueprint: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(
            "--blueprint",
            "-b",
            help="Blueprint of the new environment. Default: level0 pinned for target aws; for target local none "
            "is pinned (`up --blueprint B` chooses one and the environment remembers it).",
        ),
    ] = None,
    target: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option("--target", help="local or aws. Default: local for the env `local`, aws otherwise."),
    ] = None,
    region: Annotated[
        str | None, typer.Option("--region", help="AWS region (target aws; default: $AWS_REGION).")
    ] = None,
    account_id: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option("--account-id", help="Only ever deploy to this 12-digit AWS account (required for target aws)."),
    ] = None,
    owner: Annotated[Optional[str], typer.Option("--owner", help="Team or person responsible.")] = None,  # noqa: UP045
    force: Annotated[
        bool, typer.Option("--force", help="Overwrite an existing stacks/<env>.yaml (kept as .bak).")
    ] = False,
) -> None:
    """Scaffold stacks/ENV.yaml (and Pulumi.yaml and __main__.py when missing) in the project folder.

    The project folder is the nearest one from here upwards with stacks/, Pulumi.yaml or .mlplatform/
    (else the current directory). Pulumi.yaml and __main__.py let the plain Pulumi CLI run the same program
    (`pulumi preview -s ENV`); existing ones are left alone. Also makes sure .gitignore ignores .mlplatform/
    (it holds the secrets key).
    """
    result = scaffold.init_environment(
        env, blueprint=blueprint, target=target, region=region, account_id=account_id, owner=owner, force=force
    )
    typer.echo(f"wrote {result.env_file.relative_to(result.env_file.parent.parent)}")
    if result.pulumi_yaml:
        typer.echo("wrote Pulumi.yaml")
    if result.main_py:
        typer.echo("wrote __main__.py (the program `pulumi up -s <env>` runs)")
    if result.gitignore:
        typer.echo("added .mlplatform/ to .gitignore (state, locks and the secrets key stay out of git)")
    typer.echo(environment_summary(result.resolved))
