"""Read YAML configuration files strictly, remembering where every value came from.

PyYAML silently accepts things a configuration tool must not: duplicate keys (the last one wins),
non-UTF-8 bytes (decoded by guesswork). This module rejects both with the file and line, and returns,
beside the data, a map from each value's path to the line it was written on, so that a validation
error found much later (after blueprints and overrides are merged) can still point at the right line
of the right file.

It is also the one door every YAML file comes in by (blueprints, environment files, ``init``'s own
output), and the files may be hostile: a pull-request preview job validates files from strangers. So
the loader refuses, *while composing* — before anything walks the data — what would make a later walk
explode or crash:

* aliases that expand into a huge document ("billion laughs": nine aliases of nine aliases of ... are
  a few hundred bytes that PyYAML turns into shared references, and merging, validating or printing
  them visits 9**9 values), or that refer to themselves (an endless structure);
* nesting deeper than :data:`MAX_DEPTH` (PyYAML's composer, and every walk after it, recurses once per
  level and would hit Python's recursion limit with a traceback);
* files over :data:`MAX_FILE_BYTES`, scalars over :data:`MAX_SCALAR_CHARS`, numbers too long to be a
  setting (Python refuses to convert integers of more than 4300 digits);
* YAML tags other than the plain-data ones (``!!python/object`` never reaches a constructor: the safe
  loader is used, and explicit tags such as ``!!binary`` or ``!!set`` are refused up front);
* mapping keys that are not strings (``1:``, ``yes:``, ``~:``): every key of the spec is a string.
"""

from __future__ import annotations

import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mlplatform.errors import FileFormatError

PathKey = tuple[str | int, ...]

MAX_FILE_BYTES = 1024 * 1024
"""Largest file read: environment files and blueprints are a few KB; a megabyte is already absurd."""

MAX_DEPTH = 64
"""Deepest nesting of collections. The spec's deepest path is 7 levels
(``overrides.serving.endpoints[0].deployment.rollback_alarms[0]``); 64 leaves a wide margin and keeps
every recursive walk of the data (composing, merging, validating, JSON output) far below Python's
recursion limit of 1000 frames, even when called from deep inside the CLI or a test runner."""

MAX_VALUES = 20_000
"""Most values (scalars and collections, every alias counted as the values it expands to) in one file.
A full level2 blueprint has a few hundred; the budget lets an environment declare hundreds of features
and endpoints while a billion-laughs document is refused after a few thousand expansions."""

MAX_SCALAR_CHARS = 16_384
"""Longest single value: no setting needs more (tag values stop at 256, descriptions are a line)."""

MAX_NUMBER_CHARS = 100
"""Longest number: far more digits than any setting, far fewer than Python's int conversion limit."""

_PLAIN_TAGS = frozenset(
    f"tag:yaml.org,2002:{name}" for name in ("str", "int", "float", "bool", "null", "seq", "map", "merge")
)
_NUMBER_TAGS = frozenset({"tag:yaml.org,2002:int", "tag:yaml.org,2002:float"})


@dataclass(frozen=True)
class YamlDocument:
    """A parsed YAML file.

    Attributes:
        file: path as shown to the user (relative to the working directory when possible).
        data: the parsed document (``None`` for an empty file).
        lines: 1-based line of every key / list item, by path (``()`` is the document itself).
    """

    file: str
    data: Any
    lines: dict[PathKey, int] = field(default_factory=dict)

    def line_of(self, path: PathKey) -> int | None:
        """The line of ``path``, or of its nearest ancestor that has one."""
        for cut in range(len(path), -1, -1):
            line = self.lines.get(path[:cut])
            if line is not None:
                return line
        return None


