"""atomic_write: the old file or the new one, never a mix, and no temporary files left behind."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from mlplatform import fileio


def test_writes_text_and_bytes_and_creates_the_directory(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "file.txt"
    fileio.atomic_write(target, "héllo\n")
    assert target.read_bytes() == "héllo\n".encode()
    fileio.atomic_write(target, b"\x00\x01")
    assert target.read_bytes() == b"\x00\x01"
    assert os.listdir(target.parent) == ["file.txt"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "state.json"
    target.write_text("old", encoding="utf-8")

    def crash(src: str, dst: str) -> None:
        raise KeyboardInterrupt  # Ctrl-C between writing the temporary file and the rename

    monkeypatch.setattr(fileio.os, "replace", crash)
    with pytest.raises(KeyboardInterrupt):
        fileio.atomic_write(target, "new")
    assert target.read_text(encoding="utf-8") == "old"
    assert os.listdir(tmp_path) == ["state.json"]


def test_mode_is_the_one_asked_for_or_follows_the_umask(tmp_path: Path) -> None:
    fileio.atomic_write(tmp_path / "secret", "x", mode=0o600)
    assert stat.S_IMODE((tmp_path / "secret").stat().st_mode) == 0o600
    fileio.atomic_write(tmp_path / "plain", "x")
    # mkstemp alone would give 0600; a config file is as readable as any other file the user creates.
    assert stat.S_IMODE((tmp_path / "plain").stat().st_mode) == 0o666 & ~fileio._UMASK
