"""Calls workflow code forgot to await: ``workflow.execute_activity(...)`` without ``await``.

Such a call makes a coroutine and drops it: nothing is scheduled, and Python only warns
"never awaited" whenever the object happens to be collected. The workflow API's coroutine
functions register each coroutine they make here; when the workflow task has run, one that
never started and that nothing else holds (its only reference is ours) was forgotten, and the
run fails naming the line. A coroutine kept in a variable, to be awaited later, is left alone.
"""

from __future__ import annotations

import sys
from collections.abc import Coroutine
from types import CodeType
from typing import Any

from ..errors import WorkflowMisuseError
from ._location import display_path

#: A tracked call: its coroutine, what made it, and where: the code of the frame that made it and
#: that frame's last instruction (None and 0 if unknown), from which :func:`_line` works the
#: line out, only for a call that was forgotten.
_Entry = tuple[Coroutine[Any, Any, Any], str, CodeType | None, int]


def _references(entries: list[_Entry]) -> list[int]:
    """The reference count of each coroutine, seen from this very loop (see below)."""
    return [sys.getrefcount(coro) for coro, _, _, _ in entries]


def _calibrate() -> int:
    """How many references :func:`_references` sees for a coroutine only the list holds.

    Measured rather than assumed, since interpreters count borrowed references differently.
    """

    async def probe() -> None:
        pass

    entries: list[_Entry] = [(probe(), "", None, 0)]
    baseline = _references(entries)[0]
    entries[0][0].close()
    return baseline


_ONLY_OURS = _calibrate()


def _line(code: CodeType, lasti: int) -> int:
    """The line of ``code`` that its instruction at byte offset ``lasti`` belongs to."""
    for start, end, line in code.co_lines():
        if start <= lasti < end and line is not None:
            return line
    return code.co_firstlineno


class UnawaitedCalls:
    """The coroutines a workflow task made through the workflow API, checked at its end."""

    __slots__ = ("entries",)

    def __init__(self) -> None:
        #: What the task's code made (see ``_Entry``); :func:`._loop.track_coroutine` appends.
        #: Where it was made is only made readable if the call turns out forgotten.
        self.entries: list[_Entry] = []

    def forgotten(self) -> WorkflowMisuseError | None:
        """The error for calls that were never awaited (closing them), or None; forgets all."""
        entries = self.entries
        if not entries:
            return None
        self.entries = []
        # Most were awaited (started: now suspended or done); only a coroutine that never
        # started can be forgotten, and only those are worth counting references to.
        unstarted: list[_Entry] | None = None  # made for the task that has one
        coro: Any = None  # a native coroutine (CoroutineType)
        for entry in entries:
            coro = entry[0]
            if coro.cr_frame is not None and not coro.cr_suspended and not coro.cr_running:
                if unstarted is None:
                    unstarted = []
                unstarted.append(entry)
        coro = None  # a reference held here would hide a forgotten coroutine
        if unstarted is None:
            return None
        counts = _references(unstarted)
        lost = [
            (coro, what, code, lasti)
            for (coro, what, code, lasti), count in zip(unstarted, counts, strict=True)
            if count <= _ONLY_OURS
        ]
        if not lost:
            return None
        for coro, _, _, _ in lost:
            coro.close()  # it will never run; closing it also keeps Python from warning
        coro, what, code, lasti = lost[0]
        where = (
            f"{display_path(code.co_filename)}:{_line(code, lasti)}"
            if code is not None
            else "an unknown line"
        )
        return WorkflowMisuseError(
            f"{what} at {where} was never awaited, so it did nothing (nothing was scheduled "
            f"and the workflow went on). Write 'await {what}'"
            + (
                ", or workflow.start_activity(...) to start the activity without waiting for it"
                if "activity" in what
                else ""
            )
            + "."
        )
