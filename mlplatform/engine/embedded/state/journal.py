"""The journal: ``journal.jsonl``, one JSON entry per line, appended and fsynced as operations happen.

Each step appends a *pending* ``begin`` entry before the cloud call that could be interrupted, then
``succeed`` or ``fail``; ``outputs``, ``blueprint`` and ``run`` entries record the rest of a run. Every entry
carries the ``serial`` and ``lineage`` of the snapshot it was written on top of. :class:`JournalFile` reads
and replays entries on top of a snapshot (:class:`Replay`) and appends new ones; folding the journal into
a new snapshot is the store's job (:meth:`~mlplatform.engine.embedded.state.store.StateStore.compact`).

A line is complete only with its trailing newline: a torn last line (a crash mid-write) is ignored with a
warning and cut off before the next append; a bad line anywhere else is corruption, because the entries
after it cannot be trusted.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from mlplatform.engine.embedded.state.files import FILE_MODE, read_or_none, write_all
from mlplatform.errors import StateCorruptError
from mlplatform.fileio import fsync_dir

Hook = Callable[[dict[str, Any]], Any]
"""A ``json.loads`` object hook (decrypts secrets, or notes plaintext ones, while parsing)."""


class Corrupt(Protocol):
    """Builds the error for a corrupt state file (the store knows the hints: backups, what to move aside)."""

    def __call__(self, path: Path, problem: str, *, line: int | None = None) -> StateCorruptError: ...


@dataclass
class Replay:
    """Snapshot + journal folded together, still in the on-disk (encrypted) form."""

    lineage: str
    serial: int
    snapshot_bytes: bytes | None
    blueprint: str | None = None
    last_run: dict[str, Any] | None = None
    outputs: dict[str, Any] = field(default_factory=dict)
    resources: dict[str, dict[str, Any]] = field(default_factory=dict)
    pending: dict[str, dict[str, Any]] = field(default_factory=dict)
    updated_at: str | None = None
    applied: int = 0  # journal entries folded in
    stale: int = 0  # entries already contained in the snapshot (crash between replace and truncate)
    complete_length: int = 0  # bytes of the journal up to its last newline
    torn: bool = False
    plaintext_secrets: bool = False  # some secret wrapper is stored unencrypted
    warnings: list[str] = field(default_factory=list)


def replay_of(doc: dict[str, Any], raw: bytes | None) -> Replay:
    """A replay holding just the snapshot ``doc`` (parsed from ``raw``)."""
    replay = Replay(lineage=str(doc["lineage"]), serial=int(doc["serial"]), snapshot_bytes=raw)
    replay.blueprint = doc.get("blueprint")
    replay.last_run = doc.get("last_run")
    replay.outputs = doc.get("outputs") or {}
    replay.updated_at = doc.get("updated_at")
    for resource in doc.get("resources") or []:
        replay.resources[resource["urn"]] = resource
    for operation in doc.get("pending") or []:
        replay.pending[operation["op_id"]] = operation
    return replay


def apply_entry(replay: Replay, entry: dict[str, Any]) -> None:
    """Fold one journal entry into ``replay`` (the same rules as the in-memory model in the tests)."""
    kind = entry["kind"]
    if kind == "begin":
        replay.pending[entry["op_id"]] = {
            "op_id": entry["op_id"],
            "op": entry["op"],
            "urn": entry["urn"],
            "type": entry["type"],
            "detail": entry.get("detail") or {},
            "started_at": entry.get("time"),
        }
    elif kind == "succeed" and entry["op"] == "discard":
        # The replaced resource is gone; the resource now under that URN (its replacement) is untouched.
        replay.pending.pop(entry["op_id"], None)
    elif kind == "succeed":
        urn, resource = entry["urn"], entry["resource"]
        if resource is None:
            replay.resources.pop(urn, None)
        else:
            resource = dict(resource)
            # A different urn renames the resource (an alias): the old entry goes, its history stays.
            old = replay.resources.pop(urn, None) if resource["urn"] != urn else replay.resources.get(urn)
            keep_created = old is not None and entry["op"] not in ("create", "replace")
            resource["created_at"] = resource.get("created_at") or (
                old.get("created_at") if keep_created and old is not None else entry.get("time")
            )
            resource["updated_at"] = resource.get("updated_at") or entry.get("time")
            replay.resources[resource["urn"]] = resource
        # A success settles the resource: earlier interrupted operations on it are resolved.
        urns = {urn} if resource is None else {urn, resource["urn"]}
        replay.pending.pop(entry["op_id"], None)
        # A pending discard is about another physical resource (the replaced one): it stays until it is deleted.
        settled = [
            op_id for op_id, pending in replay.pending.items() if pending["urn"] in urns and pending["op"] != "discard"
        ]
        for op_id in settled:
            del replay.pending[op_id]
    elif kind == "fail":
        replay.pending.pop(entry["op_id"], None)
    elif kind == "outputs":
        replay.outputs = entry["outputs"]
    elif kind == "blueprint":
        replay.blueprint = entry["blueprint"]
    elif kind == "run":
        replay.last_run = entry["run"]
    else:
        raise ValueError(f"unknown entry kind {kind!r} (written by a newer mlplatform?)")
    replay.applied += 1
    replay.updated_at = entry.get("time") or replay.updated_at


class JournalFile:
    """Reads, replays and appends to one environment's ``journal.jsonl``.

    Appending is not thread-safe on its own: the store serialises it.

    Args:
        path: the journal file.
        corrupt: builds the error for a bad line.
    """

    def __init__(self, path: Path, corrupt: Corrupt) -> None:
        self.path = path
        self._corrupt = corrupt
        self._fd: int | None = None
        self.base: tuple[str, int] | None = None
        """(lineage, serial) of the snapshot new entries are written on top of, while open."""

    def read(self) -> bytes:
        """The journal's bytes (empty when there is none)."""
        return read_or_none(self.path) or b""

    def fold(
        self, replay: Replay, journal: bytes, hook: Hook | None, *, lineage_known: bool, snapshot_name: str
    ) -> None:
        """Apply the entries of ``journal`` written on top of ``replay``'s snapshot to ``replay``.

        Raises:
            StateCorruptError: a line other than the last is not an entry, or an entry belongs to another
                lineage or to a newer snapshot than ``replay``'s.
        """
        lines = journal.split(b"\n")
        tail = lines.pop()  # b"" when the journal ends with a newline, as a complete journal does
        replay.complete_length = len(journal) - len(tail)
        if tail.strip():
            replay.torn = True
            replay.warnings.append(
                f"{self.path}: ignored an incomplete last entry ({len(tail)} bytes; a run was "
                "interrupted while writing it, before the operation it describes started or was recorded)."
            )
        for number, entry in self._parse(lines, hook):
            try:
                if not isinstance(entry, dict):
                    raise ValueError("not a JSON object")
                lineage, serial = entry["lineage"], entry["serial"]
            except (ValueError, KeyError) as exc:
                raise self._corrupt(
                    self.path, f"line {number} is not a valid journal entry ({exc})", line=number
                ) from exc
            if not lineage_known:
                # No snapshot yet: the journal's first entry fixed the lineage of this environment.
                replay.lineage, lineage_known = lineage, True
            if lineage != replay.lineage:
                raise self._corrupt(
                    self.path,
                    f"line {number} belongs to state lineage {lineage}, but {snapshot_name} is "
                    f"lineage {replay.lineage} (files from different environments were mixed)",
                )
            if serial < replay.serial:
                replay.stale += 1  # already folded into the snapshot
                continue
            if serial > replay.serial:
                raise self._corrupt(
                    self.path,
                    f"line {number} was written on top of serial {serial}, but {snapshot_name} is "
                    f"serial {replay.serial} (was an older snapshot restored?); replaying it could lose track "
                    "of resources",
                )
            try:
                apply_entry(replay, entry)
            except (ValueError, KeyError, TypeError) as exc:
                raise self._corrupt(self.path, f"line {number} is malformed ({exc})", line=number) from exc

    def _parse(self, lines: list[bytes], hook: Hook | None) -> list[tuple[int, Any]]:
        """(line number, parsed entry) for the non-blank lines."""
        numbered = [(number, line) for number, line in enumerate(lines, start=1) if line.strip()]
        try:
            # One parse of the whole journal as a JSON array: a third of the time of a loads() per line.
            entries = json.loads(b"[" + b",".join(line for _, line in numbered) + b"]", object_hook=hook)
        except ValueError:
            entries = None
        if entries is not None and len(entries) == len(numbered):
            return [(number, entry) for (number, _), entry in zip(numbered, entries, strict=True)]
        # Some line is bad (or two lines glued into one value parsed as one): find and name it.
        parsed = []
        for number, line in numbered:
            try:
                parsed.append((number, json.loads(line, object_hook=hook)))
            except ValueError as exc:
                raise self._corrupt(
                    self.path, f"line {number} is not a valid journal entry ({exc})", line=number
                ) from exc
        return parsed

    # ------------------------------------------------------------------------------------------ append

    @property
    def is_open(self) -> bool:
        """Whether the append descriptor is open (then :attr:`base` is set)."""
        return self._fd is not None

    def open(self, replay: Replay) -> None:
        """Open for appending on top of ``replay`` (the state as just read), repairing the tail first."""
        if self._fd is not None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, FILE_MODE)
        try:
            if replay.torn:
                # Appending after a torn line would glue the next entry onto it and turn a tolerated
                # crash artefact into corruption in the middle of the journal.
                os.ftruncate(fd, replay.complete_length)
                os.fsync(fd)
            elif replay.stale and not replay.applied:
                # A compaction crashed after replacing the snapshot: every entry is already in it.
                os.ftruncate(fd, 0)
                os.fsync(fd)
            fsync_dir(self.path.parent)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        self.base = (replay.lineage, replay.serial)

    def append(self, body: dict[str, Any]) -> None:
        """Append ``body`` as one line on top of :attr:`base`, durably (must be open).

        A failed write may leave a partial line: the journal is closed, and reopening cuts it off.
        """
        assert self._fd is not None and self.base is not None
        lineage, serial = self.base
        line = json.dumps({"serial": serial, "lineage": lineage, **body}, separators=(",", ":")) + "\n"
        try:
            write_all(self._fd, line.encode())
            os.fsync(self._fd)
        except BaseException:
            self.close()
            raise

    def truncate(self, base: tuple[str, int]) -> None:
        """Empty the journal (its entries are in the new snapshot ``base``) and append on top of ``base``."""
        if self._fd is None:
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, FILE_MODE)
        os.ftruncate(self._fd, 0)
        os.fsync(self._fd)
        self.base = base

    def close(self) -> None:
        """Close the append descriptor (if open)."""
        if self._fd is not None:
            fd, self._fd = self._fd, None
            self.base = None
            with contextlib.suppress(OSError):
                os.close(fd)
