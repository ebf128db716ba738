"""Where in workflow code something happened: the first frame outside this package and asyncio."""

from __future__ import annotations

import asyncio
import functools
import os
import sys
from typing import Any

_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_ASYNCIO_DIR = os.path.dirname(asyncio.__file__)
#: Frames under these directories are the engine's or asyncio's, not the workflow's.
SKIP_PREFIXES = (_PACKAGE_DIR, _ASYNCIO_DIR)


def user_location(depth: int = 2) -> tuple[str, int] | None:
    """The innermost frame outside pytest_durable and asyncio: where workflow code called us."""
    try:
        frame = sys._getframe(depth)
    except ValueError:
        return None
    current: Any = frame
    while current is not None:
        filename = current.f_code.co_filename
        if not filename.startswith(SKIP_PREFIXES):
            return (filename, current.f_lineno)
        current = current.f_back
    return None


def display_path(filename: str) -> str:
    """``filename`` relative to the working directory when inside it.

    The message lands in history (a failed run's failure), and a golden file must not depend
    on where the project is checked out.
    """
    return _display_path(filename, os.getcwd())


@functools.lru_cache(maxsize=256)
def _display_path(filename: str, cwd: str) -> str:
    # Calls check and track arguments at every activity and timer: a workflow's few files are
    # made relative once per working directory, not at each call.
    try:
        relative = os.path.relpath(filename, cwd)
    except ValueError:  # another drive, on Windows
        return filename
    return filename if relative.startswith("..") else relative
