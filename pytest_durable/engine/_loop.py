"""The deterministic event loop each workflow instance runs on.

A real :class:`asyncio.AbstractEventLoop`, so that ``asyncio.sleep``, ``gather``, ``wait`` and
``wait_for`` work in workflow code, but with no I/O and no wall clock: ``time()`` is the workflow
task's time from history, ``call_later`` starts a durable timer, and the loop only runs when a
workflow task drives it, until every coroutine is blocked.
"""

from __future__ import annotations

import asyncio
import collections
import contextvars
import functools
import logging
import sys
from collections.abc import Callable, Coroutine
from types import FrameType
from typing import TYPE_CHECKING, Any, NoReturn, ParamSpec, TypeVar

from ..errors import LoopMisuseError, QueryError
from ._location import SKIP_PREFIXES

if TYPE_CHECKING:
    from ._commands import StartTimer
    from ._instance import WorkflowInstance
    from ._runtime import WorkflowRuntime

_logger = logging.getLogger("pytest_durable.workflow")
_P = ParamSpec("_P")
_R = TypeVar("_R")


def in_workflow_loop() -> bool:
    """Whether the running event loop is a workflow's (the caller is workflow code)."""
    return type(asyncio._get_running_loop()) is WorkflowEventLoop


def track_coroutine(coro: Coroutine[Any, Any, Any], what: str) -> None:
    """Tell the running workflow that its code made ``coro`` through ``what``.

    The workflow fails the run if the coroutine is never awaited (see :mod:`._unawaited`);
    outside a workflow this does nothing.
    """
    loop = asyncio._get_running_loop()
    if type(loop) is WorkflowEventLoop:
        # Every call of the workflow API passes here: the caller of the API function (two
        # frames up) is nearly always the workflow's own line, so look there before walking.
        # The frame's code and last instruction, not its line: working the line out costs more
        # than the rest of tracking the call, and is only needed for a forgotten one.
        frame = sys._getframe(2)
        if frame.f_code.co_filename.startswith(SKIP_PREFIXES):
            _track_walked(loop, coro, what, frame)
        else:
            loop.instance.unawaited.entries.append((coro, what, frame.f_code, frame.f_lasti))


def tracking(
    fn: Callable[_P, Coroutine[Any, Any, _R]], what: str
) -> Callable[_P, Coroutine[Any, Any, _R]]:
    """``fn``, reporting each coroutine it makes as :func:`track_coroutine` does.

    The report is made here rather than by calling :func:`track_coroutine`: every activity
    call and timer of every workflow passes through this wrapper, and one call less per API
    call is measurable on the hot path.
    """

    @functools.wraps(fn)
    def call(*args: _P.args, **kwargs: _P.kwargs) -> Coroutine[Any, Any, _R]:
        coro = fn(*args, **kwargs)
        loop = asyncio._get_running_loop()
        if type(loop) is WorkflowEventLoop:
            frame = sys._getframe(1)  # the caller of the API function: the workflow's line
            if frame.f_code.co_filename.startswith(SKIP_PREFIXES):
                _track_walked(loop, coro, what, frame)
            else:
                loop.instance.unawaited.entries.append((coro, what, frame.f_code, frame.f_lasti))
        return coro

    return call


def _track_walked(
    loop: WorkflowEventLoop, coro: Coroutine[Any, Any, Any], what: str, frame: FrameType
) -> None:
    """Track ``coro``, made in our own code: at the first frame outside it ``frame`` came from."""
    found: FrameType | None = frame
    while found is not None and found.f_code.co_filename.startswith(SKIP_PREFIXES):
        found = found.f_back
    site = (found.f_code, found.f_lasti) if found is not None else (None, 0)
    loop.instance.unawaited.entries.append((coro, what, *site))


class DurableTimerHandle(asyncio.TimerHandle):
    """A ``call_later`` handle backed by a durable timer; cancelling it cancels the timer."""

    __slots__ = ("command",)

    command: StartTimer | None

    def __init__(
        self,
        when: float,
        callback: Callable[..., Any],
        args: tuple[Any, ...],
        loop: asyncio.AbstractEventLoop,
        context: contextvars.Context | None = None,
    ) -> None:
        super().__init__(when, callback, args, loop, context)
        self.command = None

    def cancel(self) -> None:
        if not self._cancelled:
            loop = self._loop  # type: ignore[attr-defined]
            assert isinstance(loop, WorkflowEventLoop)
            loop.instance.cancel_timer(self)
        super().cancel()


