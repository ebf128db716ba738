"""Fixtures for the plugin tests: pytester, with a module of small workflows to test."""

from __future__ import annotations

# Imported before pytester snapshots sys.modules: otherwise each in-process run imports
# Hypothesis afresh from its pytest plugin (assertion-rewritten, ~0.5 s) and then drops it.
import hypothesis  # noqa: F401
import pytest

from ._support import WORKFLOWS, write_ini


def pytest_configure(config: pytest.Config) -> None:
    # ``pytest_plugins = ["pytester"]`` is only honoured in a top-level conftest, and this one
    # is not one when the whole suite runs from the repository root; register it as -p would.
    if not config.pluginmanager.has_plugin("pytester"):
        config.pluginmanager.import_plugin("pytester")


@pytest.fixture
def pytester(pytester: pytest.Pytester) -> pytest.Pytester:
    """A pytester directory holding ``workflows.py`` and a strict ``pytest.ini``."""
    pytester.makepyfile(workflows=WORKFLOWS)
    write_ini(pytester)
    return pytester
