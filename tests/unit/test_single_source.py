"""One source of truth per setting: defaults live in the spec models and nowhere else.

- A packaged blueprint states only what differs from what it inherits (the model defaults, or the blueprint
  it extends), and says why on each such line.
- A component's ``*Args`` (or other settings dataclass) field that every caller in mlplatform sets has no
  default: a default there would be a second copy of the spec's, which could drift from it unnoticed.

Run as a script (``python -m tests.unit.test_single_source``) to print the counts: leaf settings the packaged
blueprints write, how many of them restate an inherited value, and in how many places each spec default is
written (spec model, blueprints, component dataclasses).
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import inspect
import pkgutil
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

import mlplatform.components
from mlplatform import blueprints
from mlplatform.render.reference import inner_model
from mlplatform.spec.models import SettingsSpec

PACKAGE = Path(mlplatform.components.__file__).resolve().parents[1]
META_KEYS = ("description", "level", "version", "extends")
"""A blueprint's own keys: not settings."""

Path_ = tuple[str, ...]


# ---------------------------------------------------------------------------------------------------
# Blueprints
# ---------------------------------------------------------------------------------------------------


def _leaves(data: dict[str, Any], prefix: Path_ = ()) -> list[tuple[Path_, Any]]:
    """Every leaf setting of a blueprint document (a list is one leaf: merging replaces lists whole)."""
    found: list[tuple[Path_, Any]] = []
    for key, value in data.items():
        if not prefix and key in META_KEYS:
            continue
        if isinstance(value, dict):
            found += _leaves(value, (*prefix, key))
        else:
            found.append(((*prefix, key), value))
    return found


def _inner_model(annotation: Any) -> type[BaseModel] | None:
    """The model inside ``Model`` or ``Model | None`` (a list is a leaf: merging replaces it whole)."""
    model, is_list = inner_model(annotation)
    return None if is_list else model


_MISSING = object()


def _inherited(base: dict[str, Any], path: Path_) -> Any:
    """The value a blueprint inherits at ``path``: ``base`` (a resolved settings dump) or, below a setting
    that is unset there (``serving.autoscaling: null``), the nested model's own default."""
    model: type[BaseModel] | None = SettingsSpec
    node: Any = base
    for key in path:
        field = model.model_fields.get(key) if model is not None else None
        if field is None:
            return _MISSING
        if isinstance(node, dict) and node.get(key) is not None:
            node = node[key]
        elif field.is_required():
            return _MISSING
        else:
            node = field.get_default(call_default_factory=True)
            node = node.model_dump() if isinstance(node, BaseModel) else node
        model = _inner_model(field.annotation)
    return node


def restated(name: str) -> tuple[list[Path_], int]:
    """The leaf settings blueprint ``name`` writes with the value it inherits anyway, and how many it writes."""
    blueprint = blueprints.load(blueprints.find(name))
    parent = blueprint.meta.extends
    base = blueprints.resolve(parent).settings.model_dump() if parent else SettingsSpec().model_dump()
    leaves = _leaves(yaml.safe_load(blueprint.ref.path.read_text(encoding="utf-8")))
    return [path for path, value in leaves if _inherited(base, path) == value], len(leaves)


@pytest.mark.parametrize("name", blueprints.packaged_names())
def test_packaged_blueprint_states_only_what_differs_from_what_it_inherits(name: str) -> None:
    same, _ = restated(name)

    assert same == [], f"{name} restates inherited values (defaults live in spec/models.py): {same}"


@pytest.mark.parametrize("name", blueprints.packaged_names())
def test_every_packaged_blueprint_setting_says_why(name: str) -> None:
    lines = (blueprints.packaged_dir() / f"{name}.yaml").read_text(encoding="utf-8").splitlines()
    silent = []
    for number, line in enumerate(lines, 1):
        text = line.split("#", 1)[0].rstrip()
        is_setting = text.startswith(" ") and not text.endswith(":") and text.strip()
        above = lines[number - 2].strip() if number > 1 else ""
        if is_setting and "#" not in line and not above.startswith("#"):
            silent.append(f"{number}: {line.strip()}")

    assert silent == [], f"{name}: say why each setting differs from the default (a # comment): {silent}"


