"""Integration fixtures: one real moto server process per test session."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest

from tests.integration.harness import moto_server


@pytest.fixture(scope="session")
def endpoint() -> Iterator[str]:
    with moto_server() as url:
        yield url


@pytest.fixture(autouse=True)
def _collect_abandoned_pulumi_programs() -> Iterator[None]:
    """After each test, collect what a Pulumi run stopped early left behind, at a safe point.

    A test's stack object keeps an early-stopped inline program's coroutine alive until the test ends; if the
    collector met it later, inside a ``compile`` (pytest rewrites modules it imports), CPython 3.11.7 would crash
    that compile (see ``mlplatform.engine.pulumi.engine.collect_abandoned_programs``).
    """
    yield
    if "pulumi.automation" in sys.modules:
        from mlplatform.engine.pulumi.engine import collect_abandoned_programs

        collect_abandoned_programs()
