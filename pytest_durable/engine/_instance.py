"""A workflow instance: user workflow code on its own loop, driven by workflow tasks.

The same code path serves a live run and a replay: each activation feeds the instance the events
since its last workflow task and the task's time, runs the loop until every coroutine is blocked,
and returns the commands the code issued. The driver (engine or replayer) turns commands into
events, or checks them against recorded events, and tells the instance which event each became.
"""

from __future__ import annotations

import asyncio
import contextvars
import random
import sys
import traceback
import uuid
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from .._guard import guard_workflow_package
from ..errors import (
    CancelledError,
    FailureError,
    InvalidArgumentError,
    PayloadError,
    QueryError,
    WorkflowDeadlockError,
    _ContinueAsNew,
    _DeadlockInterrupt,
    _WorkflowEvicted,
    is_cancelled_exception,
)
from . import _events as ev
from ._apply import INERT_EVENTS, activity_error, apply_event
from ._commands import (
    CancelTimer,
    CancelWorkflow,
    ClosingCommand,
    CompleteWorkflow,
    ContinueAsNew,
    FailWorkflow,
    RecordMarker,
    RequestCancelActivity,
    RequestCancelChild,
    ScheduleActivity,
    ScheduleLocalActivity,
    StartChildWorkflow,
    StartTimer,
    WorkflowCommand,
)
from ._definitions import WorkflowDefinition
from ._failure import encode_failure
from ._hints import timeout_error_hint
from ._instance_runtime import InstanceRuntime
from ._local import LocalActivityFuture
from ._local import resolve as resolve_local
from ._location import SKIP_PREFIXES
from ._location import display_path as display_path
from ._location import user_location as user_location
from ._loop import DurableTimerHandle, WorkflowEventLoop
from ._payload import encode
from ._runtime import WorkflowInfo as WorkflowInfo
from ._unawaited import UnawaitedCalls
from ._updates import UpdateRequest, deliver_update
from ._watchdog import WATCHDOG

#: The commands whose results find them by their event id (``by_event``).
_RESOLVED_BY_EVENT = frozenset((ScheduleActivity, StartTimer, StartChildWorkflow))


