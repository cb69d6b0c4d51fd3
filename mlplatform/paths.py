"""Where a project is, and where mlplatform keeps its local files (state, locks, the emulator's records).

The project is found the way git finds a repository: the nearest folder, from the working directory
upwards, that holds ``stacks/``, ``Pulumi.yaml`` or ``.mlplatform/``; the working directory itself when
none does (a new project). So a command run from ``proj/blueprints`` works on ``proj``, instead of
silently starting a second, empty platform with its own emulator.

The state folder has one rule for every command, so that ``mlplatform up`` and ``mlplatform emulator
status`` always look in the same place: the ``--state-dir`` flag wins, then the ``MLPLATFORM_STATE_DIR``
environment variable, then ``.mlplatform`` in the project folder.
"""

from __future__ import annotations

import os
from pathlib import Path

STATE_DIR_ENV = "MLPLATFORM_STATE_DIR"
DEFAULT_STATE_DIR = Path(".mlplatform")


def project_dir(start: Path | None = None) -> Path:
    """The project folder: the nearest folder from ``start`` (default: the working directory) upwards that
    holds ``stacks/``, ``Pulumi.yaml`` or ``.mlplatform/``; ``start`` itself when none does.

    Returns:
        An absolute path.
    """
    here = (start or Path.cwd()).absolute()
    for folder in (here, *here.parents):
        if (folder / "Pulumi.yaml").is_file() or any(
            (folder / name).is_dir() for name in ("stacks", DEFAULT_STATE_DIR.name)
        ):
            return folder
    return here


def state_dir(explicit: Path | None) -> Path:
    """Resolve the state directory; it is not created here.

    Args:
        explicit: the value of a ``--state-dir`` flag, or ``None`` when the flag was not given.

    Returns:
        An absolute path (``~`` expanded), so that a later ``chdir`` or a child process started in
        another directory still finds the same files. An empty ``MLPLATFORM_STATE_DIR`` counts as unset.
        A relative flag or variable is relative to the working directory, like any other path argument.
    """
    if explicit is not None:
        chosen = explicit
    elif os.environ.get(STATE_DIR_ENV):
        chosen = Path(os.environ[STATE_DIR_ENV])
    else:
        return project_dir() / DEFAULT_STATE_DIR
    return chosen.expanduser().absolute()
