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

#: The interpreter's monotonic clock, not the determinism guard's wrapper of it (whether or not
#: the guard was installed before this module was imported): the wrapper's check of the running
#: loop would run once per workflow task here, for a call that is the engine's, never a workflow's.
_monotonic_ns = getattr(time.monotonic_ns, "__wrapped__", time.monotonic_ns)

_set_async_exc = ctypes.pythonapi.PyThreadState_SetAsyncExc
_set_async_exc.argtypes = (ctypes.c_ulong, ctypes.py_object)


class Watchdog:
    """Watches one guarded section at a time per thread; cheap to enter and leave."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # thread id -> (token, deadline in monotonic ns)
        self._watched: dict[int, tuple[int, int]] = {}
        # tokens whose section was interrupted and has not left yet
        self._fired: set[int] = set()
        self._next_token = 0
        self._thread: threading.Thread | None = None
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
                _monotonic_ns() + int(budget_s * 1e9),
            )
        return token

    def leave(self, token: int) -> bool:
        """Stop watching the calling thread; True if the section was interrupted.

        An interrupt sent just before may not have landed yet: it lands at the caller's next
        bytecode boundary, so a caller told True must expect it (it cannot be withdrawn safely:
        PyThreadState_SetAsyncExc(NULL) leaves the eval breaker raised for good).
        """
        ident = threading.get_ident()
        with self._lock:
            current = self._watched.get(ident)
            if current is not None and current[0] == token:
                del self._watched[ident]
                return False
            if token not in self._fired:
                return False
            self._fired.discard(token)
        return True

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
            now = _monotonic_ns()
            with self._lock:
                overdue = [
                    (ident, token)
                    for ident, (token, end) in self._watched.items()
                    if end <= now
                ]
                for ident, token in overdue:
                    del self._watched[ident]
                    self._fired.add(token)
                    _set_async_exc(ident, _DeadlockInterrupt)


WATCHDOG = Watchdog()