class WorkflowInstance:
    """Runs one workflow run's code; knows nothing of stores, clocks or activities' execution."""

    def __init__(
        self,
        definition: WorkflowDefinition,
        started: ev.WorkflowExecutionStarted,
        *,
        deadlock_budget_s: float | None = 2.0,
        check_types: bool = True,
        determinism_guard: bool = False,
    ) -> None:
        self.definition = definition
        self.started = started
        self.start_ns = started.time_ns
        self.now_ns = started.time_ns
        self.deadlock_budget_s = deadlock_budget_s
        #: Check arguments of activities and children against their type hints when issued.
        self.check_types = check_types
        #: Coroutines the workflow API made this task, to catch a forgotten ``await``.
        self.unawaited = UnawaitedCalls()
        self.loop = WorkflowEventLoop(self)  # type: ignore[abstract]
        self.loop.runtime = InstanceRuntime(self)
        if determinism_guard:
            self.loop.determinism_guard = True
            guard_workflow_package(definition.cls.__module__)
        # Created on first use: a Mersenne Twister holds 2.5 KiB, a third of a parked workflow.
        self._random: random.Random | None = None
        self.replaying = False
        self.query_mode: str | None = None
        #: What read-only code is running outside a query (an update's validator), if any.
        self.read_only: str | None = None
        #: Updates rejected during the current activation: (update id, why), for the engine.
        self.rejected: list[tuple[str, BaseException]] = []
        #: Set by a runtime whose task failed without failing the run (Temporal's semantics
        #: for a bug, kept by the Temporal front-end); ours fails the run instead.
        self.task_failure: BaseException | None = None
        self.commands: list[WorkflowCommand] = []
        self.by_event: dict[int, ScheduleActivity | StartTimer | StartChildWorkflow] = {}
        self.conditions: list[tuple[Callable[[], bool], asyncio.Future[bool]]] = []
        self.patches: dict[str, bool] = {}
        self.recorded_patches: frozenset[str] = frozenset()
        self.activity_seq = 0
        self.pending_activity_ids: dict[str, asyncio.Future[Any]] = {}
        self.timer_seq = 0
        self.child_seq = 0
        self.local_activity_seq = 0
        #: Local activities scheduled and not yet resolved, by sequence number.
        self.local_pending: dict[int, ScheduleLocalActivity] = {}
        #: Running local activities the code cancelled (the engine stops them).
        self.local_cancels: list[int] = []
        self.obj: Any = None
        self.main_task: asyncio.Task[Any] | None = None
        self.closed = False
        #: Set once the instance is dropped: its runtime is torn down and issues nothing more.
        self.evicted = False
        self.cancel_requested = False
        #: The memo and search attributes as they stand (JSON values), upserts applied.
        self.memo: dict[str, Any] = dict(started.memo or {})
        self.search_attributes: dict[str, Any] = dict(started.search_attributes or {})
        self.info = WorkflowInfo(
            workflow_id=started.workflow_id,
            run_id=started.run_id,
            workflow_type=started.workflow_type,
            attempt=started.attempt,
            start_time=datetime.fromtimestamp(started.time_ns / 1e9, tz=UTC),
            parent_workflow_id=started.parent_workflow_id,
            parent_run_id=started.parent_run_id,
            continued_run_id=started.continued_from_run_id,
            first_run_id=started.first_run_id or started.run_id,
            search_attributes=self.search_attributes,
        )
        self._context = contextvars.copy_context()
        #: Whether this activation has caught the deadlock watchdog's interrupt.
        self._interrupt_seen = False

    @property
    def random(self) -> random.Random:
        """The run's seeded randomness (``workflow.random()``)."""
        rng = self._random
        if rng is None:
            rng = self._random = random.Random(self.started.randomness_seed)
        return rng

    # --- activation ----------------------------------------------------------------------------

    def activate(
        self,
        events: Iterable[ev.Event],
        now_ns: int,
        *,
        replaying: bool,
        recorded_patches: frozenset[str] = frozenset(),
        updates: Sequence[UpdateRequest] = (),
    ) -> list[WorkflowCommand]:
        """Apply ``events``, deliver ``updates``, run the code until it blocks.

        Returns the commands the code issued; rejected updates are left in :attr:`rejected`.
        """
        self.now_ns = now_ns
        self.replaying = replaying
        self.recorded_patches = recorded_patches
        # The whole activation is watched: constructors and signal handlers can spin too.
        budget = self.deadlock_budget_s
        self._interrupt_seen = False
        token = WATCHDOG.enter(budget) if budget else 0
        fired = False
        try:
            try:
                # Temporal's order: the handlers of every signal and update in a task start
                # before the code waiting on the task's other events (activity results,
                # timers, a cancellation) resumes, so that it sees every message that arrived
                # with them. Written out here (once per task), skipping the events an instance
                # has nothing to do for without a call each.
                later: list[ev.Event] = []
                for event in events:
                    kind = type(event)
                    if kind in INERT_EVENTS:
                        continue
                    if kind is ev.WorkflowExecutionSignaled:
                        apply_event(self, event)
                    else:
                        later.append(event)
                for request in updates:
                    deliver_update(self, request)
                for event in later:
                    apply_event(self, event)
                if self.main_task is None and not self.closed:
                    self._start_main()
                self._run_until_blocked()
            except _DeadlockInterrupt as exc:
                self._deadlocked(exc)
        finally:
            if budget:
                fired = _leave_watchdog(token, delivered=self._interrupt_seen)
        if fired and not self.closed:
            # The interrupt landed where nothing reported it (a task nobody awaits).
            self._deadlocked(_DeadlockInterrupt())
        commands = self.commands
        self.commands = []
        return commands

    def bind(self, command: WorkflowCommand, event_id: int) -> None:
        """Record that ``command`` became event ``event_id`` (so results can find it)."""
        command.event_id = event_id
        if type(command) in _RESOLVED_BY_EVENT:  # no command class has subclasses
            self.by_event[event_id] = command  # type: ignore[assignment]

    @property
    def context(self) -> contextvars.Context:
        """The context every piece of this run's code runs in."""
        return self._context

    def ensure_object(self) -> bool:
        """Construct the workflow object (once); False if its constructor failed."""
        return self._ensure_object()

    def run_read_only(self, what: str, fn: Callable[..., Any], args: Sequence[Any]) -> Any:
        """Call ``fn(obj, *args)`` as workflow code that may issue nothing (``what`` it is)."""
        self.read_only = what
        previous = asyncio._get_running_loop()
        asyncio._set_running_loop(self.loop)
        try:
            return self._context.run(fn, self.obj, *args)
        finally:
            asyncio._set_running_loop(previous)
            self.read_only = None

    def _ensure_object(self) -> bool:
        """Construct the workflow object (once); False if its constructor failed."""
        if self.obj is not None:
            return True
        if self.closed:
            return False
        previous = asyncio._get_running_loop()
        asyncio._set_running_loop(self.loop)
        try:
            self.obj = self._context.run(self.definition.cls)
        except BaseException as exc:
            self._close_with(exc)
            return False
        finally:
            asyncio._set_running_loop(previous)
        return True

    def _start_main(self) -> None:
        if not self._ensure_object():
            return
        definition = self.definition
        try:
            args = definition.signature.decode_args(self.started.input)
        except Exception as exc:
            self._close_with(exc)
            return
        previous = asyncio._get_running_loop()
        asyncio._set_running_loop(self.loop)
        try:
            coro = definition.run_fn(self.obj, *args)
            self.main_task = asyncio.Task(coro, loop=self.loop, context=self._context)
        except BaseException as exc:
            self._close_with(exc)
        finally:
            asyncio._set_running_loop(previous)
        if self.cancel_requested and self.main_task is not None:
            self.main_task.cancel()

    def _run_until_blocked(self) -> None:
        loop = self.loop
        while True:
            loop.run_ready()
            if self._check_conditions():
                continue
            if not loop.has_ready():
                break
        if self.closed:
            return
        forgotten = self.unawaited.forgotten()
        if forgotten is not None:
            self._close_with(forgotten)
            return
        if loop.errors:
            self._close_with(loop.errors[0])
            return
        task = self.main_task
        if task is not None and task.done():
            if task.cancelled():
                self._close_with(asyncio.CancelledError())
            else:
                error = task.exception()
                if error is None:
                    self._complete(task.result())
                else:
                    self._close_with(error)

    def _check_conditions(self) -> bool:
        """Resolve conditions that became true; True if any did (more code may now run)."""
        if not self.conditions:
            return False
        resolved = False
        remaining = []
        # The functions are workflow code: workflow.now() works in them, the guard checks them.
        previous = asyncio._get_running_loop()
        asyncio._set_running_loop(self.loop)
        try:
            for fn, future in self.conditions:
                if future.done():
                    continue
                try:
                    ok = fn()
                except BaseException as exc:
                    future.set_exception(exc)
                    resolved = True
                    continue
                if ok:
                    future.set_result(True)
                    resolved = True
                else:
                    remaining.append((fn, future))
        finally:
            asyncio._set_running_loop(previous)
        self.conditions = remaining
        return resolved

    def _deadlocked(self, interrupt: _DeadlockInterrupt) -> None:
        self._interrupt_seen = True
        location = None
        for frame, lineno in traceback.walk_tb(interrupt.__traceback__):
            filename = frame.f_code.co_filename
            if not filename.startswith(SKIP_PREFIXES):
                location = f"{display_path(filename)}:{lineno} in {frame.f_code.co_name}"
        error = WorkflowDeadlockError(
            f"workflow {self.definition.name!r} (id {self.started.workflow_id!r}) ran for more "
            f"than {self.deadlock_budget_s} s without yielding"
            + (f", at {location}" if location else "")
            + ". Workflow code must not block: move slow or blocking work into an activity."
        )
        # The interrupt's traceback ends at the offending line; the interrupt itself is the
        # engine's private control flow and stays out of the chain.
        error.__traceback__ = interrupt.__traceback__
        error.__suppress_context__ = True
        self._close_with(error)

    # --- closing -------------------------------------------------------------------------------

    def _complete(self, result: Any) -> None:
        try:
            value = encode(result, where=f"the result of workflow {self.definition.name!r}")
        except PayloadError as exc:
            self._close_with(exc)
            return
        self._issue_closing(CompleteWorkflow(result=value))

    def _close_with(self, exc: BaseException) -> None:
        if isinstance(exc, _DeadlockInterrupt):
            # Delivered inside a task, it ends that task rather than the loop: report it here.
            self._deadlocked(exc)
        elif isinstance(exc, _ContinueAsNew):
            workflow_type = exc.workflow or self.definition.name
            try:
                args = [
                    encode(a, where=f"argument {i} of continue_as_new")
                    for i, a in enumerate(exc.input)
                ]
            except PayloadError as error:
                self._close_with(error)
                return
            self._issue_closing(
                ContinueAsNew(workflow_type=workflow_type, args=args, definition=exc.definition)
            )
        elif self.cancel_requested and is_cancelled_exception(exc):
            self._issue_closing(CancelWorkflow())
        elif isinstance(exc, FailureError):
            self._issue_closing(
                FailWorkflow(
                    failure=encode_failure(exc), exception=exc, location=_raise_site(exc)
                )
            )
        else:
            # A bug in workflow code: fail the run now, keeping the original traceback.
            if isinstance(exc, TimeoutError):
                self._note_timeout_trap(exc)
            self._issue_closing(
                FailWorkflow(
                    failure=encode_failure(exc),
                    exception=exc,
                    is_bug=True,
                    location=_raise_site(exc),
                )
            )

    def _note_timeout_trap(self, exc: BaseException) -> None:
        """Explain a builtin TimeoutError the workflow's ``except TimeoutError`` missed."""
        module = sys.modules.get(self.definition.cls.__module__)
        hint = timeout_error_hint(exc, vars(module) if module is not None else {})
        if hint is not None and hint not in getattr(exc, "__notes__", ()):
            exc.add_note(hint)

    def _issue_closing(self, command: ClosingCommand) -> None:
        self.closed = True
        # Nothing after the closing command can matter; drop what the code left pending.
        self.commands.append(command)
        # Not asyncio.all_tasks(loop): it scans every task of every workflow in the process.
        tasks = list(self.loop.tasks or ())
        if self.main_task is not None:
            tasks.append(self.main_task)
        for task in tasks:
            if not task.done():
                task.cancel()
        self.loop._ready.clear()
        # What the code left pending never runs again: close it now, not whenever the garbage
        # collector gets to it (its finally: blocks would then run inside another workflow).
        self._close_coroutines()

    def evict(self) -> None:
        """Drop the instance: close its coroutines now, under its own torn-down runtime.

        Temporal's SDK does the same on eviction. Each pending coroutine gets ``GeneratorExit``
        with this instance's loop as the running loop (so ``workflow.*`` calls find this
        instance, never another), and every command its ``finally:`` blocks try to issue raises
        :class:`_WorkflowEvicted` instead of reaching a history. Idempotent.
        """
        if self.evicted:
            return
        self.closed = True
        self.commands = []
        self.conditions = []
        self.loop._ready.clear()
        self._close_coroutines()

    def _close_coroutines(self) -> None:
        self.evicted = True
        tasks = list(self.loop.tasks or ())
        if self.main_task is not None:
            tasks.append(self.main_task)
        previous = asyncio._get_running_loop()
        asyncio._set_running_loop(self.loop)
        try:
            for task in tasks:
                if task.done():
                    continue
                # A task whose coroutine was closed stays pending forever; it must not warn.
                task._log_destroy_pending = False  # type: ignore[attr-defined]
                _close_quietly(task.get_coro())
        finally:
            asyncio._set_running_loop(previous)
            self.loop._ready.clear()

    # --- applying events -----------------------------------------------------------------------

    def _deliver_signal(self, name: str, raw_args: Sequence[Any]) -> None:
        if not self._ensure_object():
            return
        handler = self.definition.signals.get(name)
        if handler is None or self.closed:
            return
        args = handler.signature.decode_args(raw_args)
        if handler.is_async:
            task = asyncio.Task(
                handler.method(self.obj, *args), loop=self.loop, context=self._context
            )
            self.loop.track(task)
            task.add_done_callback(self._handler_done)
        else:
            self.loop.call_soon(handler.method, self.obj, *args, context=self._context)

    def _handler_done(self, task: asyncio.Task[Any]) -> None:
        if not task.cancelled() and task.exception() is not None:
            exc = task.exception()
            assert exc is not None
            self.loop.errors.append(exc)

    # --- what workflow code calls (through pytest_durable.workflow) --------------------------

    def check_may_issue(self, what: str) -> None:
        """Refuse commands from queries, which must be read-only, and from evicted code."""
        if self.evicted:
            raise _WorkflowEvicted(f"an evicted workflow instance tried to {what}")
        if self.read_only is not None:
            raise QueryError(
                f"{self.read_only} tried to {what}; it must be read-only: decide whether to "
                "accept the update, and leave the work to the update's handler"
            )
        if self.query_mode is not None:
            raise QueryError(
                f"query {self.query_mode!r} tried to {what}; queries are read-only and must "
                "not schedule activities, timers, child workflows or tasks"
            )

    def release_activity_id(self, command: ScheduleActivity) -> None:
        """Forget a finished activity's id (the duplicate-id check is for ones in flight).

        A later activity may already reuse the id after a cancellation, so only this
        command's own entry is dropped.
        """
        pending = self.pending_activity_ids
        if pending.get(command.activity_id) is command.future:
            del pending[command.activity_id]

    def schedule_activity(self, command: ScheduleActivity) -> asyncio.Future[Any]:
        if self.evicted or self.read_only is not None or self.query_mode is not None:
            self.check_may_issue("schedule an activity")
        pending = self.pending_activity_ids
        if command.activity_id in pending and not pending[command.activity_id].done():
            raise InvalidArgumentError(
                f"activity id {command.activity_id!r} is already used by an activity of this "
                "workflow that has not finished; give each concurrent activity its own id"
            )
        self.activity_seq += 1
        future: asyncio.Future[Any] = _ActivityFuture(self, command, loop=self.loop)
        command.future = future
        pending[command.activity_id] = future
        self.commands.append(command)
        return future

    def schedule_local_activity(self, command: ScheduleLocalActivity) -> asyncio.Future[Any]:
        """Schedule a local activity: it runs while this workflow task is held open."""
        self.check_may_issue("schedule a local activity")
        self.local_activity_seq += 1
        future = LocalActivityFuture(self, command)
        command.future = future
        self.local_pending[command.seq] = command
        return future

    def resolve_local_activity(self, seq: int, details: dict[str, Any]) -> None:
        """Resolve local activity ``seq`` from a marker's details (see :func:`_local.resolve`)."""
        resolve_local(self, seq, details)

    def cancel_activity(self, command: ScheduleActivity) -> None:
        if command.cancel_requested or self.closed:
            return
        command.cancel_requested = True
        if command.event_id is None:
            # Scheduled and cancelled in the same task: it never reaches history.
            self.commands.remove(command)
            return
        self.commands.append(RequestCancelActivity(target=command, location=user_location()))

    def start_timer(
        self,
        duration_ns: int,
        callback: Callable[..., Any],
        args: Sequence[Any],
        context: contextvars.Context | None,
    ) -> asyncio.TimerHandle:
        if self.evicted or self.read_only is not None or self.query_mode is not None:
            self.check_may_issue("start a timer")
        when = (self.now_ns + duration_ns - self.start_ns) / 1e9
        handle = DurableTimerHandle(when, callback, tuple(args), self.loop, context)
        if duration_ns <= 0:
            self.loop._ready.append(handle)
            return handle
        self.timer_seq += 1
        command = StartTimer(
            seq=self.timer_seq, duration_ns=duration_ns, handle=handle, location=user_location()
        )
        handle.command = command
        self.commands.append(command)
        return handle

    def cancel_timer(self, handle: DurableTimerHandle) -> None:
        command: StartTimer | None = getattr(handle, "command", None)
        if command is None or command.fired or self.closed:
            return
        if command.event_id is None:
            if command in self.commands:
                self.commands.remove(command)
            return
        self.by_event.pop(command.event_id, None)
        self.commands.append(CancelTimer(target=command, location=user_location()))

    def start_child(self, command: StartChildWorkflow) -> None:
        self.check_may_issue("start a child workflow")
        self.child_seq += 1
        command.started = self.loop.create_future()
        command.result = self.loop.create_future()
        self.commands.append(command)

    def cancel_child(self, command: StartChildWorkflow) -> None:
        if self.closed:
            return
        if command.event_id is None:
            if command in self.commands:
                self.commands.remove(command)
            for fut in (command.started, command.result):
                if fut is not None and not fut.done():
                    fut.cancel()
            return
        self.commands.append(RequestCancelChild(target=command, location=user_location()))

    def patched(self, patch_id: str, *, deprecated: bool = False) -> bool:
        """Whether to take a patch's new path; records its marker when it does (once a run).

        Live, it is always True. On replay it is True when the task being replayed recorded
        the marker (plain or deprecated). ``deprecated`` marks the recorded marker so that code
        from which the patch was removed may skip it on replay.
        """
        known = self.patches.get(patch_id)
        if known is not None:
            return known
        self.check_may_issue("record a patch marker")
        result = patch_id in self.recorded_patches if self.replaying else True
        if result:
            details: dict[str, Any] = {"patch_id": patch_id}
            if deprecated:
                details["deprecated"] = True
            self.commands.append(
                RecordMarker(name="patch", details=details, location=user_location())
            )
        self.patches[patch_id] = result
        return result

    def wait_condition(self, fn: Callable[[], bool]) -> asyncio.Future[bool]:
        self.check_may_issue("wait for a condition")
        future: asyncio.Future[bool] = self.loop.create_future()
        self.conditions.append((fn, future))
        return future

    def uuid4(self) -> uuid.UUID:
        return uuid.UUID(int=self.random.getrandbits(128), version=4)

    # --- queries -------------------------------------------------------------------------------

    def query(self, name: str, raw_args: Sequence[Any]) -> Any:
        """Run a query handler read-only against the current state."""
        handler = self.definition.queries[name]
        args = handler.signature.decode_args(raw_args)
        if self.obj is None:
            raise QueryError(
                f"workflow {self.definition.name!r} has not started running yet; nothing to query"
            )
        self.query_mode = name
        previous = asyncio._get_running_loop()
        asyncio._set_running_loop(self.loop)
        budget = self.deadlock_budget_s
        token = WATCHDOG.enter(budget) if budget else 0
        fired = False
        try:
            try:
                return self._context.run(handler.method, self.obj, *args)
            except _DeadlockInterrupt:
                fired = True
        finally:
            if budget:
                fired = _leave_watchdog(token, delivered=fired) or fired
            asyncio._set_running_loop(previous)
            self.query_mode = None
        raise WorkflowDeadlockError(
            f"query {name!r} of workflow {self.definition.name!r} (id "
            f"{self.started.workflow_id!r}) ran for more than {budget} s; queries must return "
            "promptly"
        )

    # --- introspection -------------------------------------------------------------------------

    def waiting_at(self) -> list[str]:
        """Where each blocked coroutine of the workflow is waiting (``file:line in fn``)."""
        out = []
        for task in asyncio.all_tasks(self.loop):
            frames = task.get_stack()
            for frame in reversed(frames):
                filename = frame.f_code.co_filename
                if not filename.startswith(SKIP_PREFIXES):
                    out.append(f"{filename}:{frame.f_lineno} in {frame.f_code.co_name}")
                    break
        return out


