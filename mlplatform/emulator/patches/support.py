"""What every patch module uses to add to a moto class without overriding what a newer moto has."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def add_missing(cls: type, **methods: Callable[..., Any]) -> None:
    """Add methods a moto class lacks; a moto release that implements one itself keeps its own."""
    for name, method in methods.items():
        if not hasattr(cls, name):
            setattr(cls, name, method)
