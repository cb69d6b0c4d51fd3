"""Writing files so that a crash, Ctrl-C or a concurrent run never leaves half of one.

Every file mlplatform writes for the user (environment files, ``.gitignore``, the emulator's record, caches,
state snapshots) goes through :func:`atomic_write`: the bytes are written to a temporary file in the same
directory, fsynced, and moved over the target with ``os.replace``, which POSIX makes atomic, so a reader
sees the old file or the new one, never a mix. :func:`fsync_dir` then makes the rename itself durable.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path


def atomic_write(path: Path, data: str | bytes, *, mode: int | None = None, durable: bool = True) -> None:
    """Replace ``path`` with ``data`` atomically.

    Args:
        path: the file to write; its directory is created when missing.
        data: text (written as UTF-8) or bytes.
        mode: permission bits of the new file; ``None`` follows the umask like any other new file
            (``mkstemp`` alone would make it 0600).
        durable: fsync the file and its directory, so the new content survives a power loss. Caches that
            can be rebuilt may skip it.

    Raises:
        OSError: the directory cannot be created or written; the target is left as it was.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, mode if mode is not None else 0o666 & ~_UMASK)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data.encode("utf-8") if isinstance(data, str) else data)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    if durable:
        fsync_dir(path.parent)


def fsync_dir(path: Path) -> None:
    """Make a rename or a new entry in directory ``path`` durable (a no-op where directories cannot be opened)."""
    if sys.platform == "win32":
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _read_umask() -> int:
    # os.umask can only be read by setting it. Read once, at import (before any thread of ours runs), so that
    # no concurrent file creation ever sees the temporary value.
    current = os.umask(0o022)
    os.umask(current)
    return current


_UMASK = _read_umask()
