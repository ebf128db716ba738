"""Shared pytest set-up for the examples: keep ``-n 2`` (pytest-xdist) working.

pytest-benchmark, when installed, warns at start-up that it disables itself under xdist, and the
project's ``filterwarnings = ["error"]`` turns that into an INTERNALERROR before any test runs.
That warning says nothing about the code under test, so it alone is ignored here.
"""

from __future__ import annotations

import pytest


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "filterwarnings", "ignore:Benchmarks are automatically disabled:Warning"
    )