class WorkflowEventLoop(asyncio.AbstractEventLoop):
    """An event loop with a ready deque and durable timers, driven one workflow task at a time."""

    #: What ``pytest_durable.workflow`` calls for the workflow running on this loop: the
    #: instance's own runtime, or something standing in for it (another front-end).
    runtime: WorkflowRuntime

    #: Whether the determinism guard checks the code running on this loop (see
    #: :mod:`pytest_durable._guard_checks`): it asks the running loop, so a task costs nothing more.
    determinism_guard = False

    def __init__(self, instance: WorkflowInstance) -> None:
        self.instance = instance
        # A deque: a wide fan-out (gather of a thousand activities) readies that many handles.
        self._ready: collections.deque[asyncio.Handle] = collections.deque()
        self._running = False
        self._exception_handler: Any = None
        self.errors: list[BaseException] = []
        #: Tasks workflow code started (the main task is the instance's). Kept here because
        #: asyncio.all_tasks(loop) scans every task in the process: O(live workflows).
        self.tasks: set[asyncio.Task[Any]] | None = None

    # --- running -------------------------------------------------------------------------------

    def run_ready(self) -> None:
        """Run callbacks until none is ready (every coroutine is blocked)."""
        ready = self._ready
        previous = asyncio._get_running_loop()
        asyncio._set_running_loop(self)
        self._running = True
        try:
            while ready:
                handle = ready.popleft()
                if not handle._cancelled:
                    handle._run()
        finally:
            self._running = False
            asyncio._set_running_loop(previous)

    def has_ready(self) -> bool:
        """Whether any callback is waiting to run."""
        return bool(self._ready)

    # --- scheduling ----------------------------------------------------------------------------

    def call_soon(  # type: ignore[override]
        self,
        callback: Callable[..., Any],
        *args: Any,
        context: contextvars.Context | None = None,
    ) -> asyncio.Handle:
        handle = asyncio.Handle(callback, args, self, context)
        self._ready.append(handle)
        return handle

    def call_soon_threadsafe(  # type: ignore[override]
        self,
        callback: Callable[..., Any],
        *args: Any,
        context: contextvars.Context | None = None,
    ) -> asyncio.Handle:
        self._misuse("call_soon_threadsafe", "workflow code runs on one thread only")

    def call_later(  # type: ignore[override]
        self,
        delay: float,
        callback: Callable[..., Any],
        *args: Any,
        context: contextvars.Context | None = None,
    ) -> asyncio.TimerHandle:
        # Durations are rounded to the microsecond: float seconds are not exact below that.
        duration_ns = max(0, round(delay * 1_000_000)) * 1_000
        return self.instance.start_timer(duration_ns, callback, args, context)

    def call_at(  # type: ignore[override]
        self,
        when: float,
        callback: Callable[..., Any],
        *args: Any,
        context: contextvars.Context | None = None,
    ) -> asyncio.TimerHandle:
        return self.call_later(when - self.time(), callback, *args, context=context)

    def time(self) -> float:
        # Relative to the run's start, so float seconds stay precise for long workflows.
        instance = self.instance
        return (instance.now_ns - instance.start_ns) / 1e9

    def create_future(self) -> asyncio.Future[Any]:
        return asyncio.Future(loop=self)

    def create_task(
        self,
        coro: Any,
        *,
        name: str | None = None,
        context: contextvars.Context | None = None,
    ) -> asyncio.Task[Any]:
        try:
            self.instance.check_may_issue("start a task")
        except QueryError:
            # Close the refused coroutine, or it warns "never awaited" at some later point.
            if asyncio.iscoroutine(coro):
                coro.close()
            raise
        task = asyncio.Task(coro, loop=self, name=name, context=context)
        self.track(task)
        return task

    def track(self, task: asyncio.Task[Any]) -> None:
        """Remember a pending task, so that evicting the instance can close its coroutine."""
        if self.tasks is None:
            self.tasks = set()
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def _timer_handle_cancelled(self, handle: asyncio.TimerHandle) -> None:
        pass

    # --- state -----------------------------------------------------------------------------------

    def is_running(self) -> bool:
        return self._running

    def is_closed(self) -> bool:
        return False

    def get_debug(self) -> bool:
        return False

    def set_debug(self, enabled: bool) -> None:
        pass

    def get_exception_handler(self) -> Any:
        return self._exception_handler

    def set_exception_handler(self, handler: Any) -> None:
        self._exception_handler = handler

    def default_exception_handler(self, context: dict[str, Any]) -> None:
        exception = context.get("exception")
        if isinstance(exception, BaseException):
            self.errors.append(exception)

    def call_exception_handler(self, context: dict[str, Any]) -> None:
        if "future" in context or "task" in context:
            # "Exception was never retrieved" and "destroyed but pending" are reported when an
            # object is garbage collected: at no deterministic moment (replay holds references
            # differently), so they must not change the workflow's course. A lost exception is
            # logged, as asyncio does; pending tasks are dropped whenever an instance is.
            # One the guard reported has already failed the run (the task's copy of it is
            # never retrieved: the run closed on the report).
            exception = context.get("exception")
            reported = any(error is exception for error in self.errors)
            if exception is not None and not reported and not self.instance.replaying:
                _logger.warning(
                    "%s (workflow %s)",
                    context.get("message", "unhandled exception"),
                    self.instance.info.workflow_id,
                    exc_info=exception,
                )
            return
        # An exception escaping a callback (e.g. a sync signal handler) is a workflow failure.
        self.default_exception_handler(context)

    def report_guard_error(self, error: BaseException) -> None:
        """The guard refused a call: fail the run with it even if the code catches it.

        Queries and update validators only raise it (to their caller): they change nothing.
        """
        instance = self.instance
        if instance.query_mode is None and instance.read_only is None:
            self.errors.append(error)

    # --- what makes no sense inside a workflow ----------------------------------------------

    def _misuse(self, what: str, why: str) -> NoReturn:
        raise LoopMisuseError(
            f"{what} is not available inside a workflow: {why}. Do I/O and blocking work in an "
            "activity and call it with workflow.execute_activity()."
        )

    def run_forever(self) -> None:
        self._misuse("run_forever", "the engine drives the workflow loop")

    def run_until_complete(self, future: Any) -> Any:
        if asyncio.iscoroutine(future):
            future.close()  # refused: do not let it warn "never awaited" later
        self._misuse("run_until_complete", "the engine drives the workflow loop")

    def stop(self) -> None:
        self._misuse("stop", "the engine drives the workflow loop")

    def close(self) -> None:
        self._misuse("close", "the engine owns the workflow loop")

    async def shutdown_asyncgens(self) -> None:
        pass

    async def shutdown_default_executor(self, timeout: float | None = None) -> None:
        pass

    def run_in_executor(  # type: ignore[override]
        self, executor: Any, func: Any, *args: Any
    ) -> Any:
        self._misuse("run_in_executor", "threads are not deterministic")

    def set_default_executor(self, executor: Any) -> None:
        self._misuse("set_default_executor", "threads are not deterministic")

    async def getaddrinfo(self, *args: Any, **kwargs: Any) -> Any:
        self._misuse("getaddrinfo", "network access is not deterministic")

    async def getnameinfo(self, *args: Any, **kwargs: Any) -> Any:
        self._misuse("getnameinfo", "network access is not deterministic")

    async def create_connection(self, *args: Any, **kwargs: Any) -> Any:
        self._misuse("create_connection", "network access is not deterministic")

    async def create_server(self, *args: Any, **kwargs: Any) -> Any:
        self._misuse("create_server", "network access is not deterministic")

    async def create_datagram_endpoint(self, *args: Any, **kwargs: Any) -> Any:
        self._misuse("create_datagram_endpoint", "network access is not deterministic")

    async def create_unix_connection(self, *args: Any, **kwargs: Any) -> Any:
        self._misuse("create_unix_connection", "network access is not deterministic")

    async def create_unix_server(self, *args: Any, **kwargs: Any) -> Any:
        self._misuse("create_unix_server", "network access is not deterministic")

    async def subprocess_exec(self, *args: Any, **kwargs: Any) -> Any:
        self._misuse("subprocess_exec", "subprocesses are not deterministic")

    async def subprocess_shell(self, *args: Any, **kwargs: Any) -> Any:
        self._misuse("subprocess_shell", "subprocesses are not deterministic")

    def add_reader(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        self._misuse("add_reader", "file descriptors are not deterministic")

    def add_writer(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        self._misuse("add_writer", "file descriptors are not deterministic")

    def remove_reader(self, *args: Any, **kwargs: Any) -> bool:
        self._misuse("remove_reader", "file descriptors are not deterministic")

    def remove_writer(self, *args: Any, **kwargs: Any) -> bool:
        self._misuse("remove_writer", "file descriptors are not deterministic")

    def add_signal_handler(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        self._misuse("add_signal_handler", "OS signals are not deterministic")

    def remove_signal_handler(self, *args: Any, **kwargs: Any) -> bool:
        self._misuse("remove_signal_handler", "OS signals are not deterministic")