def _close_quietly(coro: Any) -> None:
    """Close a coroutine of a dropped instance, whatever its ``finally:`` blocks do.

    They may raise (:class:`_WorkflowEvicted` for a command, or their own errors) or await
    something that yields (``RuntimeError: coroutine ignored GeneratorExit``); either way the
    coroutine is finished, and nothing of it may escape into the engine.
    """
    try:
        coro.close()
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException:  # see the docstring: a dropped instance must not leak
        pass


def _raise_site(exc: BaseException) -> tuple[str, int] | None:
    """The innermost frame of ``exc``'s traceback in user code: where the workflow raised."""
    site = None
    for frame, lineno in traceback.walk_tb(exc.__traceback__):
        filename = frame.f_code.co_filename
        if not filename.startswith(SKIP_PREFIXES):
            site = (filename, lineno)
    return site


def _leave_watchdog(token: int, *, delivered: bool) -> bool:
    """Stop the deadlock watch; True if it fired.

    An interrupt sent just before leaving may not have landed yet. Unless it was seen
    (``delivered``), it is given bytecodes to land on here - any backward jump delivers a
    pending one - so that it cannot strike the engine after the guarded section.
    """
    try:
        fired = WATCHDOG.leave(token)
        if fired and not delivered:
            for _ in range(10_000):
                pass
        return fired
    except _DeadlockInterrupt:
        WATCHDOG.leave(token)
        return True


class _ActivityFuture(asyncio.Future[Any]):
    """The future an activity's result arrives on; cancelling it requests cancellation.

    As in Temporal (``TRY_CANCEL``), cancelling resolves the future at once with an
    :class:`ActivityError` caused by :class:`CancelledError` (retry state ``CANCEL_REQUESTED``),
    whether the workflow cancels the handle itself or a cancelled task was awaiting it.
    """

    def __init__(
        self,
        instance: WorkflowInstance,
        command: ScheduleActivity,
        *,
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        super().__init__(loop=loop)
        self._instance = instance
        self._command = command

    def cancel(self, msg: Any = None) -> bool:
        if self.done():
            return False
        instance = self._instance
        instance.cancel_activity(self._command)
        if self._command.event_id is None:
            # Cancelled in the workflow task that scheduled it: it never reached history, and
            # Temporal's handle then raises a plain asyncio.CancelledError.
            return super().cancel(msg)
        self.set_exception(
            activity_error(
                self._command, CancelledError("activity cancelled"), "CANCEL_REQUESTED"
            )
        )
        return True
