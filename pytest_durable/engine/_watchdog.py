"""Deadlock detection: interrupt workflow code that runs too long without yielding.

One daemon thread per process watches the workflow task in progress. When a task has run past its
budget, the thread raises :class:`_DeadlockInterrupt` inside the engine's thread (CPython's
``PyThreadState_SetAsyncExc``), which stops a ``while True: pass`` at its next bytecode and gives
the engine a traceback pointing at the offending line. Blocking C calls are interrupted when
they return.
"""

from __future__ import annotations

import ctypes
import threading
import time

from ..errors import _DeadlockInterrupt

_set_async_exc = ctypes.pythonapi.PyThreadState_SetAsyncExc
_set_async_exc.argtypes = (ctypes.c_ulong, ctypes.py_object)


class Watchdog:
    """Watches one guarded section at a time per thread; cheap to enter and leave."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # thread id -> (token, deadline in monotonic ns)
        self._watched: dict[int, tuple[int, int]] = {}
        self._next_token = 0
        self._thread: threading.Thread | None = None
        self._wake = threading.Event()
        self.poll_interval = 0.05

    def enter(self, budget_s: float) -> int:
        """Start watching the calling thread; returns a token for :meth:`leave`."""
        if self._thread is None:
            self._start()
        with self._lock:
            self._next_token += 1
            token = self._next_token
            self._watched[threading.get_ident()] = (
                token,
                time.monotonic_ns() + int(budget_s * 1e9),
            )
        return token

    def leave(self, token: int) -> None:
        """Stop watching the calling thread."""
        with self._lock:
            ident = threading.get_ident()
            current = self._watched.get(ident)
            if current is not None and current[0] == token:
                del self._watched[ident]

    def _start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="pytest-durable-deadlock-watchdog", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        while True:
            time.sleep(self.poll_interval)
            now = time.monotonic_ns()
            with self._lock:
                overdue = [ident for ident, (_, end) in self._watched.items() if end <= now]
                for ident in overdue:
                    del self._watched[ident]
                    _set_async_exc(ident, _DeadlockInterrupt)


WATCHDOG = Watchdog()
