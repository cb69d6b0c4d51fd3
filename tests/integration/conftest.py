"""Integration fixtures: one real moto server process per test session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.harness import moto_server


@pytest.fixture(scope="session")
def endpoint() -> Iterator[str]:
    with moto_server() as url:
        yield url
