"""Fixtures shared by every test directory: environments that are always closed."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import settings

from pytest_durable import DurableEnvironment

# The suite's properties check behaviour, not speed: a loaded machine (CI runs the suite on two
# workers) must not fail an example on Hypothesis's 200 ms per-example deadline.
settings.register_profile("suite", deadline=None)
settings.load_profile("suite")

START = datetime(2030, 1, 1, tzinfo=UTC)
"""Every test environment's virtual clock starts here, so expected times read plainly."""


@pytest.fixture
def make_env() -> Iterator[Callable[..., DurableEnvironment]]:
    """Build environments with any options; all of them are closed after the test."""
    made: list[DurableEnvironment] = []

    def make(**kwargs: Any) -> DurableEnvironment:
        kwargs.setdefault("start_time", START)
        env = DurableEnvironment(**kwargs)
        made.append(env)
        return env

    yield make
    for env in made:
        env.close()


@pytest.fixture
def env(make_env: Callable[..., DurableEnvironment]) -> DurableEnvironment:
    """A fresh environment starting at :data:`START`."""
    return make_env()
