"""Hints for traps the error alone does not explain.

Two different exceptions are called ``TimeoutError``: Python's builtin (what
``asyncio.wait_for`` and ``workflow.wait_condition(timeout=...)`` raise) and
``pytest_durable.TimeoutError`` (an activity's or child's timeout, as Temporal's SDK names it).
After ``from pytest_durable import TimeoutError``, ``except TimeoutError`` no longer catches the
builtin one, and without that import it does not catch ours. When a failure is one of them and
the code's module binds the name to the other, the hint says so.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from typing import Any

from .. import errors


def timeout_error_hint(exc: BaseException, namespace: Mapping[str, Any]) -> str | None:
    """A hint when ``exc`` is one ``TimeoutError`` and ``namespace`` calls the other so."""
    bound = namespace.get("TimeoutError", builtins.TimeoutError)
    if isinstance(exc, builtins.TimeoutError) and bound is errors.TimeoutError:
        return (
            "hint: this is Python's builtin TimeoutError (asyncio.wait_for and "
            "workflow.wait_condition(timeout=...) raise it), but in this module the name "
            "TimeoutError is pytest_durable.TimeoutError (an activity's or child's timeout), "
            "so 'except TimeoutError' does not catch it here. Catch asyncio.TimeoutError (the "
            "builtin), or import ours under another name: from pytest_durable import "
            "TimeoutError as ActivityTimeoutError."
        )
    if isinstance(exc, errors.TimeoutError) and bound is builtins.TimeoutError:
        return (
            "hint: this is pytest_durable.TimeoutError (an activity's or child's timeout), which "
            "is not Python's builtin TimeoutError that 'except TimeoutError' catches in this "
            "module. Import it: from pytest_durable import TimeoutError (in a workflow, an "
            "activity's timeout arrives as ActivityError whose cause is this TimeoutError)."
        )
    return None