def display_path(path: Path) -> str:
    """Show ``path`` relative to the working directory when it is inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def read_yaml_file(path: Path, *, shown_as: str | None = None) -> YamlDocument:
    """Read and parse one YAML file.

    Args:
        path: the file to read.
        shown_as: how to name the file in messages (default: relative to the working directory).

    Raises:
        FileFormatError: the file cannot be read, is not a regular file, is larger than
            :data:`MAX_FILE_BYTES`, is not UTF-8, is not valid YAML, repeats a key, or is hostile (see the
            module docstring).
    """
    shown = shown_as or display_path(path)
    try:
        mode = path.stat().st_mode
        if stat.S_ISDIR(mode):
            raise FileFormatError(f"{shown}: is a directory, not a YAML file.")
        if not stat.S_ISREG(mode):  # a FIFO or device would block or never end
            raise FileFormatError(f"{shown}: is not a regular file (a device, socket or pipe); expected a YAML file.")
        with path.open("rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise FileFormatError(f"{shown}: cannot read the file: {exc.strerror or exc}") from None
    if len(raw) > MAX_FILE_BYTES:
        raise FileFormatError(
            f"{shown}: the file is larger than {MAX_FILE_BYTES // 1024} KiB; a configuration file is a few KB, "
            "so it is not read."
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise FileFormatError(
            f"{shown}:{line}: the file is not valid UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start}).",
            hint="Save the file as UTF-8 (configuration files must be UTF-8 text).",
        ) from None
    return parse_yaml_text(text, shown)


def parse_yaml_text(text: str, shown: str) -> YamlDocument:
    """Parse YAML text (see :func:`read_yaml_file`); ``shown`` names the source in messages."""
    if text.startswith("\ufeff"):  # a UTF-8 byte-order mark is legal but PyYAML chokes on it mid-stream
        text = text[1:]
    try:
        loader = _StrictLoader(text, shown)
    except yaml.reader.ReaderError as exc:  # raised by the constructor: it checks every character first
        line = text[: exc.position].count("\n") + 1
        raise FileFormatError(
            f"{shown}:{line}: the file contains the control character U+{exc.character:04X}, which YAML does not "
            "allow.",
            hint="Remove it (it may be a binary file saved with a .yaml name).",
        ) from None
    try:
        node = loader.get_single_node()
        if node is None:
            return YamlDocument(shown, None, {})
        lines: dict[PathKey, int] = {}
        _record_lines(loader, node, (), lines, shown)
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{shown}:{mark.line + 1}" if mark is not None else shown
        what = " ".join(part for part in (exc.context, exc.problem) if part)
        raise FileFormatError(f"{where}: malformed YAML: {what}.") from None
    except yaml.YAMLError as exc:
        raise FileFormatError(f"{shown}: malformed YAML: {exc}.") from None
    finally:
        loader.dispose()
    return YamlDocument(shown, data, lines)


class _StrictLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing hostile documents while it composes them (see the module docstring).

    Composing builds the node graph without expanding aliases (an alias is the anchored node itself), so
    the checks cost one pass over the text, whatever the document would expand to.
    """

    def __init__(self, text: str, shown: str) -> None:
        super().__init__(text)
        self._shown = shown
        self._depth = 0
        self._values = 0  # values so far, each alias counted as the values it expands to
        self._aliases = 0
        self._sizes: dict[int, int] = {}  # id(node) -> values it expands to, once the node is complete

    def _refuse(self, mark: Any, message: str, hint: str | None = None) -> FileFormatError:
        where = f"{self._shown}:{mark.line + 1}" if mark is not None else self._shown
        return FileFormatError(f"{where}: {message}", hint=hint)

    def _count(self, values: int, mark: Any) -> None:
        self._values += values
        if self._values > MAX_VALUES and self._aliases:
            raise self._refuse(
                mark,
                f"the document expands to more than {MAX_VALUES} values through its {self._aliases} aliases "
                "(*name) so far; refusing it (a YAML alias bomb?).",
                hint="Write the values out, or use fewer aliases of large anchored values.",
            )
        if self._values > MAX_VALUES:
            raise self._refuse(
                mark, f"the document holds more than {MAX_VALUES} values; no configuration is that large."
            )

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        event: Any = self.peek_event()  # type: ignore[no-untyped-call]
        node: yaml.Node | None
        if isinstance(event, yaml.AliasEvent):
            node = super().compose_node(parent, index)
            size = self._sizes.get(id(node))
            if size is None:  # the anchored node is still being composed: it contains its own alias
                raise self._refuse(
                    event.start_mark,
                    f"alias *{event.anchor} is used inside the value it names (a structure that contains "
                    "itself never ends).",
                )
            self._aliases += 1
            self._count(size, event.start_mark)
            return node
        tag = getattr(event, "tag", None)
        if tag not in (None, "!") and tag not in _PLAIN_TAGS:
            raise self._refuse(
                event.start_mark,
                f"the YAML tag {tag.replace('tag:yaml.org,2002:', '!!')!r} is not allowed: configuration files "
                "hold plain data (strings, numbers, booleans, lists and mappings).",
                hint="Remove the tag (quote the value if it should be a string).",
            )
        if isinstance(event, yaml.ScalarEvent) and len(event.value) > MAX_SCALAR_CHARS:
            raise self._refuse(
                event.start_mark,
                f"a value of {len(event.value)} characters; the longest allowed is {MAX_SCALAR_CHARS}.",
            )
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise self._refuse(
                event.start_mark, f"nested more than {MAX_DEPTH} levels deep; no setting is nested that deep."
            )
        self._count(1, event.start_mark)
        try:
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
        if node is None:
            return None
        if isinstance(node, yaml.ScalarNode):
            if node.tag in _NUMBER_TAGS and len(node.value) > MAX_NUMBER_CHARS:
                raise self._refuse(
                    node.start_mark,
                    f"a number of {len(node.value)} characters; no setting takes a number that long.",
                    hint="Quote it if it is meant as a string.",
                )
            self._sizes[id(node)] = 1
        else:
            children = node.value if isinstance(node, yaml.SequenceNode) else [n for pair in node.value for n in pair]
            self._sizes[id(node)] = 1 + sum(self._sizes[id(child)] for child in children)
        return node

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except (ValueError, OverflowError) as exc:  # e.g. the "date" 2024-13-45 or a float out of range
            raise yaml.constructor.ConstructorError(
                None, None, f"cannot read the value {getattr(node, 'value', '')!r} ({exc}); quote it", node.start_mark
            ) from None


