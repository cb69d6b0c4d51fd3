"""``mlplatform import``: adopt an environment's existing cloud resources into its state (lost state)."""

from __future__ import annotations

import json

import typer

from mlplatform.cli.common import confirm as ask
from mlplatform.cli.common import open_env
from mlplatform.cli.deploy import YesOpt
from mlplatform.cli.options import BlueprintOpt, EnvOpt, JsonOpt, StateDirOpt


def import_(
    env: EnvOpt = "local",
    blueprint: BlueprintOpt = None,
    yes: YesOpt = False,
    as_json: JsonOpt = False,
    state_dir: StateDirOpt = None,
) -> None:
    """Adopt the resources the program declares that exist in the cloud but not in state (e.g. state lost).

    Runs the program and looks up every resource missing from state, by physical name or tags; shows what it
    adopts (type, name, id), what it did not find (the next `up` creates it) and what is tagged for the
    environment but not in the program (left alone: delete it by hand). Asks first unless --yes (required
    when not on a terminal). Never creates, updates or deletes anything in the cloud; afterwards `up`
    updates what differs from the program and creates what is missing.
    """
    from mlplatform.engine.model import ImportPlan
    from mlplatform.render.plan import import_result_text, import_text

    workspace = open_env(env, blueprint, state_dir)
    shown = False

    def confirm(plan: ImportPlan) -> bool:
        nonlocal shown
        if not as_json:
            typer.echo(import_text(plan))
            shown = True
        question = f"Adopt these {len(plan.adopted)} resources into the state of environment {env!r}?"
        ask(question, yes, changing="the environment's state")
        return True

    plan = workspace.engine.import_resources(workspace.stack, confirm=confirm)
    if as_json:
        typer.echo(json.dumps(plan.as_dict(), indent=2, default=str))
        return
    if not shown:
        typer.echo(import_text(plan))
    typer.echo(import_result_text(plan))
