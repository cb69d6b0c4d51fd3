"""``mlplatform blueprints list|show|diff``."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from mlplatform import blueprints
from mlplatform.cli.options import JsonOpt
from mlplatform.errors import EXIT_INVALID, MlplatformError
from mlplatform.render.spec import blueprint_diff_text, resolved_blueprint_yaml

app = typer.Typer(help="List, show and compare blueprints (packaged and ./blueprints/*.yaml).", no_args_is_help=True)


@app.command("list")
def list_(as_json: JsonOpt = False) -> None:
    """List blueprints: name, level, one-line description and source (packaged or path).

    A blueprint that does not validate is listed with its problem, and the exit code is 2.
    """
    rows: list[dict[str, Any]] = []
    broken = False
    for ref in blueprints.discover().values():
        try:
            resolved = blueprints.resolve(ref.name)
            rows.append(
                {
                    "name": ref.name,
                    "level": resolved.level,
                    "description": resolved.chain[-1].meta.description,
                    "source": ref.source,
                    "extends": resolved.chain[-1].meta.extends,
                    "error": None,
                }
            )
        except MlplatformError as exc:
            broken = True
            rows.append(
                {
                    "name": ref.name,
                    "level": None,
                    "description": None,
                    "source": ref.source,
                    "extends": None,
                    "error": f"{exc.headline}: {exc.message.splitlines()[0]}",
                }
            )
    if as_json:
        typer.echo(json.dumps({"blueprints": rows}, indent=2))
    else:
        width = max([len(row["name"]) for row in rows] + [4])
        typer.echo(f"{'NAME':<{width}}  LEVEL  {'SOURCE':<22}  DESCRIPTION")
        for row in rows:
            level = "?" if row["level"] is None else str(row["level"])
            text = row["description"] if row["error"] is None else f"INVALID — {row['error']}"
            typer.echo(f"{row['name']:<{width}}  {level:<5}  {row['source']:<22}  {text}")
    if broken:
        raise typer.Exit(EXIT_INVALID)


@app.command()
def show(
    name: Annotated[str, typer.Argument(help="Blueprint name.")],
    resolved: Annotated[
        bool, typer.Option("--resolved", help="Print the fully merged result (extends applied, defaults filled).")
    ] = False,
) -> None:
    """Print a blueprint's YAML as written, or with --resolved the fully merged result."""
    if resolved:
        typer.echo(resolved_blueprint_yaml(blueprints.resolve(name)), nl=False)
        return
    ref = blueprints.find(name)
    blueprints.load(ref)  # a broken file is reported, not printed as if it were fine
    typer.echo(ref.path.read_text(encoding="utf-8"), nl=False)


@app.command()
def diff(
    a: Annotated[str, typer.Argument(help="The blueprint to compare from.")],
    b: Annotated[str, typer.Argument(help="The blueprint to compare to.")],
    as_json: JsonOpt = False,
) -> None:
    """Show which components and settings differ between blueprints A and B."""
    result = blueprints.diff(blueprints.resolve(a), blueprints.resolve(b))
    typer.echo(json.dumps(result.as_dict(), indent=2) if as_json else blueprint_diff_text(result))
