"""Property values as the Pulumi wire protocol carries them: unknowns, secrets and their display.

The SDK marks an unknown value (preview: "known after apply") with :data:`UNKNOWN` and a secret with a
signature mapping ``{SIG_KEY: SECRET_SIG, "value": ...}``. The engine keeps both markers end to end —
diffs compare the values inside secrets, renderers print ``[secret]`` and ``(known after apply)``, and
the state store encrypts secrets before they touch the disk.

Numbers cross the wire as protobuf doubles, so a program's ``2`` arrives as ``2.0``; :func:`normalize`
turns integral floats back into ints where values enter the engine (the monitor), so state, plans,
outputs and JSON documents show numbers as the program wrote them.
"""

from __future__ import annotations

from typing import Any

UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
SIG_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
SECRET_MASK = "[secret]"
COMPUTED_MASK = "(known after apply)"  # Terraform's words; documented in docs/plan-json.md


def is_secret(value: Any) -> bool:
    return isinstance(value, dict) and value.get(SIG_KEY) == SECRET_SIG


def secret(value: Any) -> dict[str, Any]:
    """Wrap ``value`` as a secret."""
    return {SIG_KEY: SECRET_SIG, "value": value}


def reveal(value: Any) -> Any:
    """``value`` with every secret replaced by what it hides (for API calls and comparisons)."""
    if is_secret(value):
        return reveal(value["value"])
    if isinstance(value, dict):
        return {key: reveal(item) for key, item in value.items()}
    if isinstance(value, list):
        return [reveal(item) for item in value]
    return value


def mask(value: Any) -> Any:
    """``value`` for display: secrets as ``[secret]``, unknowns as ``(known after apply)``, ``2.0`` as ``2``.

    Integral floats are shown as ints here too (not only by :func:`normalize`): state written before the
    monitor normalised numbers still holds ``2.0``, and it compares equal to ``2`` anyway.
    """
    if is_secret(value):
        return SECRET_MASK
    if value == UNKNOWN:
        return COMPUTED_MASK
    if isinstance(value, float):
        return _number(value)
    if isinstance(value, dict):
        return {key: mask(item) for key, item in value.items()}
    if isinstance(value, list):
        return [mask(item) for item in value]
    return value


def normalize(value: Any) -> Any:
    """A deserialised wire value as plain data: the SDK's ``Unknown`` objects become :data:`UNKNOWN` and
    integral floats become ints (``2.0`` -> ``2``); secret wrappers and everything else are kept.

    ``2.0 == 2`` in Python, so state written before this normalisation compares equal and shows no diff.
    """
    if isinstance(value, float):
        return _number(value)
    if isinstance(value, dict):
        return {key: normalize(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [normalize(item) for item in value]
    # pulumi.output.Unknown (what rpc.deserialize_properties(keep_unknowns=True) returns for an unknown value; not
    # exported at the top level), matched by name so this module needs no SDK import (test_sdk_assumptions.py).
    if type(value).__name__ == "Unknown":
        return UNKNOWN
    return value


def _number(value: float) -> int | float:
    # Beyond 2**53 a double no longer holds every integer, so such a value is not "an int the program wrote".
    return int(value) if value.is_integer() and abs(value) <= 2**53 else value


def contains_unknown(value: Any) -> bool:
    if value == UNKNOWN:
        return True
    if is_secret(value):
        return contains_unknown(value["value"])
    if isinstance(value, dict):
        return any(contains_unknown(item) for item in value.values())
    if isinstance(value, list):
        return any(contains_unknown(item) for item in value)
    return False


def contains_secret(value: Any) -> bool:
    if is_secret(value):
        return True
    if isinstance(value, dict):
        return any(contains_secret(item) for item in value.values())
    if isinstance(value, list):
        return any(contains_secret(item) for item in value)
    return False


def secret_texts(value: Any) -> set[str]:
    """The plaintext strings inside the secrets of ``value`` (what must never be stored unwrapped)."""
    found: set[str] = set()

    def walk(item: Any, inside: bool) -> None:
        if is_secret(item):
            walk(item.get("value"), True)
        elif isinstance(item, dict):
            for nested in item.values():
                walk(nested, inside)
        elif isinstance(item, list):
            for nested in item:
                walk(nested, inside)
        elif inside and isinstance(item, str) and item:
            found.add(item)

    walk(value, False)
    return found


def conceal(value: Any, texts: set[str]) -> Any:
    """``value`` with every string that is one of ``texts`` (or contains one) wrapped as a secret.

    Handlers answer with plaintext: an output that echoes a secret input (``tagsAll``, a policy document
    built from a secret) would otherwise reach the state file unencrypted. Pulumi's engine marks such
    outputs secret by property name; matching the values also catches renamed and derived outputs.
    """
    if not texts or is_secret(value):
        return value
    if isinstance(value, dict):
        return {key: conceal(item, texts) for key, item in value.items()}
    if isinstance(value, list):
        return [conceal(item, texts) for item in value]
    if isinstance(value, str) and any(text in value for text in texts):
        return secret(value)
    return value


def plain(value: Any) -> Any:
    """Values as JSON data: the SDK's ``Unknown`` placeholders (previews) become the unknown marker."""
    if type(value).__name__ == "Unknown":
        return UNKNOWN
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    return value
