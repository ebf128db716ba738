"""pytest wiring: the ``durable_env`` fixture (options, markers and reports grow here)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .fixtures import DurableEnvironment


@pytest.fixture
def durable_env() -> Iterator[DurableEnvironment]:
    """A fresh :class:`DurableEnvironment` for each test."""
    env = DurableEnvironment()
    try:
        yield env
    finally:
        env.close()
