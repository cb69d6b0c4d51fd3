"""Resource handlers, one module per AWS service, and the registry by Pulumi type token.

Every module in this package that defines ``HANDLERS`` (a tuple of :class:`Handler` subclasses) is
picked up automatically, so adding a service is adding a module.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

from mlplatform.engine.embedded.handlers.base import Handler


@cache
def _handler_classes() -> dict[str, type[Handler]]:
    classes: dict[str, type[Handler]] = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda item: item.name):
        if info.name in ("base", "common"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        for cls in getattr(module, "HANDLERS", ()):
            if cls.type in classes:
                raise RuntimeError(f"two handlers for {cls.type}: {classes[cls.type]} and {cls}")
            classes[cls.type] = cls
    return classes


def registry() -> dict[str, Handler]:
    """A fresh handler instance per supported resource type."""
    return {type_: cls() for type_, cls in _handler_classes().items()}


def supported_types() -> frozenset[str]:
    return frozenset(_handler_classes())
