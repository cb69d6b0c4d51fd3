"""Read YAML configuration files strictly, remembering where every value came from.

PyYAML silently accepts things a configuration tool must not: duplicate keys (the last one wins),
non-UTF-8 bytes (decoded by guesswork). This module rejects both with the file and line, and returns,
beside the data, a map from each value's path to the line it was written on, so that a validation
error found much later (after blueprints and overrides are merged) can still point at the right line
of the right file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mlplatform.errors import FileFormatError

PathKey = tuple[str | int, ...]


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
        FileFormatError: the file cannot be read, is not UTF-8, is not valid YAML, or repeats a key.
    """
    shown = shown_as or display_path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise FileFormatError(f"{shown}: cannot read the file: {exc.strerror or exc}") from None
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
    loader = yaml.SafeLoader(text)
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


def _record_lines(
    loader: yaml.SafeLoader, node: yaml.Node, path: PathKey, lines: dict[PathKey, int], shown: str
) -> None:
    """Walk the node tree: note each path's line; reject duplicate keys (PyYAML keeps the last)."""
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: dict[Any, int] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":  # `<<: *anchor`; its keys keep the anchor's lines
                continue
            key = loader.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            if not isinstance(key, (str, int, bool, float)) and key is not None:
                raise FileFormatError(f"{shown}:{line}: a mapping key must be a plain value, got {type(key).__name__}.")
            if key in seen:
                raise FileFormatError(
                    f"{shown}:{line}: duplicate key {key!r} (first defined on line {seen[key]}).",
                    hint="Remove one of the two; YAML does not merge repeated keys.",
                )
            seen[key] = line
            child = (*path, str(key))
            lines[child] = line
            _record_lines(loader, value_node, child, lines, shown)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            child = (*path, index)
            lines[child] = item.start_mark.line + 1
            _record_lines(loader, item, child, lines, shown)