def _record_lines(
    loader: yaml.SafeLoader, node: yaml.Node, path: PathKey, lines: dict[PathKey, int], shown: str
) -> None:
    """Walk the node tree: note each path's line; reject duplicate and non-string keys."""
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: dict[Any, int] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":  # `<<: *anchor`; its keys keep the anchor's lines
                continue
            line = key_node.start_mark.line + 1
            if not isinstance(key_node, yaml.ScalarNode):
                kind = "list" if isinstance(key_node, yaml.SequenceNode) else "mapping"
                raise FileFormatError(f"{shown}:{line}: a mapping key must be a plain value, got {kind}.")
            key = loader.construct_object(key_node, deep=True)
            if not isinstance(key, str):
                raise FileFormatError(
                    f"{shown}:{line}: the key {key_node.value!r} is read by YAML as {_yaml_kind(key)}; every key "
                    "of a configuration file is a string.",
                    hint=f"Quote it: '{key_node.value}':",
                )
            if key in seen:
                raise FileFormatError(
                    f"{shown}:{line}: duplicate key {key!r} (first defined on line {seen[key]}).",
                    hint="Remove one of the two; YAML does not merge repeated keys.",
                )
            seen[key] = line
            child = (*path, key)
            lines[child] = line
            _record_lines(loader, value_node, child, lines, shown)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            child = (*path, index)
            lines[child] = item.start_mark.line + 1
            _record_lines(loader, item, child, lines, shown)


def _yaml_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    return f"a {type(value).__name__}"
