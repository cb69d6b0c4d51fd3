"""Secret values in state: encrypted on disk with a per-environment Fernet key in ``secrets.key``.

In memory a secret is a wrapper (the engine's ``values.secret`` form, or ``{"__secret__": True, "value":
...}``); on disk its ``value`` becomes a ``ciphertext`` made with the environment's key, unless the user
opted in to plaintext (:data:`PLAINTEXT_SECRETS_ENV`).
"""

from __future__ import annotations

import json
import os
import threading
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlplatform.engine.embedded.state.files import write_new_file
from mlplatform.engine.values import SECRET_SIG, SIG_KEY
from mlplatform.errors import StateCorruptError
from mlplatform.fileio import fsync_dir

if TYPE_CHECKING:
    from cryptography.fernet import Fernet

PLAINTEXT_SECRETS_ENV = "MLPLATFORM_STATE_PLAINTEXT_SECRETS"
"""Set to ``1`` to store secret values unencrypted (the user's explicit opt-in)."""

_SECRET_FLAG = "__secret__"


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
        # (atomic, fails if the name exists — then the other process's key wins). Not
        # fileio.atomic_write: its os.replace would overwrite a key another process has already used.
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{uuid.uuid4().hex}.tmp")
        write_new_file(tmp, key + b"\n")
        try:
            os.link(tmp, self.path)
        except FileExistsError:
            return self.path.read_bytes().strip()
        finally:
            os.unlink(tmp)
        fsync_dir(self.path.parent)
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
        decoded = decode_wrapper(value, key)
        if decoded is not value:
            return decoded
        return {
            name: decode_secrets(item, key) if isinstance(item, (dict, list)) else item for name, item in value.items()
        }
    if isinstance(value, list):
        return [decode_secrets(item, key) if isinstance(item, (dict, list)) else item for item in value]
    return value


def decode_wrapper(value: dict[str, Any], key: SecretsKey) -> dict[str, Any]:
    """``value`` decrypted if it is an encrypted secret wrapper, else ``value`` itself (a json object hook)."""
    if "ciphertext" in value:
        marker = _secret_marker(value)
        if marker is not None:
            return {**marker, "value": key.decrypt(value["ciphertext"])}
    return value


def may_hold_secrets(*raw: bytes | None) -> bool:
    """Whether serialised state could contain a secret wrapper (its marker key is in the text).

    Lets load and compact skip secret handling entirely for a state that has no secrets.
    """
    return any(chunk is not None and (_SIG_KEY_BYTES in chunk or _SECRET_FLAG_BYTES in chunk) for chunk in raw)


_SIG_KEY_BYTES = json.dumps(SIG_KEY).encode()
_SECRET_FLAG_BYTES = json.dumps(_SECRET_FLAG).encode()


class PlaintextScan:
    """``json.loads`` object hook that notes whether any secret wrapper is stored in plaintext."""

    def __init__(self) -> None:
        self.found = False

    def __call__(self, value: dict[str, Any]) -> dict[str, Any]:
        if "value" in value and _secret_marker(value) is not None:
            self.found = True
        return value
