"""Turn pydantic validation errors into located, human problems.

A spec is merged from several files (blueprint, its parents, the environment's overrides), so a field
path alone does not tell the user which file to edit. :class:`Layer` records where each file's values
sit; :func:`problems_from_validation` finds, for each error, the layer that supplied the value — the
last one that has it, because later layers win the merge — and reports file, line, field path, value
received and what is allowed, with "did you mean" for unknown keys.
"""

from __future__ import annotations

import difflib
import json
import types
import typing
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from mlplatform.errors import Problem
from mlplatform.spec.formats import FORMAT_HELP
from mlplatform.spec.yamlfile import PathKey, YamlDocument


@dataclass(frozen=True)
class Layer:
    """One file's contribution to a merged document.

    Attributes:
        doc: the parsed file.
        prefix: where, inside the file, the merged document's keys start (``("overrides",)`` for an
            environment file's overrides, ``()`` for a blueprint).
        keys: if given, only these top-level keys of the merged document come from this layer.
    """

    doc: YamlDocument
    prefix: PathKey = ()
    keys: frozenset[str] | None = None

    def depth_of(self, path: PathKey) -> int:
        """How many leading elements of ``path`` this layer's data contains (-1: not this layer's key)."""
        if self.keys is not None and (not path or path[0] not in self.keys):
            return -1
        node: Any = self.doc.data
        for part in self.prefix:
            if not isinstance(node, dict) or part not in node:
                return -1
            node = node[part]
        depth = 0
        for part in path:
            if isinstance(node, dict) and isinstance(part, str) and part in node:
                node = node[part]
            elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
                node = node[part]
            else:
                break
            depth += 1
        return depth

    def line_of(self, path: PathKey) -> int | None:
        return self.doc.line_of(self.prefix + path)


