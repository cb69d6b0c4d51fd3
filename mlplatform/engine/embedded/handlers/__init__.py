"""Resource handlers, one module per AWS service, and the registry by Pulumi type token."""

from __future__ import annotations

from mlplatform.engine.embedded.handlers import kms, s3
from mlplatform.engine.embedded.handlers.base import Handler

_MODULES = (kms, s3)


def registry() -> dict[str, Handler]:
    """A handler instance per supported resource type."""
    handlers: dict[str, Handler] = {}
    for module in _MODULES:
        for cls in module.HANDLERS:
            handlers[cls.type] = cls()
    return handlers
