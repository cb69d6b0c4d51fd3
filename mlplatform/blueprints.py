"""Find, load and extend blueprints.

A blueprint is a YAML document (``<name>.yaml``) with metadata — ``description``, ``level``,
``extends``, ``version`` — and settings in the shape of :class:`~mlplatform.spec.models.SettingsSpec`.
Packaged blueprints ship inside the wheel (``mlplatform/_blueprints``; ``blueprints/`` in a source
checkout). A project's own ``./blueprints/*.yaml`` add new blueprints or shadow packaged ones, and may
``extends:`` a packaged one. Merging follows :mod:`mlplatform.spec.merge`.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError

from mlplatform import paths
from mlplatform.errors import (
    BlueprintCycleError,
    BlueprintNotFoundError,
    FileFormatError,
    SpecValidationError,
)
from mlplatform.spec.merge import deep_merge
from mlplatform.spec.models import PlatformSpec, SettingsSpec, SpecModel
from mlplatform.spec.names import BLUEPRINT_NAME_RE
from mlplatform.spec.problems import Layer, problems_from_validation
from mlplatform.spec.yamlfile import YamlDocument, read_yaml_file

META_KEYS = ("description", "level", "extends", "version")


class BlueprintMeta(SpecModel):
    """The metadata part of a blueprint document."""

    description: str = Field(min_length=1, description="One line on what this blueprint is for.")
    level: Literal[0, 1, 2] | None = Field(
        default=None, description="MLOps maturity level (0, 1, 2); inherited from `extends` when omitted."
    )
    extends: str | None = Field(default=None, description="The blueprint this one builds on.")
    version: int = Field(default=1, gt=0, description="Revision of this blueprint; bump it when you change it.")


@dataclass(frozen=True)
class BlueprintRef:
    """Where a blueprint lives. ``source`` is ``packaged`` or the file's path."""

    name: str
    path: Path
    source: str


@dataclass(frozen=True)
class Blueprint:
    """One loaded blueprint file (not merged with its parents)."""

    ref: BlueprintRef
    doc: YamlDocument
    meta: BlueprintMeta
    settings: dict[str, Any]

    @property
    def name(self) -> str:
        return self.ref.name


@dataclass(frozen=True)
class ResolvedBlueprint:
    """A blueprint merged with every parent and validated.

    Attributes:
        chain: the blueprint and its parents, root parent first.
        level: the effective maturity level.
        data: the merged settings, as plain data (before defaults).
        settings: the validated settings with every default filled in.
    """

    chain: tuple[Blueprint, ...]
    level: int
    data: dict[str, Any]
    settings: SettingsSpec

    @property
    def name(self) -> str:
        return self.chain[-1].name

    @property
    def layers(self) -> list[Layer]:
        return [Layer(bp.doc, keys=frozenset(bp.settings)) for bp in self.chain]


def packaged_dir() -> Path:
    """The folder of packaged blueprints: inside the installed package, else the source checkout's."""
    installed = Path(str(resources.files("mlplatform") / "_blueprints"))
    if installed.is_dir():
        return installed
    return Path(__file__).resolve().parent.parent / "blueprints"


def discover(project_dir: Path | None = None) -> dict[str, BlueprintRef]:
    """All blueprints by name: packaged ones, then the project's ``blueprints/`` (which win on a clash)."""
    found: dict[str, BlueprintRef] = {}
    packaged = packaged_dir()
    for path in sorted(packaged.glob("*.yaml")):
        found[path.stem] = BlueprintRef(path.stem, path, "packaged")
    local = (project_dir or paths.project_dir()) / "blueprints"
    if local.is_dir() and local.resolve() != packaged.resolve():
        for path in sorted(local.glob("*.yaml")):
            if BLUEPRINT_NAME_RE.fullmatch(path.stem):
                found[path.stem] = BlueprintRef(path.stem, path, f"blueprints/{path.name}")
    return found