def format_path(path: Sequence[str | int]) -> str:
    """``("serving", "endpoints", 0, "name")`` -> ``serving.endpoints[0].name``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def show_value(value: Any, limit: int = 80) -> str:
    """A short, unambiguous rendering of a received value (JSON-ish, like the YAML the user wrote)."""
    try:
        text = json.dumps(value, default=str, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def problems_from_validation(error: ValidationError, layers: Sequence[Layer], model: type[BaseModel]) -> list[Problem]:
    """Convert every error in ``error`` into a :class:`Problem` located in the right layer.

    Args:
        error: what pydantic raised while validating ``model``.
        layers: the merged files, lowest first (a blueprint's root parent first, env overrides last).
        model: the model that was validated (to describe allowed values and suggest keys).

    The path shown is the path inside the file that supplied the value (so an environment's override
    reads ``overrides.serving...``), which is where the user has to look.
    """
    problems: list[Problem] = []
    by_path: dict[PathKey, Problem] = {}
    specific: set[PathKey] = set()  # union values whose problem is a rule's reason, kept over the generic one
    for item in error.errors(include_url=False):
        raw = tuple(part for part in item["loc"] if isinstance(part, (str, int)))
        loc = _strip_union_tags(model, raw)
        allowed = _allowed_text(item, model, loc)
        if loc != raw and loc in by_path:
            # Each member of a union (e.g. `schedule: <schedule> | false`) reports its own error for the
            # same value; the user needs one problem listing every accepted form.
            earlier = by_path[loc]
            if allowed and earlier.allowed and allowed not in earlier.allowed:
                earlier.allowed = f"{earlier.allowed}; or {allowed}"
            if item["type"] == "refused":  # the value has the member's type: say why that member refused it
                earlier.problem = _problem_text(item, loc)
                specific.add(loc)
            elif loc not in specific:
                earlier.problem = "not one of the accepted forms"
            continue
        if loc != raw and item["type"] == "refused":
            specific.add(loc)
        layer = _locate(loc, layers)
        file, line = (layer.doc.file, layer.line_of(loc[: max(layer.depth_of(loc), 0)])) if layer else (None, None)
        kind = item["type"]
        value: str | None = None if kind == "missing" else show_value(item.get("input"))
        problem = Problem(
            file=file,
            line=line,
            path=format_path((layer.prefix if layer else ()) + loc),
            value=value,
            problem=_problem_text(item, loc),
            allowed=allowed,
        )
        by_path[loc] = problem
        problems.append(problem)
    return problems


def source_of(loc: PathKey, layers: Sequence[Layer]) -> tuple[str | None, int | None, str]:
    """Where the merged value at ``loc`` was written: file, line and the path inside that file.

    The same rule :func:`problems_from_validation` uses to blame a value on a file (later layers win).
    """
    layer = _locate(loc, layers)
    if layer is None:
        return None, None, format_path(loc)
    return layer.doc.file, layer.line_of(loc[: max(layer.depth_of(loc), 0)]), format_path(layer.prefix + loc)


_MISSING = object()


def _child(node: Any, part: str | int) -> Any:
    if isinstance(node, dict) and isinstance(part, str):
        return node.get(part, _MISSING)
    if isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
        return node[part]
    return _MISSING


def _locate(loc: PathKey, layers: Sequence[Layer]) -> Layer | None:
    """The layer whose value at ``loc`` survived the merge (or supplied its nearest surviving ancestor).

    Walks the path the way :func:`~mlplatform.spec.merge.deep_merge` combines layers: mappings collect
    contributions from every layer, while a list or scalar from a later layer replaces everything
    before it and a ``null`` removes it. So an item of a list the environment replaced is blamed on the
    environment, never on the blueprint whose list was discarded.
    """
    contributors: list[tuple[Layer, Any]] = []
    for layer in layers:
        if layer.depth_of(loc[:1]) < 0 and loc:
            continue
        node: Any = layer.doc.data
        for part in layer.prefix:
            node = _child(node, part)
        if node is not _MISSING:
            contributors.append((layer, node))
    if not contributors:
        return layers[-1] if layers else None
    owner = contributors[-1][0]
    for part in loc:
        survivors: list[tuple[Layer, Any]] = []
        for layer, node in contributors:
            child = _child(node, part)
            if child is _MISSING:
                continue
            if child is None:  # null removes the key: earlier contributions are gone
                survivors = []
            elif isinstance(child, dict) and all(isinstance(n, dict) for _, n in survivors):
                survivors.append((layer, child))  # mappings merge
            else:
                survivors = [(layer, child)]  # lists and scalars replace
        if not survivors:
            break
        contributors = survivors
        owner = contributors[-1][0]
    return owner


def _problem_text(item: Any, loc: PathKey) -> str:
    kind = item["type"]
    if kind == "extra_forbidden":
        return f"unknown key {loc[-1]!r}" if loc else "unknown key"
    if kind == "missing":
        return "required field is missing"
    if kind in ("cross_field", "refused"):
        return str(item["ctx"]["reason"])
    if kind == "string_pattern_mismatch":
        return "not in the expected format"
    if kind == "value_error":
        return str(item["msg"]).removeprefix("Value error, ")
    return str(item["msg"])


_TYPE_WORDS = {
    "int_type": "an integer",
    "int_parsing": "an integer",
    "float_type": "a number",
    "bool_type": "true or false",
    "string_type": "a string (quote it if YAML reads it as a number or date)",
    "dict_type": "a mapping (key: value)",
    "model_type": "a mapping (key: value)",
    "model_attributes_type": "a mapping (key: value)",
    "list_type": "a list",
    "int_from_float": "a whole number",
    "finite_number": "a finite number (not .inf or .nan)",
}


def _allowed_text(item: Any, model: type[BaseModel], loc: PathKey) -> str | None:
    kind = item["type"]
    ctx = item.get("ctx") or {}
    if kind == "extra_forbidden":
        known = _keys_at(model, loc[:-1])
        if not known:
            return None
        close = difflib.get_close_matches(str(loc[-1]), known, n=1, cutoff=0.6)
        hint = f"did you mean {close[0]!r}? " if close else ""
        return f"{hint}known keys: {', '.join(known)}"
    if kind in ("cross_field", "refused"):
        return str(ctx.get("allowed") or "") or None
    if kind in _TYPE_WORDS:
        return _TYPE_WORDS[kind]
    if kind == "literal_error":
        expected = str(ctx.get("expected", ""))
        return expected.lower() if expected in ("False", "True") else f"one of {expected}"
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        return _range_text(_field_at(model, loc)) or f"a number {_BOUND_SIGNS[kind]} {next(iter(ctx.values()), '')}"
    lengths = {
        "too_short": "at least {min_length} item(s)",
        "too_long": "at most {max_length} item(s)",
        "string_too_short": "at least {min_length} character(s)",
        "string_too_long": "at most {max_length} character(s)",
    }
    if kind in lengths:
        return lengths[kind].format(**ctx)
    if kind == "string_pattern_mismatch":
        return FORMAT_HELP.get(str(ctx.get("pattern")), f"a string matching {ctx.get('pattern')}")
    if kind == "missing":
        field = _field_at(model, loc)
        return field.description if field is not None and field.description else None
    return None


_BOUND_SIGNS = {"greater_than": ">", "greater_than_equal": ">=", "less_than": "<", "less_than_equal": "<="}


def _range_text(field: FieldInfo | None) -> str | None:
    """The whole allowed range of a numeric field, e.g. ``a number >= 7 and <= 30``."""
    if field is None:
        return None
    bounds = []
    for meta in field.metadata:
        for attr, sign in (("gt", ">"), ("ge", ">="), ("lt", "<"), ("le", "<=")):
            if getattr(meta, attr, None) is not None:
                bounds.append(f"{sign} {getattr(meta, attr)}")
    noun = "an integer" if _unwrap(field.annotation) is int else "a number"
    return f"{noun} {' and '.join(bounds)}" if bounds else None


def _strip_union_tags(model: type[BaseModel], loc: PathKey) -> PathKey:
    """Drop the member tags pydantic puts in a location inside a union (``schedule.literal[False]``)."""
    out: list[str | int] = []
    current: Any = model
    for part in loc:
        annotation = _unwrap(current)
        if _is_union(annotation):
            continue  # this part names the union member that failed, not a field
        if isinstance(part, str) and isinstance(annotation, type) and issubclass(annotation, BaseModel):
            field = annotation.model_fields.get(part)
            current = field.annotation if field else None
        elif isinstance(part, int):
            args = typing.get_args(annotation)
            current = args[0] if args else None
        else:
            current = None
        out.append(part)
    return tuple(out)


def _is_union(annotation: Any) -> bool:
    return typing.get_origin(annotation) in (typing.Union, types.UnionType)


def _unwrap(annotation: Any) -> Any:
    """``X | None`` -> ``X`` (lists are left alone)."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        members = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        return members[0] if len(members) == 1 else annotation
    return annotation


def _model_at(model: type[BaseModel], loc: PathKey) -> type[BaseModel] | None:
    current: Any = model
    for part in loc:
        annotation = _unwrap(current)
        if isinstance(part, int):
            args = typing.get_args(annotation)
            current = args[0] if args else None
            continue
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return None
        field = annotation.model_fields.get(part)
        if field is None:
            return None
        current = field.annotation
    current = _unwrap(current)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _field_at(model: type[BaseModel], loc: PathKey) -> FieldInfo | None:
    if not loc or not isinstance(loc[-1], str):
        return None
    parent = _model_at(model, loc[:-1])
    return parent.model_fields.get(loc[-1]) if parent else None


def _keys_at(model: type[BaseModel], loc: PathKey) -> list[str]:
    found = _model_at(model, loc)
    if found is None:
        return []
    # A model may narrow what users can write (PlatformSpec's identity fields come from the env file).
    settable = getattr(found, "user_keys", None)
    return list(settable() if callable(settable) else found.model_fields)