def test_restated_finds_a_restated_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The check can fail: a blueprint that writes a model default (or its parent's value) is caught."""
    (tmp_path / "blueprints").mkdir()
    (tmp_path / "blueprints" / "mine.yaml").write_text(
        "description: x\nextends: level1\nlevel: 1\nversion: 1\n"
        "artifact_store: {versioning: true, access_logging: false}\n"
        "training: {spot: true, allowed_instance_types: [ml.m5.xlarge, ml.m5.2xlarge, ml.c5.2xlarge]}\n"
        "serving: {autoscaling: {min_capacity: 1, max_capacity: 3}}\n"
    )
    monkeypatch.chdir(tmp_path)

    same, count = restated("mine")

    assert count == 6
    assert same == [
        ("artifact_store", "versioning"),
        ("training", "allowed_instance_types"),
        ("serving", "autoscaling", "min_capacity"),
    ]


# ---------------------------------------------------------------------------------------------------
# Component dataclasses
# ---------------------------------------------------------------------------------------------------


NOT_SETTINGS = ("Platform",)
"""Dataclasses that carry no spec setting: ``Platform`` is the identity every component gets (its defaults, an
``aws`` partition and protection on, are what a plain-Python caller without a spec should get)."""


def _component_dataclasses() -> dict[str, type]:
    """The settings dataclasses of mlplatform/components (each component's ``*Args`` and what they build)."""
    found: dict[str, type] = {}
    for module in pkgutil.iter_modules(mlplatform.components.__path__, "mlplatform.components."):
        for name, value in vars(importlib.import_module(module.name)).items():
            ours = inspect.isclass(value) and value.__module__ == module.name and name not in NOT_SETTINGS
            if ours and isinstance(value, type) and dataclasses.is_dataclass(value):
                found[name] = value
    return found


def _call_sites(classes: dict[str, type]) -> dict[str, list[set[str]]]:
    """For each dataclass, the fields each call in mlplatform/ passes (positional arguments by field order)."""
    sites: dict[str, list[set[str]]] = {name: [] for name in classes}
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
            if name not in classes:
                continue
            fields = [field.name for field in dataclasses.fields(classes[name])]
            passed = set(fields[: len(node.args)]) | {k.arg for k in node.keywords if k.arg is not None}
            if any(k.arg is None for k in node.keywords):
                passed = set(fields)  # **kwargs: cannot tell, assume everything
            sites[name].append(passed)
    return sites


def defaults_always_overridden() -> list[str]:
    """``Class.field`` for each dataclass field with a default that every call in mlplatform/ sets anyway."""
    classes = _component_dataclasses()
    found = []
    for name, calls in _call_sites(classes).items():
        always = set.intersection(*calls) if calls else set()
        for field in dataclasses.fields(classes[name]):
            has_default = field.default is not dataclasses.MISSING or field.default_factory is not dataclasses.MISSING
            if has_default and field.name in always:
                found.append(f"{name}.{field.name}")
    return sorted(found)


def test_args_fields_every_caller_sets_are_required() -> None:
    assert defaults_always_overridden() == [], (
        "these fields are set by every caller, so their default is a second copy of the spec's: make them required"
    )


# ---------------------------------------------------------------------------------------------------
# The count (for the report: python -m tests.unit.test_single_source)
# ---------------------------------------------------------------------------------------------------

# Dataclass fields named differently from the spec leaf they carry.
_ALIASES = {
    "target_invocations_per_instance": "target_invocations",
    "model_package_groups": "groups",
    "name": "metric_name",
}


def _spec_defaults(model: type[BaseModel] = SettingsSpec, prefix: Path_ = ()) -> dict[Path_, Any]:
    found: dict[Path_, Any] = {}
    for key, field in model.model_fields.items():
        inner = _inner_model(field.annotation)
        if inner is not None:
            found.update(_spec_defaults(inner, (*prefix, key)))
        elif not field.is_required():
            value = field.get_default(call_default_factory=True)
            found[(*prefix, key)] = tuple(value) if isinstance(value, list) else value
    return found


def places_per_default() -> Counter[int]:
    """How many spec defaults are written in 1, 2, 3, ... places (model, blueprints, dataclass defaults)."""
    restatements: Counter[Path_] = Counter()
    for name in blueprints.packaged_names():
        restatements.update(restated(name)[0])
    dataclass_defaults: dict[str, list[Any]] = {}
    for cls in _component_dataclasses().values():
        for field in dataclasses.fields(cls):
            if field.default is not dataclasses.MISSING:
                dataclass_defaults.setdefault(field.name, []).append(field.default)
            elif field.default_factory is not dataclasses.MISSING:
                dataclass_defaults.setdefault(field.name, []).append(tuple(field.default_factory()))
    counts: Counter[int] = Counter()
    for path, default in _spec_defaults().items():
        if path[-1] == "enabled":
            continue
        name = _ALIASES.get(path[-1], path[-1])
        copies = sum(1 for value in dataclass_defaults.get(name, []) if value == default and value not in (None, ()))
        counts[1 + restatements[path] + copies] += 1
    return counts


if __name__ == "__main__":
    total = same = 0
    for blueprint in blueprints.packaged_names():
        paths, count = restated(blueprint)
        total, same = total + count, same + len(paths)
        print(f"{blueprint}: {count} leaf settings, {len(paths)} restate an inherited value: {paths}")
    print(f"packaged blueprints: {same} of {total} leaf settings restate an inherited value")
    print(f"dataclass fields with a default every caller overrides: {defaults_always_overridden()}")
    print("spec defaults by number of places written:", dict(sorted(places_per_default().items())))
