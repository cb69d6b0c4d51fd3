"""The embedded engine's state: a versioned JSON snapshot, an append-only journal and a lock per environment.

:class:`StateStore` (:mod:`.store`) is the entry point; :mod:`.model` holds the data and file format,
:mod:`.journal` the append-only journal, :mod:`.lock` the environment lock, :mod:`.secrets` the encryption
of secret values. The names below are what the engine and the CLI use.
"""

from mlplatform.engine.embedded.state.lock import LockInfo
from mlplatform.engine.embedded.state.model import (
    FORMAT_VERSION,
    LoadedState,
    PendingOperation,
    ResourceState,
    Snapshot,
    replaced_resources,
)
from mlplatform.engine.embedded.state.secrets import PLAINTEXT_SECRETS_ENV
from mlplatform.engine.embedded.state.store import StateStore, remembered_blueprint

__all__ = [
    "FORMAT_VERSION",
    "PLAINTEXT_SECRETS_ENV",
    "LoadedState",
    "LockInfo",
    "PendingOperation",
    "ResourceState",
    "Snapshot",
    "StateStore",
    "remembered_blueprint",
    "replaced_resources",
]
