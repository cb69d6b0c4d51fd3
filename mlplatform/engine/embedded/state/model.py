"""The shape of an environment's state: resources, pending operations, snapshots, and the file format.

What :class:`~mlplatform.engine.embedded.state.store.StateStore` reads and writes, as plain dataclasses with
their JSON forms. ``state.json`` holds one :class:`Snapshot`; its ``version`` is :data:`FORMAT_VERSION`, and
:func:`check_format_version` refuses a file written by a newer mlplatform (format 1 is the only one so far,
so there is nothing to upgrade yet: a new format adds its upgrade step there).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Literal, get_args

from mlplatform.engine.embedded import graph

FORMAT_VERSION = 1
"""``version`` of ``state.json``; a file with a higher version was written by a newer mlplatform."""

OpKind = Literal["create", "update", "delete", "replace", "read", "discard"]
"""``discard``: deleting the old half of a create-before-delete replacement. Its ``detail`` holds the old
resource (``resource``), which state no longer lists under its URN; it stays pending until that delete is done."""
OP_KINDS: tuple[str, ...] = get_args(OpKind)


# --------------------------------------------------------------------------------------------------- data


@dataclass
class ResourceState:
    """What the engine believes about one deployed resource (custom or component).

    ``inputs`` and ``outputs`` are plain JSON values in which secrets are wrapped (the engine's
    ``values.secret`` form, or ``{"__secret__": True, "value": ...}``); the store encrypts them on disk.
    ``created_at``/``updated_at`` are filled in from the journal entry's time when left ``None``.
    """

    urn: str
    type: str
    id: str | None = None
    inputs: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    parent: str | None = None
    dependencies: list[str] = field(default_factory=list)
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)
    provider: str | None = None
    protect: bool = False
    retain_on_delete: bool = False
    custom: bool = True
    delete_before_replace: bool = False
    deleted_with: str | None = None
    created_at: str | None = None
    updated_at: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON form (shallow: nested values are shared with this object)."""
        return {name: getattr(self, name) for name in _RESOURCE_FIELDS}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ResourceState:
        """Inverse of :meth:`to_dict`; missing optional fields take their defaults.

        Raises:
            ValueError: ``urn`` or ``type`` is missing or not a string.
        """
        if not isinstance(data.get("urn"), str) or not isinstance(data.get("type"), str):
            raise ValueError(f"a resource needs string 'urn' and 'type', got {sorted(data)}")
        return cls(**{name: data[name] for name in _RESOURCE_FIELDS if name in data})


_RESOURCE_FIELDS = tuple(f.name for f in fields(ResourceState))


