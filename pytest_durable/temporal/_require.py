"""Check that a supported temporalio is installed, before anything imports it."""

from __future__ import annotations

import importlib.metadata
import re

#: The temporalio releases this front-end is built and tested against (``pip`` syntax).
SUPPORTED_RANGE = ">=1.35,<2"
#: The oldest release in the range; CI runs the Temporal tests on it and on the newest.
LOWEST_VERSION = "1.35.0"
_LOWEST = (1, 35)
_BELOW = (2, 0)

_INSTALL = "pip install 'pytest-durable[temporal]'"


def temporalio_version() -> str | None:
    """The installed temporalio version, or None when it is not installed."""
    try:
        return importlib.metadata.version("temporalio")
    except importlib.metadata.PackageNotFoundError:
        return None


def check_version(version: str | None) -> None:
    """Raise ImportError naming the extra (or the range) unless ``version`` is supported."""
    if version is None:
        raise ImportError(
            "running Temporal SDK workflows needs the temporalio package, which is not "
            f"installed; install the extra: {_INSTALL}"
        )
    match = re.match(r"(\d+)\.(\d+)", version)
    parsed = (int(match.group(1)), int(match.group(2))) if match else None
    if parsed is None or not _LOWEST <= parsed < _BELOW:
        raise ImportError(
            f"temporalio {version} is installed, but pytest-durable supports temporalio "
            f"{SUPPORTED_RANGE}; install a supported version: {_INSTALL}"
        )


def require_temporalio() -> None:
    """Raise ImportError with what to install unless a supported temporalio is present."""
    check_version(temporalio_version())
