"""Where mlplatform keeps its local files (state, locks, the emulator's pid file and log).

One rule for every command, so that ``mlplatform up`` and ``mlplatform emulator status`` always look in
the same place: the ``--state-dir`` flag wins, then the ``MLPLATFORM_STATE_DIR`` environment variable, then
``./.mlplatform`` in the current directory.
"""

from __future__ import annotations

import os
from pathlib import Path

STATE_DIR_ENV = "MLPLATFORM_STATE_DIR"
DEFAULT_STATE_DIR = Path(".mlplatform")


def state_dir(explicit: Path | None) -> Path:
    """Resolve the state directory; it is not created here.

    Args:
        explicit: the value of a ``--state-dir`` flag, or ``None`` when the flag was not given.

    Returns:
        An absolute path (``~`` expanded), so that a later ``chdir`` or a child process started in
        another directory still finds the same files. An empty ``MLPLATFORM_STATE_DIR`` counts as unset.
    """
    if explicit is not None:
        chosen = explicit
    elif os.environ.get(STATE_DIR_ENV):
        chosen = Path(os.environ[STATE_DIR_ENV])
    else:
        chosen = DEFAULT_STATE_DIR
    return chosen.expanduser().absolute()
