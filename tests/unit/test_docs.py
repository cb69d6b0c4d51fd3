"""Docs move with code: the generated settings reference and the level table match the models."""

from __future__ import annotations

import re
from pathlib import Path

from mlplatform import blueprints
from mlplatform.render.reference import settings_reference_markdown
from mlplatform.spec.models import COMPONENTS

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_settings_reference_is_current() -> None:
    committed = (DOCS / "settings.md").read_text(encoding="utf-8")
    assert committed == settings_reference_markdown(), (
        "docs/settings.md is stale: run `python -m mlplatform.render.reference > docs/settings.md`"
    )


def test_settings_reference_covers_every_component_and_field() -> None:
    text = settings_reference_markdown()
    for component in COMPONENTS:
        assert f"## `{component}`" in text
    assert "`serving.endpoints[].autoscaling`" in text
    assert "`pipelines.approval_metric.threshold`" in text


def test_blueprint_table_matches_packaged_blueprints() -> None:
    text = (DOCS / "blueprints.md").read_text(encoding="utf-8")
    table = text.split("<!-- components-table:start -->")[1].split("<!-- components-table:end -->")[0]
    rows = {}
    for line in table.strip().splitlines()[2:]:
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        rows[cells[0].strip("`")] = [cell == "yes" for cell in cells[1:4]]
    assert list(rows) == list(COMPONENTS)
    for column, name in enumerate(("level0", "level1", "level2")):
        enabled = set(blueprints.resolve(name).settings.enabled_components())
        documented = {component for component, levels in rows.items() if levels[column]}
        assert documented == enabled, f"docs/blueprints.md disagrees with {name}"


def test_readme_quickstart_has_exactly_two_commands() -> None:
    readme = (DOCS.parent / "README.md").read_text(encoding="utf-8")
    quickstart = readme.split("## Quickstart")[1].split("\n## ")[0]
    first_block = re.search(r"```bash\n(.*?)```", quickstart, re.S)
    assert first_block is not None
    commands = [line for line in first_block.group(1).splitlines() if line and not line.startswith("#")]
    assert len(commands) == 2
    assert "mlplatform up --blueprint level2 --yes" in commands[0]
    assert "scripts/check" in commands[1]
    assert "scripts/check" in (DOCS.parent / ".ci" / "run").read_text(encoding="utf-8")