def find(name: str, project_dir: Path | None = None, *, wanted_by: str | None = None) -> BlueprintRef:
    """The blueprint called ``name``.

    Args:
        name: the blueprint's name.
        project_dir: where the project's own ``blueprints/`` folder is (default: working directory).
        wanted_by: who asked for it, for the error message (e.g. ``stacks/dev.yaml: blueprint``).

    Raises:
        BlueprintNotFoundError: no such blueprint; the message lists the available ones.
    """
    available = discover(project_dir)
    if name in available:
        return available[name]
    close = difflib.get_close_matches(name, list(available), n=1)
    where = f"{wanted_by}: " if wanted_by else ""
    raise BlueprintNotFoundError(
        f"{where}no blueprint named {name!r}.{f' Did you mean {close[0]!r}?' if close else ''}\n"
        f"allowed: {', '.join(available) or '(none found)'}",
        hint="See them with `mlplatform blueprints list`; add your own as blueprints/<name>.yaml.",
    )


def load(ref: BlueprintRef) -> Blueprint:
    """Read one blueprint file and check its metadata and top-level keys (not yet merged)."""
    shown = f"{ref.name} (packaged blueprint {ref.path.name})" if ref.source == "packaged" else ref.source
    doc = read_yaml_file(ref.path, shown_as=shown if ref.source == "packaged" else None)
    if not isinstance(doc.data, dict):
        kind = "empty" if doc.data is None else f"a {type(doc.data).__name__}, not a mapping"
        raise FileFormatError(
            f"{doc.file}: a blueprint must be a YAML mapping with at least `description:`; this file is {kind}."
        )
    meta_data = {key: doc.data[key] for key in META_KEYS if key in doc.data}
    settings = {key: value for key, value in doc.data.items() if key not in META_KEYS}
    problems = []
    try:
        meta = BlueprintMeta.model_validate(meta_data)
    except ValidationError as exc:
        problems.extend(problems_from_validation(exc, [Layer(doc)], BlueprintMeta))
    unknown = {key: value for key, value in settings.items() if key not in SettingsSpec.model_fields}
    if unknown:
        # Validate just the unknown keys so the message gets the usual "did you mean" treatment.
        try:
            BlueprintDocument.model_validate({"description": "x", **unknown})
        except ValidationError as exc:
            problems.extend(problems_from_validation(exc, [Layer(doc)], BlueprintDocument))
    if problems:
        raise SpecValidationError(
            f"blueprint {ref.name!r} is invalid:\n" + "\n".join(p.render() for p in problems), problems
        )
    return Blueprint(ref=ref, doc=doc, meta=meta, settings=settings)


class BlueprintDocument(SettingsSpec):
    """A whole blueprint file: metadata plus settings (used to describe allowed top-level keys)."""

    description: str
    level: Literal[0, 1, 2] | None = None
    extends: str | None = None
    version: int = 1


def chain(name: str, project_dir: Path | None = None, *, wanted_by: str | None = None) -> tuple[Blueprint, ...]:
    """The blueprint ``name`` and its ``extends`` parents, root parent first.

    Raises:
        BlueprintNotFoundError: ``name`` or a parent does not exist.
        BlueprintCycleError: the ``extends`` links form a loop.
    """
    found: list[Blueprint] = []
    seen: list[str] = []
    current: str | None = name
    asker = wanted_by
    while current is not None:
        if current in seen:
            loop = " -> ".join([*seen[seen.index(current) :], current])
            raise BlueprintCycleError(
                f"{_where(found[-1].doc, 'extends')}: extends: {current!r} closes a loop: {loop}.",
                hint="A blueprint may extend another only if that one does not (directly or not) extend it.",
            )
        seen.append(current)
        blueprint = load(find(current, project_dir, wanted_by=asker))
        found.append(blueprint)
        asker = f"{_where(blueprint.doc, 'extends')}: extends"
        current = blueprint.meta.extends
    return tuple(reversed(found))


def _where(doc: YamlDocument, key: str) -> str:
    """``file:line`` of a top-level key (just ``file`` when the line is unknown)."""
    line = doc.lines.get((key,))
    return f"{doc.file}:{line}" if line else doc.file


