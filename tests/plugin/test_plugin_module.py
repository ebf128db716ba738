"""How the plugin is wired: stash, frozen config, lazy imports, docs for every setting."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

import pytest_durable
import pytest_durable.fixtures
from pytest_durable._config import SETTINGS
from pytest_durable.fixtures import DurableConfig
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


# What importing the plugin and registering it loads: nothing of the engine, no asyncio. A run
# of a suite that never uses the plugin pays only for these modules.
_PLUGIN_ONLY_MODULES = {
    "pytest_durable",
    "pytest_durable._config",
    "pytest_durable.plugin",
}

_LOADED_BY_A_RUN = """
import json, sys
import pytest

class Spy:
    def pytest_sessionfinish(self, session):
        config = session.config
        self.seen = {
            "modules": sorted(m for m in sys.modules if m.split(".")[0] == "pytest_durable"),
            "asyncio": "asyncio" in sys.modules,
            "marker": any(line.startswith("durable(") for line in config.getini("markers")),
            "fixtures": sorted(
                name for name in ("durable_env", "activity_env", "golden_history")
                if session._fixturemanager.getfixturedefs(name, session)
            ),
            "option": config.getoption("durable_seed") is None,
        }

spy = Spy()
code = pytest.main(
    ["-p", "pytest_durable.plugin", "-p", "no:cacheprovider", "-q", *sys.argv[1:]],
    plugins=[spy],
)
print(json.dumps(spy.seen))
raise SystemExit(code)
"""


def _modules_loaded_by_a_run(tmp_path: Path, test_source: str) -> dict[str, object]:
    (tmp_path / "test_one.py").write_text(test_source, encoding="utf-8")
    (tmp_path / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    env = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    done = subprocess.run(
        [sys.executable, "-c", _LOADED_BY_A_RUN, str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    seen: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return seen


def test_a_run_that_does_not_use_the_plugin_imports_neither_engine_nor_asyncio(
    tmp_path: Path,
) -> None:
    seen = _modules_loaded_by_a_run(tmp_path, "def test_plain():\n    assert 1 + 1 == 2\n")

    assert seen["modules"] == sorted(_PLUGIN_ONLY_MODULES)
    assert seen["asyncio"] is False
    # ... and yet everything is registered: the marker, the fixtures, the options.
    assert seen["marker"] is True
    assert seen["fixtures"] == ["activity_env", "durable_env", "golden_history"]
    assert seen["option"] is True


def test_the_engine_loads_when_a_fixture_is_first_used(tmp_path: Path) -> None:
    seen = _modules_loaded_by_a_run(
        tmp_path, "def test_env(durable_env):\n    assert durable_env.now()\n"
    )

    modules = seen["modules"]
    assert isinstance(modules, list)
    assert "pytest_durable.engine._engine" in modules
    assert "pytest_durable.fixtures._environment" in modules
    assert seen["asyncio"] is True


def test_the_package_exports_its_names_lazily() -> None:
    code = (
        "import json, sys, pytest_durable as p; before = 'pytest_durable.engine' in sys.modules; "
        "env_cls = p.DurableEnvironment; wf = p.workflow; "
        "print(json.dumps([before, 'pytest_durable.engine' in sys.modules, "
        "env_cls.__name__, wf.__name__, 'DurableEnvironment' in dir(p)]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout
    assert json.loads(out) == [
        False,
        True,
        "DurableEnvironment",
        "pytest_durable.workflow",
        True,
    ]
    with pytest.raises(AttributeError, match="has no attribute 'Nope'"):
        _ = pytest_durable.Nope  # type: ignore[attr-defined]
    with pytest.raises(AttributeError, match="has no attribute 'Nope'"):
        _ = pytest_durable.fixtures.Nope  # type: ignore[attr-defined]
