"""Durable file primitives the state modules share: whole writes, new files, reads that may miss, timestamps.

State files may hold secrets in plaintext when the user opts in, so every file created here is mode 0600.
"""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path

FILE_MODE = 0o600  # state may hold plaintext secrets when the user opts in; never world-readable


def write_all(fd: int, data: bytes) -> None:
    """Write all of ``data`` to ``fd`` (``os.write`` may write less than asked)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def write_new_file(path: Path, data: bytes) -> None:
    """Create ``path`` (must not exist) with ``data``, durably.

    Raises:
        FileExistsError: ``path`` exists (``O_EXCL``: two writers never share a temporary file).
    """
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    try:
        write_all(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def read_or_none(path: Path) -> bytes | None:
    """The bytes of ``path``, or ``None`` when it does not exist."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def now() -> str:
    """The current time, UTC, ISO 8601 with milliseconds and a ``Z``."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