def resolve(name: str, project_dir: Path | None = None, *, wanted_by: str | None = None) -> ResolvedBlueprint:
    """Merge a blueprint with its parents and validate the result (defaults filled in).

    The merged settings are also checked as a whole platform (level requirements, cross-component
    rules), so a blueprint that no environment could use is reported here, not at deploy time.

    Raises:
        SpecValidationError: the merged blueprint is invalid; each problem names its file and line.
    """
    blueprints = chain(name, project_dir, wanted_by=wanted_by)
    data: dict[str, Any] = {}
    for blueprint in blueprints:
        data = deep_merge(data, blueprint.settings)
    level = next((bp.meta.level for bp in reversed(blueprints) if bp.meta.level is not None), None)
    layers = [Layer(bp.doc, keys=frozenset(bp.settings)) for bp in blueprints]
    if level is None:
        root = blueprints[0]
        raise SpecValidationError(
            f"{root.doc.file}: blueprint {root.name!r} sets no `level:` and extends nothing.\n"
            "allowed: level: 0, 1 or 2 (or extends: <a blueprint that has one>)",
            [],
        )
    try:
        settings = SettingsSpec.model_validate(data)
        PlatformSpec.model_validate(
            {
                **data,
                "name": "mlp-check",
                "env": "check",
                "blueprint": name,
                "level": level,
                "target": "aws",
                "region": "us-east-1",
                "account_id": "123456789012",  # a placeholder: the blueprint is checked, not an account
            }
        )
    except ValidationError as exc:
        problems = problems_from_validation(exc, layers, PlatformSpec)
        raise SpecValidationError(
            f"blueprint {name!r} is invalid:\n" + "\n".join(p.render() for p in problems), problems
        ) from None
    return ResolvedBlueprint(chain=blueprints, level=level, data=data, settings=settings)


@cache
def _packaged_names() -> tuple[str, ...]:
    return tuple(sorted(path.stem for path in packaged_dir().glob("*.yaml")))


def packaged_names() -> tuple[str, ...]:
    """Names of the packaged blueprints (``level0``, ``level1``, ``level2``)."""
    return _packaged_names()


@dataclass(frozen=True)
class SettingChange:
    """One setting that differs between two blueprints (``None``: not set on that side)."""

    path: str
    before: Any
    after: Any


@dataclass(frozen=True)
class BlueprintDiff:
    """What changes when an environment moves from blueprint ``a`` to blueprint ``b``."""

    a: str
    b: str
    level_a: int
    level_b: int
    added: tuple[str, ...]
    removed: tuple[str, ...]
    changed: tuple[SettingChange, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "a": {"name": self.a, "level": self.level_a},
            "b": {"name": self.b, "level": self.level_b},
            "components_added": list(self.added),
            "components_removed": list(self.removed),
            "settings_changed": [
                {"path": change.path, "a": change.before, "b": change.after} for change in self.changed
            ],
        }


def diff(a: ResolvedBlueprint, b: ResolvedBlueprint) -> BlueprintDiff:
    """Compare two resolved blueprints.

    Components switched on or off are reported as added/removed (their settings with them); settings are
    compared only where they matter: top-level settings and components enabled on both sides.
    """
    on_a, on_b = set(a.settings.enabled_components()), set(b.settings.enabled_components())
    order = list(SettingsSpec.model_fields)
    added = tuple(c for c in order if c in on_b - on_a)
    removed = tuple(c for c in order if c in on_a - on_b)
    dump_a, dump_b = a.settings.model_dump(mode="json"), b.settings.model_dump(mode="json")
    changed: list[SettingChange] = []
    for key in order:
        if isinstance(dump_a.get(key), dict) and "enabled" in dump_a[key] and not (key in on_a and key in on_b):
            continue
        _diff_values(key, dump_a.get(key), dump_b.get(key), changed)
    return BlueprintDiff(a.name, b.name, a.level, b.level, added, removed, tuple(changed))


def _diff_values(path: str, before: Any, after: Any, out: list[SettingChange]) -> None:
    if isinstance(before, dict) and isinstance(after, dict):
        for key in list(before) + [k for k in after if k not in before]:
            _diff_values(f"{path}.{key}", before.get(key), after.get(key), out)
    elif before != after:
        out.append(SettingChange(path, before, after))
