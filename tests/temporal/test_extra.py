"""temporalio is an optional extra: nothing else imports it, and its absence is a clear error."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from pytest_durable.temporal._require import (
    LOWEST_VERSION,
    SUPPORTED_RANGE,
    check_version,
    temporalio_version,
)


@pytest.mark.parametrize(
    "module",
    [
        "pytest_durable",
        "pytest_durable.engine",
        "pytest_durable.fixtures",
        "pytest_durable.plugin",
        "pytest_durable.temporal",
    ],
)
def test_nothing_but_the_temporal_package_imports_temporalio(module: str) -> None:
    script = (
        "import json, sys\n"
        f"import {module}\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] == 'temporalio')))\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert json.loads(completed.stdout) == []


def test_a_missing_temporalio_names_the_extra() -> None:
    with pytest.raises(ImportError, match=r"pip install 'pytest-durable\[temporal\]'"):
        check_version(None)


@pytest.mark.parametrize("version", ["1.7.0", "0.1b1", "2.0.0", "not-a-version"])
def test_a_version_outside_the_range_is_refused_with_the_range(version: str) -> None:
    with pytest.raises(ImportError) as caught:
        check_version(version)
    assert f"temporalio {version} is installed" in str(caught.value)
    assert SUPPORTED_RANGE in str(caught.value)


@pytest.mark.parametrize("version", ["1.35.0", "1.99.3rc1"])
def test_versions_inside_the_range_are_accepted(version: str) -> None:
    check_version(version)


def test_the_installed_temporalio_is_supported() -> None:
    check_version(temporalio_version())


def test_importing_the_front_end_without_temporalio_fails_with_the_extra() -> None:
    script = (
        "import sys\n"
        "sys.modules['temporalio'] = None\n"  # as if not installed
        "import importlib.metadata as md\n"
        "real = md.version\n"
        "def version(name):\n"
        "    if name == 'temporalio':\n"
        "        raise md.PackageNotFoundError(name)\n"
        "    return real(name)\n"
        "md.version = version\n"
        "try:\n"
        "    import pytest_durable.temporal._frontend\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert "pip install 'pytest-durable[temporal]'" in completed.stdout


def test_an_installed_version_outside_the_range_is_refused_where_temporalio_is_needed() -> None:
    script = (
        "import importlib.metadata as md\n"
        "real = md.version\n"
        "md.version = lambda name: '1.34.2' if name == 'temporalio' else real(name)\n"
        "from pytest_durable import DurableEnvironment\n"
        "import pytest_durable.temporal as t\n"
        "for load in (lambda: t.WorkflowEnvironment, lambda: t.Replayer):\n"
        "    try:\n"
        "        load()\n"
        "    except ImportError as exc:\n"
        "        print(exc)\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    lines = completed.stdout.splitlines()
    assert len(lines) == 2
    expected = "temporalio 1.34.2 is installed, but pytest-durable supports temporalio "
    for line in lines:
        assert expected + SUPPORTED_RANGE in line


def test_the_supported_range_is_the_extras_and_starts_at_the_lowest_tested_version() -> None:
    import tomllib
    from pathlib import Path

    project = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())
    extras = project["project"]["optional-dependencies"]
    assert extras["temporal"] == [f"temporalio{SUPPORTED_RANGE}"]
    assert SUPPORTED_RANGE.startswith(">=" + LOWEST_VERSION.removesuffix(".0"))
    check_version(LOWEST_VERSION)
