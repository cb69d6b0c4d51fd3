"""The environment lock: ``lock.json`` says which run holds an environment, and goes when the run ends.

Why not :mod:`filelock` for this lock: an OS lock (``flock``) vanishes with its process and records nobody,
but the environment lock must outlive a crash *visibly* — the next run has to say "locked by pid 42 on host
h (user u), running 'up' since ..." and tell a crashed holder (pid gone, or reused by a later process) from
a live one on another machine, and ``mlplatform unlock`` must be able to clear it. So the lock is a file of
ours holding the owner's details, created atomically (a fully written temp file hard-linked to
``lock.json``, which fails if the name exists). Only the short critical sections around it — acquisition,
stale-lock takeover, release, force-unlock — are serialised with a plain :class:`filelock.FileLock`.
"""

from __future__ import annotations

import contextlib
import getpass
import json
import os
import socket
import sys
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import filelock

from mlplatform.engine.embedded.state.files import FILE_MODE, now, write_new_file
from mlplatform.errors import StateLockedError
from mlplatform.fileio import fsync_dir


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
        return {item.name: getattr(self, item.name) for item in fields(self)}

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


UNREADABLE_LOCK = LockInfo(pid=0, host="unknown", user="unknown", command="unknown", started_at="unknown", lock_id="")


GUARD_FILE = ".lock.guard"
"""The :class:`filelock.FileLock` that serialises changes to ``lock.json`` (empty; left in place)."""


class EnvLock:
    """``lock.json`` of one environment: take it, release it, read it, clear it.

    Args:
        directory: the environment's state directory.
        env: the environment's name (for messages).
        notes: where to record what the user should hear about (a stale lock taken over).
    """

    def __init__(self, directory: Path, env: str, notes: list[str]) -> None:
        self.dir = directory
        self.env = env
        self.path = directory / "lock.json"
        self.notes = notes

    def acquire(self, command: str) -> LockInfo:
        """Take the lock for a run of ``command``, never waiting.

        A lock left by a process that is gone — same host, pid not running, or the pid now belongs to
        another process — is taken over, with a line in :attr:`notes`.

        Raises:
            StateLockedError: another run holds the lock; the message names it and how to clear it.
        """
        self.dir.mkdir(parents=True, exist_ok=True)
        pid = os.getpid()
        stat = _proc_stat(pid)
        info = LockInfo(
            pid=pid,
            host=socket.gethostname(),
            user=_user(),
            command=command,
            started_at=now(),
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
            write_new_file(tmp, payload)
            try:
                for attempt in (1, 2):
                    try:
                        os.link(tmp, self.path)
                        break
                    except FileExistsError:
                        holder = self.read()
                        if attempt == 1 and holder is not None and not _holder_alive(holder):
                            os.unlink(self.path)
                            self.notes.append(
                                f"took over the lock of environment {self.env!r} left by {holder.describe()}: "
                                "that process is no longer running (it was killed or crashed)."
                            )
                            continue
                        raise self.locked_error(holder) from None
            finally:
                os.unlink(tmp)
            fsync_dir(self.dir)
        return info

    def release(self, info: LockInfo) -> None:
        """Remove the lock if it is still ``info``'s (else someone cleared it: note that, leave theirs)."""
        with self._guard():
            holder = self.read()
            if holder is not None and holder.lock_id == info.lock_id:
                os.unlink(self.path)
                fsync_dir(self.dir)
            else:
                # Someone ran `mlplatform unlock` while this run held the lock: their lock (if any)
                # is not ours to remove.
                self.notes.append(f"the lock of environment {self.env!r} was removed while this run held it.")

    def force_unlock(self) -> LockInfo | None:
        """Remove the lock whoever holds it: the removed holder (``unknown`` fields if unreadable), or ``None``."""
        with self._guard():
            holder = self.read()
            try:
                os.unlink(self.path)
            except FileNotFoundError:
                return None
            fsync_dir(self.dir)
        return holder or UNREADABLE_LOCK

    def holder(self) -> LockInfo | None:
        """The current holder, if any (an unreadable lock file gives a record with ``unknown`` fields)."""
        if not self.path.exists():
            return None
        return self.read() or UNREADABLE_LOCK

    def read(self) -> LockInfo | None:
        """The recorded holder, or ``None`` when there is no lock file or it cannot be read."""
        try:
            return LockInfo.from_dict(json.loads(self.path.read_bytes()))
        except FileNotFoundError:
            return None
        except (ValueError, KeyError, TypeError):
            return None

    def locked_error(self, holder: LockInfo | None) -> StateLockedError:
        """The error for a run that finds the environment locked by ``holder``."""
        unlock = f"mlplatform unlock --env {self.env}"
        if holder is None:
            return StateLockedError(
                f"environment {self.env!r} is locked, but {self.path} cannot be read.",
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
        # A short OS lock serialises acquisition, stale-lock takeover, release and force-unlock on this host,
        # so two processes taking over the same stale lock cannot both win. Waiting is fine: each holder
        # only reads and links a few small files.
        self.dir.mkdir(parents=True, exist_ok=True)
        with filelock.FileLock(self.dir / GUARD_FILE, mode=FILE_MODE):
            yield


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