@dataclass
class PendingOperation:
    """A journaled operation that started and has not completed (or a completion that never arrived).

    Attributes:
        op_id: identifier returned by :meth:`StateStore.begin`.
        op: create, update, delete, replace or read.
        urn: the resource it acts on.
        type: that resource's type token.
        detail: what the engine recorded to adopt or clean up after a crash (physical name, tags, ...).
        started_at: when ``begin`` was written (UTC, ISO 8601).
    """

    op_id: str
    op: str
    urn: str
    type: str
    detail: dict[str, Any] = field(default_factory=dict)
    started_at: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON form (shallow)."""
        return {item.name: getattr(self, item.name) for item in fields(self)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PendingOperation:
        """Inverse of :meth:`to_dict`."""
        return cls(
            op_id=data["op_id"],
            op=data["op"],
            urn=data["urn"],
            type=data["type"],
            detail=data.get("detail") or {},
            started_at=data.get("started_at"),
        )


@dataclass(kw_only=True)
class Snapshot:
    """One environment's state: what :meth:`StateStore.load` returns and ``state.json`` holds.

    Attributes:
        version: format version of the file (:data:`FORMAT_VERSION`).
        serial: increases by one with every compaction that changed something.
        lineage: a UUID fixed for the life of the environment; a snapshot from another lineage is not an
            older or newer version of this one.
        env: the environment's name.
        blueprint: the blueprint the environment was last deployed with.
        last_run: how the last ``up``/``destroy`` ended — ``command``, ``status`` (ok, failed, cancelled),
            ``failed``/``skipped`` counts, ``not_deleted`` (resources the program no longer declares that are
            still deployed) and ``finished_at`` — so ``outputs`` can say when they describe an unfinished run.
        resources: in dependency order — every resource after its parent, provider and dependencies.
        outputs: the stack's exported outputs.
        pending: operations that started and never completed (still unresolved).
        updated_at: time of the last change folded in.
    """

    version: int = FORMAT_VERSION
    serial: int = 0
    lineage: str
    env: str
    blueprint: str | None = None
    last_run: dict[str, Any] | None = None
    resources: list[ResourceState] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    pending: list[PendingOperation] = field(default_factory=list)
    updated_at: str | None = None

    def resource(self, urn: str) -> ResourceState | None:
        """The resource with ``urn``, or ``None``."""
        return next((resource for resource in self.resources if resource.urn == urn), None)

    def to_dict(self) -> dict[str, Any]:
        """JSON form, key order as in ``state.json``."""
        return {
            "version": self.version,
            "serial": self.serial,
            "lineage": self.lineage,
            "env": self.env,
            "blueprint": self.blueprint,
            "last_run": self.last_run,
            "updated_at": self.updated_at,
            "outputs": self.outputs,
            "pending": [operation.to_dict() for operation in self.pending],
            "resources": [resource.to_dict() for resource in self.resources],
        }


@dataclass
class LoadedState:
    """Result of :meth:`StateStore.load`.

    Attributes:
        snapshot: the snapshot with the journal replayed on top (its ``serial`` is the one on disk).
        interrupted: pending operations started by an earlier run that never completed — the run was
            killed mid-apply. The engine adopts or cleans up what they may have created and reports them.
        warnings: things the user should know (e.g. a torn last journal line was ignored).
    """

    snapshot: Snapshot
    interrupted: list[PendingOperation] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def unsettled(self) -> list[PendingOperation]:
        """The interrupted operations on resources the state lists (all but the pending discards)."""
        return [operation for operation in self.interrupted if operation.op != "discard"]

    @property
    def replaced(self) -> list[tuple[str, ResourceState]]:
        """``(op_id, old resource)`` of each replacement whose old half was not deleted yet (the run stopped or
        the delete failed): the next ``up`` or ``destroy`` deletes them."""
        return replaced_resources(self.interrupted)


def replaced_resources(operations: list[PendingOperation]) -> list[tuple[str, ResourceState]]:
    """``(op_id, old resource)`` of the pending ``discard`` operations among ``operations``."""
    found = []
    for operation in operations:
        resource = operation.detail.get("resource") if operation.op == "discard" else None
        if isinstance(resource, dict):
            found.append((operation.op_id, ResourceState.from_dict(resource)))
    return found


def check_format_version(version: Any) -> None:
    """Accept a ``state.json`` ``version`` this mlplatform can read.

    Raises:
        ValueError: ``version`` is not an integer, or is newer than :data:`FORMAT_VERSION`.
    """
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ValueError(f"format version {version!r}: written by a newer mlplatform")


def dependency_order(resources: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Resources (JSON form, by URN) ordered so each follows its parent, provider and dependencies.

    Otherwise the order is the one given (ties are broken by position, so the same resources always give
    the same file): the journal appends in completion order, which already respects dependencies for
    creates, but an update can add a dependency on a resource created later (and a renamed resource moves
    to the end).
    """

    def edges(urn: str) -> list[str]:
        resource = resources[urn]
        found = [resource.get("parent"), *(resource.get("dependencies") or [])]
        for deps in (resource.get("property_dependencies") or {}).values():
            found.extend(deps)
        provider = resource.get("provider")
        if provider:
            # A provider reference is "<urn>::<id>".
            found.append(provider if provider in resources else provider.rsplit("::", 1)[0])
        return [found_urn for found_urn in found if found_urn in resources]

    return [resources[urn] for urn in graph.order(list(resources), edges)]


def dump_snapshot(doc: dict[str, Any]) -> bytes:
    """The bytes of ``state.json`` for the snapshot document ``doc`` (a :meth:`Snapshot.to_dict`)."""
    # One resource per line: readable and diffable, and several times faster than indent=2, which
    # makes the json module fall back to its pure-Python encoder.
    head = {name: value for name, value in doc.items() if name != "resources"}
    resources = ",\n".join(json.dumps(resource, separators=(",", ":")) for resource in doc["resources"])
    return (json.dumps(head, separators=(",", ":"))[:-1] + ',"resources":[\n' + resources + "\n]}\n").encode()
