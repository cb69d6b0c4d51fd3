"""The helpers every patch module uses: add only what moto lacks, wrap moto's code once, keep what it drops."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any


def add_missing(cls: type, **methods: Callable[..., Any]) -> None:
    """Add methods a moto class lacks; a moto release that implements one itself keeps its own."""
    for name, method in methods.items():
        if not hasattr(cls, name):
            setattr(cls, name, method)


def add_operations(backend: type, response: type, **operations: tuple[Callable[..., Any], Callable[..., Any]]) -> None:
    """Add API operations moto lacks: per operation name, the backend method and the response handler calling it.

    Both go through :func:`add_missing`, so an operation a newer moto implements keeps moto's version.
    """
    add_missing(backend, **{name: method for name, (method, _) in operations.items()})
    add_missing(response, **{name: handler for name, (_, handler) in operations.items()})


def first_time(owner: Any, marker: str) -> bool:
    """True the first time a patch that replaces some of ``owner``'s code asks (and marks ``owner``), then False.

    Such a patch wraps moto's code; applied twice it would wrap its own wrapper, so it asks this first.
    """
    if getattr(owner, marker, False):
        return False
    setattr(owner, marker, True)
    return True


def run_after(response: type, handler: str, keep: Callable[[Any], None]) -> None:
    """Wrap moto's ``response.<handler>`` so that ``keep(self)`` runs after it: to store what moto's handler drops.

    The caller checks first that moto still drops it and that the wrap is not applied yet (:func:`first_time`).
    """
    original = getattr(response, handler)

    def wrapped(self: Any) -> Any:
        result = original(self)
        keep(self)
        return result

    setattr(response, handler, wrapped)


def lacks_parameter(cls: type, parameter: str, marker: str) -> bool:
    """True when moto's ``cls`` takes no ``parameter`` (so drops that setting) and this patch has not run yet.

    A patch that stores a setting moto drops asks this first: a moto release that takes the parameter keeps
    it itself, and the patch stays a no-op.
    """
    return parameter not in inspect.signature(cls).parameters and first_time(cls, marker)
