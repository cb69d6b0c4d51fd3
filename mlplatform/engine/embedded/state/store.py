"""The embedded engine's state: a versioned JSON snapshot, an append-only journal and a lock per environment.

Written the way a database writes (Terraform's ``statemgr``, Pulumi's snapshot manager). Per environment::

    <state_dir>/stacks/<env>/state.json       the snapshot: serial, lineage, resources in dependency order
    <state_dir>/stacks/<env>/state.json.bak   the snapshot before the last compaction
    <state_dir>/stacks/<env>/journal.jsonl    operations since that snapshot, one JSON object per line
    <state_dir>/stacks/<env>/lock.json        who holds the environment: pid, host, user, command, start time
    <state_dir>/stacks/<env>/secrets.key      Fernet key for secret values (mode 0600, created on first use)

Why a journal: rewriting the whole snapshot after every step was 70% of ``up`` at 500 resources (measured
when the engine was designed). Instead each step appends a line and fsyncs it — a *pending* ``begin`` entry
before the cloud call that could be interrupted, then ``succeed`` or ``fail`` — and :meth:`StateStore.compact`
folds the journal into a new snapshot once, at the end of the run.

Crash safety rests on three rules:

* The snapshot is only ever replaced whole: written to a temporary file in the same directory, fsynced,
  then ``os.replace``-d over ``state.json``. A reader sees the old file or the new one, never a mix.
* Every journal entry carries the ``serial`` and ``lineage`` of the snapshot it was written on top of. A
  crash after the new snapshot is in place but before the journal is truncated leaves entries with an older
  serial; :meth:`StateStore.load` skips them because the snapshot already contains them.
* A journal line is complete only with its trailing newline. A torn last line (a crash mid-write) is
  ignored with a warning and cut off before the next append; a bad line anywhere else is corruption and
  an error, because the entries after it cannot be trusted.

So at every instant ``load()`` returns either the state before or after the operation in flight, and an
operation whose ``begin`` is on disk without a completion is reported as *interrupted*, carrying the
detail (physical name, tags) the engine needs to adopt or clean up what the call may have created.
"""

from __future__ import annotations

import contextlib
import functools
import getpass
import json
import os
import socket
import sys
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, get_args

from mlplatform.engine.values import SECRET_SIG, SIG_KEY
from mlplatform.errors import StateCorruptError, StateLockedError
from mlplatform.spec.names import check_env_name

if sys.platform != "win32":
    import fcntl

if TYPE_CHECKING:
    from cryptography.fernet import Fernet

FORMAT_VERSION = 1
"""``version`` of ``state.json``; a file with a higher version was written by a newer mlplatform."""

PLAINTEXT_SECRETS_ENV = "MLPLATFORM_STATE_PLAINTEXT_SECRETS"
"""Set to ``1`` to store secret values unencrypted (the user's explicit opt-in)."""

OpKind = Literal["create", "update", "delete", "replace", "read"]
OP_KINDS: tuple[str, ...] = get_args(OpKind)

_SECRET_FLAG = "__secret__"
_FILE_MODE = 0o600  # state may hold plaintext secrets when the user opts in; never world-readable


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
        """JSON form."""
        return {
            "op_id": self.op_id,
            "op": self.op,
            "urn": self.urn,
            "type": self.type,
            "detail": self.detail,
            "started_at": self.started_at,
        }

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


