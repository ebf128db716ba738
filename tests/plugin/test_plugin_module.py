"""How the plugin is wired: stash, frozen config, lazy imports, docs for every setting."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pytest_durable.fixtures import DurableConfig
from pytest_durable.fixtures._config import SETTINGS
from pytest_durable.plugin import CONFIG_KEY

DOCS = Path(__file__).parents[2] / "docs" / "pytest-plugin.md"


def test_settings_are_resolved_once_into_a_frozen_config_in_the_stash(
    pytester: pytest.Pytester,
) -> None:
    config = pytester.parseconfigure(
        "--durable-seed=5", "--durable-start-time=2030-01-01T00:00:00Z"
    )
    settings = config.stash[CONFIG_KEY]
    assert settings == DurableConfig(seed=5, start_time=datetime(2030, 1, 1, tzinfo=UTC))
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.seed = 6  # type: ignore[misc]


def test_plugin_imports_no_optional_library() -> None:
    code = (
        "import sys, pytest_durable.plugin; "
        "print(sorted({'hypothesis', 'time_machine', 'freezegun', 'xdist'} & set(sys.modules)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout
    assert out.strip() == "[]"


def test_docs_cover_every_option_and_ini_key() -> None:
    text = DOCS.read_text(encoding="utf-8")
    missing = [
        name for s in SETTINGS for name in (s.option, s.ini) if f"`{name}" not in text
    ]
    assert not missing, f"docs/pytest-plugin.md does not mention {missing}"
