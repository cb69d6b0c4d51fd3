"""The state store: one environment's snapshot, journal, lock and secrets key, tied together.

Per environment::

    <state_dir>/stacks/<env>/state.json       the snapshot: serial, lineage, resources in dependency order
    <state_dir>/stacks/<env>/state.json.bak   the snapshot before the last compaction
    <state_dir>/stacks/<env>/journal.jsonl    operations since that snapshot, one JSON object per line
    <state_dir>/stacks/<env>/lock.json        who holds the environment: pid, host, user, command, start time
    <state_dir>/stacks/<env>/secrets.key      Fernet key for secret values (mode 0600, created on first use)

Written the way a database writes (Terraform's ``statemgr``, Pulumi's snapshot manager). The parts live in
their own modules — :mod:`.model` (the data and file format), :mod:`.journal` (entries, append, replay),
:mod:`.lock` (``lock.json``), :mod:`.secrets` (encryption) — and :class:`StateStore` is what the engine uses.

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
import json
import os
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from mlplatform.engine.embedded.state.files import now, read_or_none, write_new_file
from mlplatform.engine.embedded.state.journal import Hook, JournalFile, Replay, replay_of
from mlplatform.engine.embedded.state.lock import EnvLock, LockInfo
from mlplatform.engine.embedded.state.model import (
    FORMAT_VERSION,
    OP_KINDS,
    LoadedState,
    OpKind,
    PendingOperation,
    ResourceState,
    Snapshot,
    check_format_version,
    dependency_order,
    dump_snapshot,
)
from mlplatform.engine.embedded.state.secrets import (
    PLAINTEXT_SECRETS_ENV,
    PlaintextScan,
    SecretsKey,
    decode_wrapper,
    encode_secrets,
    may_hold_secrets,
)
from mlplatform.errors import StateCorruptError
from mlplatform.fileio import fsync_dir
from mlplatform.spec.names import check_env_name


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
        self._journal = JournalFile(self.journal_path, self._corrupt)
        self._env_lock = EnvLock(self.dir, self.env, self.notes)
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
        return self._env_lock.force_unlock()

    def lock_holder(self) -> LockInfo | None:
        """The current lock holder, if any (unreadable lock files give a record with ``unknown`` fields)."""
        return self._env_lock.holder()

    def _acquire(self, command: str) -> LockInfo:
        if self._lock_info is not None:
            raise RuntimeError(f"this StateStore already holds the lock of {self.env!r}")
        self._lock_info = self._env_lock.acquire(command)
        return self._lock_info

    def _release(self, info: LockInfo) -> None:
        self._journal.close()
        self._lock_info = None
        self._inflight.clear()
        self._env_lock.release(info)

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

    def _to_snapshot(self, replay: Replay) -> Snapshot:
        try:
            return Snapshot(
                serial=replay.serial,
                lineage=replay.lineage,
                env=self.env,
                blueprint=replay.blueprint,
                last_run=replay.last_run,
                resources=[ResourceState.from_dict(resource) for resource in dependency_order(replay.resources)],
                outputs=replay.outputs,
                pending=[PendingOperation.from_dict(operation) for operation in replay.pending.values()],
                updated_at=replay.updated_at,
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise self._corrupt(self.snapshot_path, f"a resource or pending operation is malformed: {exc}") from exc

    def _replay(self, *, decode: bool = False) -> Replay:
        """Snapshot + journal folded together, with secrets decrypted if ``decode``, else as on disk."""
        # Journal first, snapshot second: a reader without the lock racing a compaction then sees either
        # old snapshot + journal, or the new snapshot (whose serial makes the old entries stale) — never
        # the old snapshot with an already truncated journal.
        journal = self._journal.read()
        raw = read_or_none(self.snapshot_path)
        if raw is None and self.backup_path.exists():
            raise StateCorruptError(
                f"{self.snapshot_path} is missing but {self.backup_path.name} exists: mlplatform never "
                "leaves state.json missing, so it was deleted. Starting from empty state would create "
                "every resource a second time.",
                hint=f"Restore the previous snapshot: cp {self.backup_path} {self.snapshot_path}",
            )
        # Secrets are decrypted (or checked for plaintext) by a json object hook during parsing — far
        # cheaper than walking every value afterwards — and not at all when no marker is in the text.
        scan = PlaintextScan()
        hook: Hook | None = None
        if may_hold_secrets(raw, journal):
            hook = functools.partial(decode_wrapper, key=self.secrets) if decode else scan
        if raw is None:
            replay = Replay(lineage=self._fresh_lineage, serial=0, snapshot_bytes=None)
        else:
            replay = self._parse_snapshot(raw, hook)
        self._journal.fold(replay, journal, hook, lineage_known=raw is not None, snapshot_name=self.snapshot_path.name)
        replay.plaintext_secrets = scan.found
        return replay

    def _parse_snapshot(self, raw: bytes, hook: Hook | None) -> Replay:
        try:
            doc = json.loads(raw, object_hook=hook)
            if not isinstance(doc, dict):
                raise ValueError("not a JSON object")
            check_format_version(doc["version"])
            if doc["env"] != self.env:
                raise ValueError(f"it is the state of environment {doc['env']!r}")
            replay = replay_of(doc, raw)
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
            op: create, update, delete, replace, read or discard (the old half of a replacement).
            urn: the resource acted on.
            type: its type token.
            detail: what is needed to adopt or clean up after a crash — physical name, tags, region.
                Secrets in it are encrypted like everything else.

        Returns:
            the operation's id, for :meth:`succeed` or :meth:`fail`.

        Raises:
            ValueError: ``op`` is not one of the six kinds.
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
        if resource is not None and op in ("delete", "discard"):
            raise ValueError(f"succeed({op_id!r}) of a {op} takes resource=None")
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
        entry["time"] = now()
        # Encrypt outside the lock: it is the slow part, and parallel steps should not queue behind it.
        body = encode_secrets(entry, None if self.plaintext_secrets else self.secrets)
        with self._append_lock:
            self._open_journal()
            self._journal.append(body)
            if track is not None:
                self._inflight[track[0]] = (track[1], track[2])
            if done is not None:
                self._inflight.pop(done, None)
                self._loaded_pending.pop(done, None)

    def _open_journal(self) -> None:
        """Open the journal for appending; on first use, repair the tail and learn the base serial."""
        if self._journal.is_open:
            return
        replay = self._replay()
        self.notes.extend(warning for warning in replay.warnings if warning not in self.notes)
        self._journal.open(replay)

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
            holder = self._env_lock.read()
            if holder is None or self._lock_info is None or holder.lock_id != self._lock_info.lock_id:
                raise self._env_lock.locked_error(holder)
            written_at = now()
            resources = [ResourceState.from_dict(resource).to_dict() for resource in dependency_order(replay.resources)]
            doc = {
                "version": FORMAT_VERSION,
                "serial": replay.serial + 1,
                "lineage": replay.lineage,
                "env": self.env,
                "blueprint": replay.blueprint,
                "last_run": replay.last_run,
                "updated_at": written_at,
                "outputs": replay.outputs,
                "pending": list(replay.pending.values()),
                "resources": resources,
            }
            if replay.plaintext_secrets and not self.plaintext_secrets:
                # Written while the opt-in was on (it is off now): encrypt them before they are rewritten.
                doc = encode_secrets(doc, self.secrets)
            for leftover in self.dir.glob(".state.json.*.tmp"):  # also matches .state.json.bak.*.tmp
                leftover.unlink(missing_ok=True)  # from a compaction that crashed; we hold the lock
            # Not fileio.atomic_write: the backup may only be taken once the new snapshot is durable in its
            # temporary file (a failed write, e.g. a full disk, must not cost the previous backup), so the
            # write, the hard-linked backup and the rename are three separate steps here.
            tmp = self.dir / f".state.json.{uuid.uuid4().hex}.tmp"
            data = dump_snapshot(doc)
            write_new_file(tmp, data)
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
            fsync_dir(self.dir)
            # From here the snapshot contains every entry; a crash before the truncation below leaves
            # entries with the old serial, which load() skips.
            self._journal.truncate((replay.lineage, replay.serial + 1))
            # What was written, read back with secrets decrypted (a parse with the decoding hook is
            # cheaper than walking the document).
            hook = functools.partial(decode_wrapper, key=self.secrets) if may_hold_secrets(data) else None
            return self._to_snapshot(replay_of(json.loads(data, object_hook=hook), None))


def remembered_blueprint(state_dir: Path, env: str) -> str | None:
    """The blueprint ``env`` was last deployed with, when it has resources in state (reads only, no lock).

    Cheap enough for every command (``validate`` and ``export`` use it too): one rule decides an
    environment's blueprint, and this is its third step.
    """
    snapshot = StateStore(state_dir, env).load().snapshot
    return snapshot.blueprint if snapshot.resources else None