@dataclass(frozen=True)
class LockInfo:
    """Holder of an environment's lock, as recorded in ``lock.json``.

    ``process_start`` is the holder's start time in clock ticks since boot (Linux ``/proc``), so a pid
    reused by an unrelated process after a crash is not mistaken for the holder.
    """

    pid: int
    host: str
    user: str
    command: str
    started_at: str
    lock_id: str
    process_start: str | None = None

    def describe(self) -> str:
        """``pid 42 on host h (user u), running 'up' since <time>``."""
        return (
            f"pid {self.pid} on host {self.host} (user {self.user}), running {self.command!r} since {self.started_at}"
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "pid": self.pid,
            "host": self.host,
            "user": self.user,
            "command": self.command,
            "started_at": self.started_at,
            "lock_id": self.lock_id,
            "process_start": self.process_start,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LockInfo:
        """Inverse of :meth:`to_dict`."""
        return cls(
            pid=int(data["pid"]),
            host=str(data["host"]),
            user=str(data["user"]),
            command=str(data["command"]),
            started_at=str(data["started_at"]),
            lock_id=str(data["lock_id"]),
            process_start=data.get("process_start"),
        )


_UNREADABLE_LOCK = LockInfo(pid=0, host="unknown", user="unknown", command="unknown", started_at="unknown", lock_id="")


# ------------------------------------------------------------------------------------------------ secrets


class SecretsKey:
    """The per-environment Fernet key in ``secrets.key``, created (mode 0600) the first time it is needed.

    Fernet (AES-128-CBC + HMAC-SHA256, from ``cryptography``) authenticates as well as encrypts, so a
    wrong key or an edited ciphertext is an error rather than garbage. The key sits beside the state: it
    keeps secrets out of state files that are shared, uploaded or committed without it, and out of
    anything that prints them. Thread-safe.

    Args:
        path: the key file.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fernet: Fernet | None = None
        self._lock = threading.Lock()
        # Fernet tokens are unique per encryption, so a token always decrypts to the same plaintext:
        # remembering them spares compact() decrypting again what load() already did.
        self._plaintexts: dict[str, bytes] = {}

    def encrypt(self, value: Any) -> str:
        """Encrypt the JSON form of ``value``, creating the key file if there is none yet."""
        return self._get(create=True).encrypt(json.dumps(value).encode()).decode("ascii")

    def decrypt(self, token: str) -> Any:
        """Inverse of :meth:`encrypt`.

        Raises:
            StateCorruptError: the key file is missing or malformed, or the token was not made with it.
        """
        from cryptography.fernet import InvalidToken

        plaintext = self._plaintexts.get(token)
        if plaintext is not None:
            return json.loads(plaintext)
        try:
            plaintext = self._get(create=False).decrypt(token.encode("ascii"))
        except (InvalidToken, UnicodeEncodeError) as exc:
            raise StateCorruptError(
                f"a secret in the state next to {self.path} cannot be decrypted with that key file: it was "
                "replaced or the state was copied from another environment.",
                hint="Restore the original secrets.key of this environment.",
            ) from exc
        self._plaintexts[token] = plaintext
        return json.loads(plaintext)

    def _get(self, *, create: bool) -> Fernet:
        with self._lock:
            if self._fernet is None:
                # Imported here: 30 ms, and only states that hold secrets need it.
                from cryptography.fernet import Fernet

                try:
                    key = self.path.read_bytes().strip()
                except FileNotFoundError:
                    if not create:
                        raise StateCorruptError(
                            f"the state holds encrypted secrets but their key {self.path} is missing.",
                            hint="Restore secrets.key from where this environment's state came from.",
                        ) from None
                    key = self._create(Fernet.generate_key())
                try:
                    self._fernet = Fernet(key)
                except ValueError as exc:
                    raise StateCorruptError(f"{self.path} is not a valid secrets key: {exc}") from exc
            return self._fernet

    def _create(self, key: bytes) -> bytes:
        # The key must be durable before the first ciphertext that needs it reaches the disk, and two
        # processes must not each create one: write a private temp file, fsync, then link it into place
        # (atomic, fails if the name exists — then the other process's key wins).
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{uuid.uuid4().hex}.tmp")
        _write_new_file(tmp, key + b"\n")
        try:
            os.link(tmp, self.path)
        except FileExistsError:
            return self.path.read_bytes().strip()
        finally:
            os.unlink(tmp)
        _fsync_dir(self.path.parent)
        return key


def _secret_marker(value: dict[str, Any]) -> dict[str, Any] | None:
    """The marker keys of a secret wrapper (Pulumi's signature or ``__secret__``), or ``None``."""
    if value.get(SIG_KEY) == SECRET_SIG:
        return {SIG_KEY: SECRET_SIG}
    if value.get(_SECRET_FLAG) is True:
        return {_SECRET_FLAG: True}
    return None


def encode_secrets(value: Any, key: SecretsKey | None) -> Any:
    """A copy of ``value`` with every secret wrapper's ``value`` replaced by a ``ciphertext``.

    Both wrapper forms are recognised — the engine's (Pulumi's signature key, ``values.secret``) and
    ``{"__secret__": True, "value": ...}`` — and keep their marker, so :func:`decode_secrets` gives back
    exactly what was encoded. Wrappers that are already encrypted are left as they are.

    Args:
        value: any JSON value.
        key: the environment's key; ``None`` leaves secrets in plaintext (the user opted in).
    """
    if isinstance(value, dict):
        marker = _secret_marker(value)
        if marker is not None and "value" in value:
            return value if key is None else {**marker, "ciphertext": key.encrypt(value["value"])}
        # Scalars are tested inline rather than recursed into: this walk covers every value in state.
        return {
            name: encode_secrets(item, key) if isinstance(item, (dict, list)) else item for name, item in value.items()
        }
    if isinstance(value, list):
        return [encode_secrets(item, key) if isinstance(item, (dict, list)) else item for item in value]
    return value


def decode_secrets(value: Any, key: SecretsKey) -> Any:
    """Inverse of :func:`encode_secrets`: ciphertexts back to ``value`` (plaintext wrappers pass through).

    Raises:
        StateCorruptError: a ciphertext cannot be decrypted with ``key``.
    """
    if isinstance(value, dict):
        decoded = _decode_wrapper(value, key)
        if decoded is not value:
            return decoded
        return {
            name: decode_secrets(item, key) if isinstance(item, (dict, list)) else item for name, item in value.items()
        }
    if isinstance(value, list):
        return [decode_secrets(item, key) if isinstance(item, (dict, list)) else item for item in value]
    return value


def _decode_wrapper(value: dict[str, Any], key: SecretsKey) -> dict[str, Any]:
    """``value`` decrypted if it is an encrypted secret wrapper, else ``value`` itself (a json object hook)."""
    if "ciphertext" in value:
        marker = _secret_marker(value)
        if marker is not None:
            return {**marker, "value": key.decrypt(value["ciphertext"])}
    return value


def _may_hold_secrets(*raw: bytes | None) -> bool:
    """Whether serialised state could contain a secret wrapper (its marker key is in the text).

    Lets load and compact skip secret handling entirely for a state that has no secrets.
    """
    return any(chunk is not None and (_SIG_KEY_BYTES in chunk or _SECRET_FLAG_BYTES in chunk) for chunk in raw)


_SIG_KEY_BYTES = json.dumps(SIG_KEY).encode()
_SECRET_FLAG_BYTES = json.dumps(_SECRET_FLAG).encode()


# ----------------------------------------------------------------------------------------------- the store


@dataclass
class _Replay:
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


class _PlaintextScan:
    """``json.loads`` object hook that notes whether any secret wrapper is stored in plaintext."""

    def __init__(self) -> None:
        self.found = False

    def __call__(self, value: dict[str, Any]) -> dict[str, Any]:
        if "value" in value and _secret_marker(value) is not None:
            self.found = True
        return value


class StateStore:
    """Snapshot, journal and lock of one environment's state.

    Reading (:meth:`load`) needs no lock. Every write — :meth:`begin`, :meth:`succeed`, :meth:`fail`,
    :meth:`set_outputs`, :meth:`set_blueprint`, :meth:`compact` — must happen inside ``with
    store.lock(command):``. Journal methods are thread-safe: apply runs steps in parallel threads.

    Args:
        state_dir: the state directory (``./.mlplatform`` by default; the CLI resolves it).
        env: the environment's name.

    Raises:
        InvalidEnvNameError: ``env`` is not a valid environment name (it becomes a directory name).
    """

    def __init__(self, state_dir: Path, env: str) -> None:
        self.env = check_env_name(env)
        self.state_dir = Path(state_dir)
        self.dir = self.state_dir / "stacks" / env
        self.snapshot_path = self.dir / "state.json"
        self.backup_path = self.dir / "state.json.bak"
        self.journal_path = self.dir / "journal.jsonl"
        self.lock_path = self.dir / "lock.json"
        self.secrets = SecretsKey(self.dir / "secrets.key")
        self.plaintext_secrets = os.environ.get(PLAINTEXT_SECRETS_ENV, "").lower() in ("1", "true", "yes")
        self.notes: list[str] = []
        """Things that happened on the way, for the CLI to show (a stale lock taken over, a torn line cut)."""
        self._append_lock = threading.Lock()
        self._lock_info: LockInfo | None = None
        self._journal_fd: int | None = None
        self._base: tuple[str, int] | None = None  # (lineage, serial) the journal is being written on
        self._inflight: dict[str, tuple[str, str]] = {}  # op_id -> (op, urn) begun by this store
        self._loaded_pending: dict[str, tuple[str, str]] = {}  # the same for pending ops seen by load()
        self._fresh_lineage = str(uuid.uuid4())  # lineage of this env if it has no state yet

    # ------------------------------------------------------------------------------------------- lock

    @contextlib.contextmanager
    def lock(self, command: str) -> Iterator[LockInfo]:
        """Hold the environment's lock for the duration of a ``with`` block.

        Acquisition is atomic (a fully written temp file hard-linked to ``lock.json``, which fails if the
        name exists) and never waits. A lock left by a process that is gone — same host, pid not running,
        or the pid now belongs to another process — is taken over, with a line in :attr:`notes`. The lock
        is released when the block exits, also on exceptions and ``KeyboardInterrupt``.

        Args:
            command: what this run is, for the message another run will see (e.g. ``"up"``).

        Yields:
            this run's lock record.

        Raises:
            StateLockedError: another run holds the lock; the message names it and how to clear it.
        """
        info = self._acquire(command)
        try:
            yield info
        finally:
            self._release(info)

    def force_unlock(self) -> LockInfo | None:
        """Remove the lock whoever holds it (``mlplatform unlock``).

        Returns:
            the removed lock's holder (fields ``unknown`` when the file was unreadable), or ``None`` when
            the environment was not locked.
        """
        with self._guard():
            holder = self._read_lock()
            try:
                os.unlink(self.lock_path)
            except FileNotFoundError:
                return None
            _fsync_dir(self.dir)
        return holder or _UNREADABLE_LOCK

    def lock_holder(self) -> LockInfo | None:
        """The current lock holder, if any (unreadable lock files give a record with ``unknown`` fields)."""
        if not self.lock_path.exists():
            return None
        return self._read_lock() or _UNREADABLE_LOCK

    def _acquire(self, command: str) -> LockInfo:
        if self._lock_info is not None:
            raise RuntimeError(f"this StateStore already holds the lock of {self.env!r}")
        self.dir.mkdir(parents=True, exist_ok=True)
        pid = os.getpid()
        stat = _proc_stat(pid)
        info = LockInfo(
            pid=pid,
            host=socket.gethostname(),
            user=_user(),
            command=command,
            started_at=_now(),
            lock_id=uuid.uuid4().hex,
            process_start=stat[1] if stat else None,
        )
        payload = (json.dumps(info.to_dict(), indent=2) + "\n").encode()
        with self._guard():
            # Under the guard no other acquirer is between its temp file and its link, so any leftover
            # temp file is from a crash and can go.
            for leftover in self.dir.glob(".lock.json.*.tmp"):
                leftover.unlink(missing_ok=True)
            tmp = self.dir / f".lock.json.{info.lock_id}.tmp"
            _write_new_file(tmp, payload)
            try:
                for attempt in (1, 2):
                    try:
                        os.link(tmp, self.lock_path)
                        break
                    except FileExistsError:
                        holder = self._read_lock()
                        if attempt == 1 and holder is not None and not _holder_alive(holder):
                            os.unlink(self.lock_path)
                            self.notes.append(
                                f"took over the lock of environment {self.env!r} left by {holder.describe()}: "
                                "that process is no longer running (it was killed or crashed)."
                            )
                            continue
                        raise self._locked_error(holder) from None
            finally:
                os.unlink(tmp)
            _fsync_dir(self.dir)
        self._lock_info = info
        return info

    def _release(self, info: LockInfo) -> None:
        self._close_journal()
        self._lock_info = None
        self._inflight.clear()
        with self._guard():
            holder = self._read_lock()
            if holder is not None and holder.lock_id == info.lock_id:
                os.unlink(self.lock_path)
                _fsync_dir(self.dir)
            else:
                # Someone ran `mlplatform unlock` while this run held the lock: their lock (if any)
                # is not ours to remove.
                self.notes.append(f"the lock of environment {self.env!r} was removed while this run held it.")

    def _read_lock(self) -> LockInfo | None:
        try:
            return LockInfo.from_dict(json.loads(self.lock_path.read_bytes()))
        except FileNotFoundError:
            return None
        except (ValueError, KeyError, TypeError):
            return None

    def _locked_error(self, holder: LockInfo | None) -> StateLockedError:
        unlock = f"mlplatform unlock --env {self.env}"
        if holder is None:
            return StateLockedError(
                f"environment {self.env!r} is locked, but {self.lock_path} cannot be read.",
                hint=f"If no other run is using this environment, clear the lock with: {unlock}",
            )
        where = (
            f"pid {holder.pid} is still running on this host"
            if holder.host == socket.gethostname()
            else f"the lock was taken on host {holder.host}, so mlplatform cannot check whether that run is alive"
        )
        return StateLockedError(
            f"environment {self.env!r} is locked by another run: {holder.describe()}.",
            hint=f"Wait for it to finish ({where}). If it is no longer running, clear the lock with: {unlock}",
            holder=holder.to_dict(),
        )

    @contextlib.contextmanager
    def _guard(self) -> Iterator[None]:
        # A short flock on the env directory serialises lock acquisition, stale-lock takeover, release
        # and force-unlock on this host, so two processes taking over the same stale lock cannot both
        # win. The lock itself is lock.json, which survives the process and shows who holds it.
        self.dir.mkdir(parents=True, exist_ok=True)
        if sys.platform == "win32":
            yield
            return
        fd = os.open(self.dir, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def _require_lock(self, method: str) -> None:
        if self._lock_info is None:
            raise RuntimeError(f"StateStore.{method}() writes state: call it inside `with store.lock(command):`")

    # ------------------------------------------------------------------------------------------- read

    def load(self) -> LoadedState:
        """Read the snapshot and replay the journal written on top of it.

        An environment without state gives an empty snapshot (serial 0) with a new lineage, the same one
        for the life of this store object.

        Returns:
            the state, the operations an earlier run left interrupted, and warnings.

        Raises:
            StateCorruptError: the snapshot or the journal cannot be read (a torn *last* journal line is
                only a warning), or they do not belong together.
        """
        replay = self._replay(decode=True)
        snapshot = self._to_snapshot(replay)
        self._loaded_pending = {operation.op_id: (operation.op, operation.urn) for operation in snapshot.pending}
        # Operations this store has begun are in flight, not interrupted.
        interrupted = [operation for operation in snapshot.pending if operation.op_id not in self._inflight]
        return LoadedState(snapshot=snapshot, interrupted=interrupted, warnings=list(replay.warnings))

    def _to_snapshot(self, replay: _Replay) -> Snapshot:
        try:
            return Snapshot(
                serial=replay.serial,
                lineage=replay.lineage,
                env=self.env,
                blueprint=replay.blueprint,
                last_run=replay.last_run,
                resources=[ResourceState.from_dict(resource) for resource in _dependency_order(replay.resources)],
                outputs=replay.outputs,
                pending=[PendingOperation.from_dict(operation) for operation in replay.pending.values()],
                updated_at=replay.updated_at,
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise self._corrupt(self.snapshot_path, f"a resource or pending operation is malformed: {exc}") from exc

    def _replay(self, *, decode: bool = False) -> _Replay:
        """Snapshot + journal folded together, with secrets decrypted if ``decode``, else as on disk."""
        # Journal first, snapshot second: a reader without the lock racing a compaction then sees either
        # old snapshot + journal, or the new snapshot (whose serial makes the old entries stale) — never
        # the old snapshot with an already truncated journal.
        journal = _read_or_none(self.journal_path) or b""
        raw = _read_or_none(self.snapshot_path)
        if raw is None and self.backup_path.exists():
            raise StateCorruptError(
                f"{self.snapshot_path} is missing but {self.backup_path.name} exists: mlplatform never "
                "leaves state.json missing, so it was deleted. Starting from empty state would create "
                "every resource a second time.",
                hint=f"Restore the previous snapshot: cp {self.backup_path} {self.snapshot_path}",
            )
        # Secrets are decrypted (or checked for plaintext) by a json object hook during parsing — far
        # cheaper than walking every value afterwards — and not at all when no marker is in the text.
        scan = _PlaintextScan()
        hook: Callable[[dict[str, Any]], Any] | None = None
        if _may_hold_secrets(raw, journal):
            hook = functools.partial(_decode_wrapper, key=self.secrets) if decode else scan
        if raw is None:
            replay = _Replay(lineage=self._fresh_lineage, serial=0, snapshot_bytes=None)
        else:
            replay = self._parse_snapshot(raw, hook)
        lineage_known = raw is not None
        lines = journal.split(b"\n")
        tail = lines.pop()  # b"" when the journal ends with a newline, as a complete journal does
        replay.complete_length = len(journal) - len(tail)
        if tail.strip():
            replay.torn = True
            replay.warnings.append(
                f"{self.journal_path}: ignored an incomplete last entry ({len(tail)} bytes; a run was "
                "interrupted while writing it, before the operation it describes started or was recorded)."
            )
        for number, entry in self._parse_journal(lines, hook):
            try:
                if not isinstance(entry, dict):
                    raise ValueError("not a JSON object")
                lineage, serial = entry["lineage"], entry["serial"]
            except (ValueError, KeyError) as exc:
                raise self._corrupt(
                    self.journal_path, f"line {number} is not a valid journal entry ({exc})", line=number
                ) from exc
            if not lineage_known:
                # No snapshot yet: the journal's first entry fixed the lineage of this environment.
                replay.lineage, lineage_known = lineage, True
            if lineage != replay.lineage:
                raise self._corrupt(
                    self.journal_path,
                    f"line {number} belongs to state lineage {lineage}, but {self.snapshot_path.name} is "
                    f"lineage {replay.lineage} (files from different environments were mixed)",
                )
            if serial < replay.serial:
                replay.stale += 1  # already folded into the snapshot
                continue
            if serial > replay.serial:
                raise self._corrupt(
                    self.journal_path,
                    f"line {number} was written on top of serial {serial}, but {self.snapshot_path.name} is "
                    f"serial {replay.serial} (was an older snapshot restored?); replaying it could lose track "
                    "of resources",
                )
            try:
                _apply_entry(replay, entry)
            except (ValueError, KeyError, TypeError) as exc:
                raise self._corrupt(self.journal_path, f"line {number} is malformed ({exc})", line=number) from exc
        replay.plaintext_secrets = scan.found
        return replay

    def _parse_journal(self, lines: list[bytes], hook: Callable[[dict[str, Any]], Any] | None) -> list[tuple[int, Any]]:
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
                    self.journal_path, f"line {number} is not a valid journal entry ({exc})", line=number
                ) from exc
        return parsed

    def _parse_snapshot(self, raw: bytes, hook: Callable[[dict[str, Any]], Any] | None) -> _Replay:
        try:
            doc = json.loads(raw, object_hook=hook)
            if not isinstance(doc, dict):
                raise ValueError("not a JSON object")
            version = doc["version"]
            if not isinstance(version, int) or version > FORMAT_VERSION:
                raise ValueError(f"format version {version!r}: written by a newer mlplatform")
            if doc["env"] != self.env:
                raise ValueError(f"it is the state of environment {doc['env']!r}")
            replay = _replay_of(doc, raw)
        except (ValueError, KeyError, TypeError) as exc:
            raise self._corrupt(self.snapshot_path, str(exc)) from exc
        return replay

    def _corrupt(self, path: Path, problem: str, *, line: int | None = None) -> StateCorruptError:
        if path == self.snapshot_path:
            hint = (
                f"The previous snapshot is {self.backup_path}: inspect it, then restore it with "
                f"cp {self.backup_path} {self.snapshot_path} (changes made after it will need a refresh)."
                if self.backup_path.exists()
                else "There is no backup snapshot; repair the file by hand."
            )
        else:
            hint = f"Moving {path.name} aside falls back to the last snapshot and forgets every operation since it."
            if line is not None:
                hint = f"The entries before line {line} are sound: fix or remove the bad line by hand. {hint}"
        return StateCorruptError(f"{path} is corrupt: {problem}.", hint=hint)

    # ---------------------------------------------------------------------------------------- journal

    def begin(self, op: OpKind, urn: str, type: str, detail: dict[str, Any] | None = None) -> str:
        """Journal an operation *before* the cloud call that performs it (the pending entry).

        Args:
            op: create, update, delete, replace or read.
            urn: the resource acted on.
            type: its type token.
            detail: what is needed to adopt or clean up after a crash — physical name, tags, region.
                Secrets in it are encrypted like everything else.

        Returns:
            the operation's id, for :meth:`succeed` or :meth:`fail`.

        Raises:
            ValueError: ``op`` is not one of the five kinds.
        """
        if op not in OP_KINDS:
            raise ValueError(f"unknown operation {op!r}; expected one of {', '.join(OP_KINDS)}")
        op_id = uuid.uuid4().hex
        entry = {"kind": "begin", "op_id": op_id, "op": op, "urn": urn, "type": type, "detail": detail or {}}
        self._append(entry, "begin", track=(op_id, op, urn))
        return op_id

    def succeed(self, op_id: str, resource: ResourceState | None) -> None:
        """Journal that an operation completed and what the resource is now.

        ``op_id`` may also come from :attr:`LoadedState.interrupted` (an earlier run's operation that the
        engine has adopted). Success on a urn also resolves every older pending operation on that urn. A
        ``resource`` whose urn differs from the operation's renames it in state (an alias).

        Args:
            op_id: from :meth:`begin`.
            resource: the resource after the operation; ``None`` for a delete, or a read that found the
                resource gone.

        Raises:
            ValueError: unknown ``op_id``, or ``resource`` is missing for create/update/replace, or given
                for a delete.
        """
        op, urn = self._operation(op_id)
        if resource is None and op in ("create", "update", "replace"):
            raise ValueError(f"succeed({op_id!r}) of a {op} needs the resource")
        if resource is not None and op == "delete":
            raise ValueError(f"succeed({op_id!r}) of a delete takes resource=None")
        body = None if resource is None else resource.to_dict()
        entry = {"kind": "succeed", "op_id": op_id, "op": op, "urn": urn, "resource": body}
        self._append(entry, "succeed", done=op_id)

    def fail(self, op_id: str, error: str) -> None:
        """Journal that an operation failed; state keeps the resource as it was.

        Also the way to resolve an interrupted operation that turned out to have changed nothing.

        Args:
            op_id: from :meth:`begin` or :attr:`LoadedState.interrupted`.
            error: the error, for the record.

        Raises:
            ValueError: unknown ``op_id``.
        """
        op, urn = self._operation(op_id)
        self._append({"kind": "fail", "op_id": op_id, "op": op, "urn": urn, "error": error}, "fail", done=op_id)

    def set_outputs(self, outputs: dict[str, Any]) -> None:
        """Journal the stack's outputs (they replace the previous ones)."""
        self._append({"kind": "outputs", "outputs": outputs}, "set_outputs")

    def set_blueprint(self, name: str | None) -> None:
        """Journal the blueprint the environment is being deployed with."""
        self._append({"kind": "blueprint", "blueprint": name}, "set_blueprint")

    def set_last_run(self, summary: dict[str, Any]) -> None:
        """Journal how a run ended (see :attr:`Snapshot.last_run`)."""
        self._append({"kind": "run", "run": summary}, "set_last_run")

    def _operation(self, op_id: str) -> tuple[str, str]:
        with self._append_lock:
            known = self._inflight.get(op_id) or self._loaded_pending.get(op_id)
        if known is not None:
            return known
        pending = self._replay().pending.get(op_id)
        if pending is None:
            raise ValueError(f"unknown or already completed operation {op_id!r}")
        return str(pending["op"]), str(pending["urn"])

    def _append(
        self,
        entry: dict[str, Any],
        method: str,
        *,
        track: tuple[str, str, str] | None = None,
        done: str | None = None,
    ) -> None:
        self._require_lock(method)
        entry["time"] = _now()
        # Encrypt outside the lock: it is the slow part, and parallel steps should not queue behind it.
        body = encode_secrets(entry, None if self.plaintext_secrets else self.secrets)
        with self._append_lock:
            fd = self._open_journal()
            assert self._base is not None
            lineage, serial = self._base
            line = json.dumps({"serial": serial, "lineage": lineage, **body}, separators=(",", ":")) + "\n"
            try:
                _write_all(fd, line.encode())
                os.fsync(fd)
            except BaseException:
                # A partial line may be on disk: reopen (which cuts the torn tail) before the next append.
                self._close_journal()
                raise
            if track is not None:
                self._inflight[track[0]] = (track[1], track[2])
            if done is not None:
                self._inflight.pop(done, None)
                self._loaded_pending.pop(done, None)

    def _open_journal(self) -> int:
        """The journal's append descriptor; on first use, repair the tail and learn the base serial."""
        if self._journal_fd is not None:
            return self._journal_fd
        replay = self._replay()
        self.notes.extend(warning for warning in replay.warnings if warning not in self.notes)
        self.dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.journal_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, _FILE_MODE)
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
            _fsync_dir(self.dir)
        except BaseException:
            os.close(fd)
            raise
        self._journal_fd = fd
        self._base = (replay.lineage, replay.serial)
        return fd

    def _close_journal(self) -> None:
        if self._journal_fd is not None:
            fd, self._journal_fd = self._journal_fd, None
            self._base = None
            with contextlib.suppress(OSError):
                os.close(fd)

    # ---------------------------------------------------------------------------------------- compact

    def compact(self) -> Snapshot:
        """Fold the journal into a new snapshot (serial + 1, same lineage) and truncate the journal.

        The previous ``state.json`` is copied to ``state.json.bak`` first; the new one is written to a
        temporary file, fsynced and moved into place with ``os.replace``. Unresolved pending operations
        are kept in the snapshot's ``pending`` list so the next run still sees them. With nothing in the
        journal, nothing is written (the backup keeps the last real change).

        Returns:
            the snapshot now on disk.

        Raises:
            StateLockedError: the lock was removed (``mlplatform unlock``) while this run held it — the
                journal keeps every change, but this run no longer owns the environment.
        """
        self._require_lock("compact")
        with self._append_lock:  # no entry may land between the read below and the truncation
            replay = self._replay()
            if not replay.applied:
                if replay.stale or replay.torn:
                    self._open_journal()  # cuts stale entries / a torn tail
                return self._to_snapshot(replay)
            holder = self._read_lock()
            if holder is None or self._lock_info is None or holder.lock_id != self._lock_info.lock_id:
                raise self._locked_error(holder)
            now = _now()
            resources = [
                ResourceState.from_dict(resource).to_dict() for resource in _dependency_order(replay.resources)
            ]
            doc = {
                "version": FORMAT_VERSION,
                "serial": replay.serial + 1,
                "lineage": replay.lineage,
                "env": self.env,
                "blueprint": replay.blueprint,
                "last_run": replay.last_run,
                "updated_at": now,
                "outputs": replay.outputs,
                "pending": list(replay.pending.values()),
                "resources": resources,
            }
            if replay.plaintext_secrets and not self.plaintext_secrets:
                # Written while the opt-in was on (it is off now): encrypt them before they are rewritten.
                doc = encode_secrets(doc, self.secrets)
            for leftover in self.dir.glob(".state.json.*.tmp"):  # also matches .state.json.bak.*.tmp
                leftover.unlink(missing_ok=True)  # from a compaction that crashed; we hold the lock
            tmp = self.dir / f".state.json.{uuid.uuid4().hex}.tmp"
            data = _dump_snapshot(doc)
            _write_new_file(tmp, data)
            if replay.snapshot_bytes is not None:
                # The backup is the previous file itself, hard-linked: no copy to write and fsync, and
                # it is exactly the bytes that were on disk.
                backup_tmp = self.dir / f".state.json.bak.{uuid.uuid4().hex}.tmp"
                os.link(self.snapshot_path, backup_tmp)
                os.replace(backup_tmp, self.backup_path)
                # After a compaction that crashed between these two renames, the backup already is a link
                # to state.json, and rename() between two links of one file does nothing: drop the temp.
                backup_tmp.unlink(missing_ok=True)
            os.replace(tmp, self.snapshot_path)
            _fsync_dir(self.dir)
            # From here the snapshot contains every entry; a crash before the truncation below leaves
            # entries with the old serial, which load() skips.
            if self._journal_fd is None:
                self._journal_fd = os.open(self.journal_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, _FILE_MODE)
            os.ftruncate(self._journal_fd, 0)
            os.fsync(self._journal_fd)
            self._base = (replay.lineage, replay.serial + 1)
            # What was written, read back with secrets decrypted (a parse with the decoding hook is
            # cheaper than walking the document).
            hook = functools.partial(_decode_wrapper, key=self.secrets) if _may_hold_secrets(data) else None
            return self._to_snapshot(_replay_of(json.loads(data, object_hook=hook), None))


# ------------------------------------------------------------------------------------------------ helpers


def remembered_blueprint(state_dir: Path, env: str) -> str | None:
    """The blueprint ``env`` was last deployed with, when it has resources in state (reads only, no lock).

    Cheap enough for every command (``validate`` and ``export`` use it too): one rule decides an
    environment's blueprint, and this is its third step.
    """
    snapshot = StateStore(state_dir, env).load().snapshot
    return snapshot.blueprint if snapshot.resources else None


def _replay_of(doc: dict[str, Any], raw: bytes | None) -> _Replay:
    """A replay holding just the snapshot ``doc`` (parsed from ``raw``)."""
    replay = _Replay(lineage=str(doc["lineage"]), serial=int(doc["serial"]), snapshot_bytes=raw)
    replay.blueprint = doc.get("blueprint")
    replay.last_run = doc.get("last_run")
    replay.outputs = doc.get("outputs") or {}
    replay.updated_at = doc.get("updated_at")
    for resource in doc.get("resources") or []:
        replay.resources[resource["urn"]] = resource
    for operation in doc.get("pending") or []:
        replay.pending[operation["op_id"]] = operation
    return replay


def _apply_entry(replay: _Replay, entry: dict[str, Any]) -> None:
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
        for op_id in [op_id for op_id, pending in replay.pending.items() if pending["urn"] in urns]:
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


def _dependency_order(resources: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Resources ordered so each follows its parent, provider and dependencies; otherwise stable.

    The journal appends in completion order, which already respects dependencies for creates, but an
    update can add a dependency on a resource created later (and a recreated resource moves to the end).
    """

    def edges(resource: dict[str, Any]) -> list[str]:
        found = [resource.get("parent"), *(resource.get("dependencies") or [])]
        for deps in (resource.get("property_dependencies") or {}).values():
            found.extend(deps)
        provider = resource.get("provider")
        if provider:
            # A provider reference is "<urn>::<id>".
            found.append(provider if provider in resources else provider.rsplit("::", 1)[0])
        return [urn for urn in found if urn in resources]

    ordered: list[dict[str, Any]] = []
    done: set[str] = set()
    for start in resources:
        if start in done:
            continue
        # Iterative depth-first search: long dependency chains must not hit the recursion limit.
        stack = [(start, iter(edges(resources[start])))]
        visiting = {start}
        while stack:
            urn, pending = stack[-1]
            for dep in pending:
                if dep not in done and dep not in visiting:  # `visiting`: a cycle (invalid) must not loop
                    visiting.add(dep)
                    stack.append((dep, iter(edges(resources[dep]))))
                    break
            else:
                stack.pop()
                visiting.discard(urn)
                done.add(urn)
                ordered.append(resources[urn])
    return ordered


def _dump_snapshot(doc: dict[str, Any]) -> bytes:
    # One resource per line: readable and diffable, and several times faster than indent=2, which
    # makes the json module fall back to its pure-Python encoder.
    head = {name: value for name, value in doc.items() if name != "resources"}
    resources = ",\n".join(json.dumps(resource, separators=(",", ":")) for resource in doc["resources"])
    return (json.dumps(head, separators=(",", ":"))[:-1] + ',"resources":[\n' + resources + "\n]}\n").encode()


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _write_new_file(path: Path, data: bytes) -> None:
    """Create ``path`` (must not exist) with ``data``, durably."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, _FILE_MODE)
    try:
        _write_all(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    # A rename or a new file is durable only once the directory entry is: fsync the directory.
    if sys.platform == "win32":
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _read_or_none(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry and no USER variable (some containers)
        return str(os.getuid()) if hasattr(os, "getuid") else "unknown"


def _proc_stat(pid: int) -> tuple[str, str] | None:
    """(state letter, start time in clock ticks since boot) of ``pid`` from Linux ``/proc``, or ``None``."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may contain spaces or ')': split after the last.
    rest = raw[raw.rfind(")") + 2 :].split()
    return (rest[0], rest[19]) if len(rest) > 19 else None


def _holder_alive(holder: LockInfo) -> bool:
    """Whether the lock's holder may still be running; ``True`` whenever that cannot be ruled out."""
    if holder.host != socket.gethostname() or holder.pid <= 0 or sys.platform == "win32":
        return True  # another machine's pid means nothing here; on Windows os.kill(pid, 0) would kill
    try:
        os.kill(holder.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by another user
    stat = _proc_stat(holder.pid)
    if stat is not None:
        state, started = stat
        if state in ("Z", "X"):
            return False  # killed and not yet reaped by its parent: it will never release the lock
        if holder.process_start is not None and started != holder.process_start:
            return False  # the pid was reused by a process started after the holder died
    return True
