"""The engine: the host side that owns histories, runs workflow tasks, timers and children.

It plays the part of Temporal's server and worker together, in one process. Workflow code runs
in :class:`WorkflowInstance` objects, which are a cache: dropping one (a worker crash) and
rebuilding it by replaying the stored history is always allowed and resumes it exactly.
"""

from __future__ import annotations

import asyncio
import random
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence, Sized
from typing import Any, assert_never

from .._guard import install as install_guard
from ..common import RetryPolicy, WorkflowStatus, decide_retry, to_ns
from ..errors import (
    ApplicationError,
    ConcurrentAppendError,
    InvalidArgumentError,
    RunawayWorkflowError,
    TerminatedError,
    UnknownWorkflowError,
    WorkflowAlreadyStartedError,
    WorkflowNotRunningError,
)
from . import _events as ev
from ._activity_server import ActivityServer
from ._activity_worker import ActivityWorker, Attempt, InlineActivity
from ._arrivals import RESOLVED_COMMAND, canonical_order
from ._clock import Clock, VirtualTimeLoop
from ._commands import (
    AcceptUpdate,
    CancelTimer,
    CancelWorkflow,
    CompleteUpdate,
    CompleteWorkflow,
    ContinueAsNew,
    FailWorkflow,
    ModifyWorkflowProperties,
    RecordLocalActivityMarker,
    RecordMarker,
    RequestCancelActivity,
    RequestCancelChild,
    ScheduleActivity,
    StartChildWorkflow,
    StartTimer,
    UpsertSearchAttributes,
    WorkflowCommand,
)
from ._definitions import ActivityDefinition, WorkflowDefinition
from ._failure import decode_failure, encode_failure, error_type_of
from ._instance import WorkflowInstance
from ._local_activities import LocalActivityRunner, OpenTask
from ._observers import EventsAppended, Notice, Observer, Observers, RunClosed
from ._payload import decode, encode
from ._properties import run_properties
from ._replay import replay_into
from ._restart import WORKFLOW_RETRY, restart, restore_host
from ._restore import open_work
from ._runaway import runaway_report
from ._runs import (
    CANCELLED,
    COMPLETED,
    CONTINUED_AS_NEW,
    FAILED,
    TERMINATED,
    Execution,
    _Run,
)
from ._store import InMemoryStore, Store
from ._updates import UpdateRequest, UpdateState
from ._workflow_worker import WorkflowTaskQueue, WorkflowWorker

ActivityImpl = ActivityDefinition | InlineActivity

MAX_APPEND_CONFLICTS = 10
"""Consecutive rejected appends to one run after which the store is taken to be broken."""

class Engine:
    """Runs workflows on a host loop; see the module docstring.

    Args:
        clock: where time and timers come from.
        loop: the host event loop (from ``clock.new_event_loop()``).
        workflows: workflow definitions by name.
        activities: activity implementations by name (definitions or inline mocks).
        store: where histories are appended (in memory by default).
        seed: seeds run ids and each run's randomness, so runs are reproducible.
        deadlock_budget_s: real seconds a workflow task may run without yielding.
        replay_every_task: rebuild each run's instance by replaying its whole history (a crash)
            before workflow tasks 1, 2, 4, 8... and once at the close: every divergence is
            found, at a cost linear in the history (before every task it was quadratic).
        max_unbounded_attempts: stop an activity whose retry policy has no limit (no maximum
            attempts, no schedule-to-close timeout) after this many failed attempts, raising
            :class:`UnboundedRetryError` from the drive; None retries forever, as Temporal does.
        max_history_events: stop a run whose history reaches this many events with
            :class:`RunawayWorkflowError` (raised from the drive) before its next workflow
            task; None: no bound (Temporal warns at 10,240 events and fails at 51,200).
        check_types: check the arguments workflow code passes to activities and child
            workflows against their type hints (see :mod:`._checks`).
        determinism_guard: fail workflow code that reads the wall clock or the process's
            randomness, or does real I/O, at the call (see :mod:`pytest_durable._guard_checks`).
    """

    def __init__(
        self,
        *,
        clock: Clock,
        loop: asyncio.AbstractEventLoop,
        workflows: Mapping[str, WorkflowDefinition] | None = None,
        activities: Mapping[str, ActivityImpl] | None = None,
        store: Store | None = None,
        seed: int = 0,
        deadlock_budget_s: float | None = 2.0,
        replay_every_task: bool = False,
        max_unbounded_attempts: int | None = None,
        max_history_events: int | None = None,
        check_types: bool = True,
        determinism_guard: bool = True,
    ) -> None:
        self.clock = clock
        self.loop = loop
        if isinstance(loop, VirtualTimeLoop) and loop.io_waiters is None:
            # Sockets hold time jumps only while an activity attempt may be awaiting them.
            loop.io_waiters = 0
        self.loop_thread = threading.get_ident()
        #: The host loop's queue of ready callbacks (asyncio's), to see what an append set off.
        self._host_ready: Sized | None = getattr(loop, "_ready", None)
        self.workflows: dict[str, WorkflowDefinition] = dict(workflows or {})
        self.activities: dict[str, ActivityImpl] = dict(activities or {})
        self.store = store if store is not None else InMemoryStore()
        self.random = random.Random(seed)
        self.deadlock_budget_s = deadlock_budget_s
        self.replay_every_task = replay_every_task
        self.max_unbounded_attempts = max_unbounded_attempts
        self.max_history_events = max_history_events
        self.check_types = check_types
        self.determinism_guard = determinism_guard
        if determinism_guard:
            install_guard()
        #: When set, an activity runs for real only if its name is in ``real_activities``.
        self.strict_activities = False
        self.real_activities: set[str] = set()
        self.executions: dict[str, Execution] = {}
        #: Subscribers to the append seam (see :mod:`._observers`).
        self.observers = Observers()
        self._activities = ActivityServer(self)
        #: The worker side of workflow tasks: the instance cache and running a task.
        self.workflow_worker = WorkflowWorker(self)
        #: Runs due for a workflow task, between the engine and the worker.
        self.task_queue = WorkflowTaskQueue(self, self._run_workflow_task)
        self._local = LocalActivityRunner(self)
        #: Consulted as each attempt starts, with the attempt and the worker's way of running
        #: its code; returning True means the hook took the attempt over (fault injection).
        self.attempt_hook: Callable[[Attempt, Callable[[Attempt], None]], bool] | None = None

    @property
    def activity_worker(self) -> ActivityWorker:
        """The worker side of activities (runs their code; see :mod:`._activity_worker`)."""
        return self._activities.worker

    def observe(
        self, observer: Observer, *kinds: type[Notice]
    ) -> Callable[[], None]:
        """Call ``observer`` with every notice of ``kinds`` (all when none are given).

        Returns a function that unsubscribes it. See :mod:`._observers` for the notices.
        """
        return self.observers.subscribe(observer, kinds)

    # --- registry ------------------------------------------------------------------------------

    def activity_implementation(self, name: str) -> ActivityImpl | None:
        return self.activities.get(name)

    def activity_names(self) -> Iterable[str]:
        return self.activities.keys()

    def workflow_definition(self, name: str) -> WorkflowDefinition:
        definition = self.workflows.get(name)
        if definition is None:
            known = ", ".join(sorted(self.workflows)) or "none"
            raise UnknownWorkflowError(
                f"unknown workflow type {name!r}; registered workflows: {known}"
            )
        return definition

    # --- starting ------------------------------------------------------------------------------

    def _new_run_id(self) -> str:
        return f"{self.random.getrandbits(128):032x}"

    def start_workflow(
        self,
        definition: WorkflowDefinition,
        args: Sequence[Any],
        *,
        workflow_id: str,
        parent: tuple[_Run, int] | None = None,
        retry_policy: RetryPolicy | None = None,
        memo: dict[str, Any] | None = None,
        search_attributes: dict[str, Any] | None = None,
    ) -> Execution:
        """Start a run; ``args`` are already encoded. The first workflow task is scheduled.

        ``memo`` and ``search_attributes`` (JSON values by name) are recorded on its start.

        With a ``retry_policy``, a run that fails is followed by a new run (the next attempt)
        after the policy's backoff, as Temporal retries workflows.
        """
        existing = self.executions.get(workflow_id)
        if existing is not None and not existing.done.done():
            raise WorkflowAlreadyStartedError(
                f"a workflow with id {workflow_id!r} is already running "
                f"({existing.current.definition.name}, run {existing.current.run_id}); wait for "
                "it to finish or choose another id"
            )
        self.workflows.setdefault(definition.name, definition)
        execution = Execution(workflow_id, self.loop.create_future(), parent, retry_policy)
        self.executions[workflow_id] = execution
        self._start_run(
            execution,
            definition,
            list(args),
            continued_from=None,
            memo=memo,
            search_attributes=search_attributes,
        )
        return execution

    def resume(self, definition: WorkflowDefinition, events: Sequence[ev.Event]) -> Execution:
        """Continue a run recorded elsewhere, stopped mid-way, under ``definition``'s code.

        The history is replayed first (a change that breaks it raises
        :class:`NondeterminismError` and adopts nothing), then stored as the run's history, and
        the work it left open is picked up (see :mod:`._restore`): timers fire at their
        recorded due time, open activities are scheduled again (attempt 1), a task is run for
        events the workflow has not seen. The run has no parent and no retry policy here.

        Raises:
            WorkflowAlreadyStartedError: a run of the same workflow id is open here.
            InvalidArgumentError: the history has a child workflow still running.
        """
        started = events[0]
        assert isinstance(started, ev.WorkflowExecutionStarted)
        workflow_id = started.workflow_id
        existing = self.executions.get(workflow_id)
        if existing is not None and existing.is_open:
            raise WorkflowAlreadyStartedError(
                f"cannot resume workflow {workflow_id!r}: a run of it is already open here "
                f"(run {existing.current.run_id})"
            )
        if existing is not None and any(r.run_id == started.run_id for r in existing.runs):
            raise WorkflowAlreadyStartedError(
                f"cannot resume run {started.run_id} of workflow {workflow_id!r}: that run has "
                "already run here (and finished)"
            )
        work = open_work(events)
        if work.children:
            child = work.children[0]
            raise InvalidArgumentError(
                f"cannot resume workflow {workflow_id!r}: its child workflow "
                f"{child.workflow_id!r} (event {child.event_id}) is still running, and its "
                "history is not part of this one; resume from a point where its children "
                "have finished"
            )
        instance = WorkflowInstance(
            definition,
            started,
            deadlock_budget_s=self.deadlock_budget_s,
            check_types=self.check_types,
            determinism_guard=self.determinism_guard,
        )
        delivered = replay_into(instance, events)
        self.workflows.setdefault(definition.name, definition)
        execution = Execution(workflow_id, self.loop.create_future(), None)
        self.executions[workflow_id] = execution
        run = _Run(execution, definition, started.run_id)
        execution.runs.append(run)
        self._append(run, list(events))
        run.delivered = delivered
        run.instance = None if self.replay_every_task else instance
        for scheduled in work.activities:
            command = instance.by_event.get(scheduled.event_id)
            if isinstance(command, ScheduleActivity) and command.definition is not None:
                self.activities.setdefault(scheduled.activity_type, command.definition)
        restore_host(self, run, work, {})
        return execution

    def restart(self) -> int:
        """Lose everything in memory and rebuild every open run from the store.

        See :mod:`._restart`: instances, attempts in flight, timers and activity records go;
        each open run's history and the progress kept beside it bring them back. Returns how
        many open runs were rebuilt.
        """
        return restart(self)

    def _start_run(
        self,
        execution: Execution,
        definition: WorkflowDefinition,
        args: list[Any],
        *,
        continued_from: _Run | None,
        run_id: str | None = None,
        attempt: int = 1,
        memo: dict[str, Any] | None = None,
        search_attributes: dict[str, Any] | None = None,
    ) -> _Run:
        run = _Run(execution, definition, run_id or self._new_run_id())
        if continued_from is not None and memo is None and search_attributes is None:
            # As on Temporal, the next run (continue-as-new, or a retry) keeps both as they stand.
            kept_memo, kept_attributes = run_properties(continued_from.events)
            memo, search_attributes = kept_memo or None, kept_attributes or None
        parent = execution.parent
        first_run_id = execution.runs[0].run_id if execution.runs else run.run_id
        execution.runs.append(run)
        started = ev.WorkflowExecutionStarted(
            event_id=1,
            time_ns=self.clock.now_ns(),
            workflow_type=definition.name,
            workflow_id=execution.workflow_id,
            run_id=run.run_id,
            input=args,
            randomness_seed=self.random.getrandbits(63),
            attempt=attempt,
            parent_workflow_id=parent[0].workflow_id if parent else None,
            parent_run_id=parent[0].run_id if parent else None,
            continued_from_run_id=continued_from.run_id if continued_from else None,
            first_run_id=first_run_id,
            memo=memo or None,
            search_attributes=search_attributes or None,
        )
        self._append(run, [started])
        self._schedule_task(run)
        return run

    # --- messages --------------------------------------------------------------------------------

    def _open_run(self, workflow_id: str, what: str) -> _Run:
        execution = self.executions.get(workflow_id)
        if execution is None:
            known = ", ".join(sorted(self.executions)) or "none"
            raise UnknownWorkflowError(f"no workflow with id {workflow_id!r}; known ids: {known}")
        run = execution.current
        if run.closed:
            raise WorkflowNotRunningError(
                f"cannot {what} workflow {workflow_id!r}: it has already {run.status} "
                f"(run {run.run_id})"
            )
        return run

    def signal(self, workflow_id: str, name: str, args: Sequence[Any]) -> None:
        run = self._open_run(workflow_id, f"signal {name!r} to")
        run.definition.signal_name(name)  # an unknown name raises, listing the known ones
        self._append_input(
            run,
            [
                ev.WorkflowExecutionSignaled(
                    event_id=run.next_event_id,
                    time_ns=self.clock.now_ns(),
                    signal_name=name,
                    input=list(args),
                )
            ],
        )

    def cancel(self, workflow_id: str, reason: str = "") -> None:
        execution = self.executions.get(workflow_id)
        if execution is not None and execution.retry_timer is not None:
            # Between attempts there is no run to ask: the next attempt never starts.
            execution.retry_timer.cancel()
            execution.retry_timer = None
            if execution.parent is not None:
                self._notify_parent(execution, execution.current, cancelled=True)
            execution.done.set_result(None)
            return
        run = self._open_run(workflow_id, "cancel")
        if run.cancel_requested:
            return
        # Per run: a run that continued as new instead of cancelling can be cancelled again.
        run.cancel_requested = True
        self._append_input(
            run,
            [
                ev.WorkflowExecutionCancelRequested(
                    event_id=run.next_event_id, time_ns=self.clock.now_ns(), reason=reason
                )
            ],
        )

    def terminate(self, workflow_id: str, reason: str = "", details: Sequence[Any] = ()) -> None:
        """End a workflow at once, recording ``WorkflowExecutionTerminated`` (details encoded).

        Unlike :meth:`cancel`, the workflow's code never runs again: its coroutines are closed
        under a torn-down runtime (a ``finally:`` records nothing), its timers and activities
        are dropped, its children are cancelled, and it is not retried. Between the attempts of
        a retried workflow, the next attempt is simply not started.
        """
        execution = self.executions.get(workflow_id)
        if execution is not None and execution.retry_timer is not None:
            execution.retry_timer.cancel()
            execution.retry_timer = None
            if execution.parent is not None:
                self._notify_parent(execution, execution.current, terminated=True)
            execution.done.set_result(None)
            return
        run = self._open_run(workflow_id, "terminate")
        event = ev.WorkflowExecutionTerminated(
            event_id=run.next_event_id,
            time_ns=self.clock.now_ns(),
            reason=reason,
            details=list(details),
        )
        self._append_input(run, [event], schedule=False)
        self._evict(run)
        error = TerminatedError(reason or "Workflow terminated", *details)
        self._close(run, TERMINATED, exception=error)

    def query(self, workflow_id: str, name: str, args: Sequence[Any]) -> Any:
        execution = self.executions.get(workflow_id)
        if execution is None:
            raise UnknownWorkflowError(f"no workflow with id {workflow_id!r}")
        run = execution.current
        instance = run.instance or self._rebuild(run)
        answer = instance.query(name, args)
        # Answers cross the same JSON boundary as everything else, as on a real server: the
        # test gets a copy (never the workflow's own objects) and unserialisable ones fail here.
        encoded = encode(answer, where=f"the answer of query {name!r}")
        # Another front-end's definitions keep their queries to themselves: a JSON value then.
        query = run.definition.queries.get(name)
        return decode(encoded, query.signature.return_hint if query is not None else None)

    def drop_instance(self, workflow_id: str | None = None) -> int:
        """Forget cached workflow instances (all, or one id's): a simulated worker crash."""
        dropped = 0
        for execution in self.executions.values():
            if workflow_id is not None and execution.workflow_id != workflow_id:
                continue
            for run in execution.runs:
                if run.instance is not None:
                    self._evict(run)
                    dropped += 1
        return dropped

    def close(self) -> None:
        """Evict every cached instance: their coroutines are closed now, recording nothing."""
        self.drop_instance()

    def _evict(self, run: _Run) -> None:
        """Drop a run's cached instance, closing its coroutines under its torn-down runtime."""
        if run.open_task is not None:
            # The open task's local activities die with the worker; replay re-runs them.
            self._local.abandon(run)
            run.open_task = None
            self._flush_buffered(run)
            self._schedule_task(run)
        self.workflow_worker.evict(run)

    # --- workflow tasks ------------------------------------------------------------------------

    def _schedule_task(self, run: _Run) -> None:
        # A task held open for local activities schedules the next one when it completes.
        if run.open_task is None:
            self.task_queue.put(run)

    # --- the append seam -----------------------------------------------------------------------

    def _append(self, run: _Run, events: list[ev.Event]) -> None:
        """The one way into a history: compare-and-set append, then the cache, then observers.

        ``events`` are numbered from ``run.next_event_id`` (numbered where they are built). The
        cache (``run.events``) only ever holds what the store accepted.

        Raises:
            ConcurrentAppendError: the store holds more than the cache; the caller recovers.
        """
        self.store.append(run.key, events, expected_length=len(run.events))
        run.events.extend(events)
        run.conflicts = 0
        if self.observers.appended:
            self.observers.notify(EventsAppended(run=run.key, events=tuple(events)))

    def _resync(self, run: _Run, error: ConcurrentAppendError) -> None:
        """The store rejected an append: drop the instance and re-read history from the store."""
        run.conflicts += 1
        if run.conflicts > MAX_APPEND_CONFLICTS:
            raise error
        self._evict(run)
        run.events = self.store.read(run.key)
        run.delivered = 0

    def _append_input(self, run: _Run, events: list[ev.Event], *, schedule: bool = True) -> None:
        """Append events that the workflow must see and (unless told not to) schedule a task.

        Input events are facts the server learnt. Results of the run's commands (see
        :mod:`._arrivals`) wait for the next workflow task to be taken and are recorded then,
        in one canonical order; a signal is recorded at once (ahead of them: a task runs its
        signal handlers first anyway); anything else (a cancellation request, a termination)
        records the waiting results first, so that it keeps its place after them.
        """
        if run.closed or run.closing:
            return
        if run.open_task is not None:
            # A workflow task is open (local activities run): as Temporal's server buffers
            # events during a task, they follow its completion.
            run.buffered.extend(events)
            return
        last = type(events[-1])
        if last in RESOLVED_COMMAND:
            # One command's events (started, then its outcome). The first result to arrive
            # queues the step that records them all and then schedules the task, so that what
            # follows an append (a crash point) still comes between the record and the task.
            if not run.arrivals:
                self.loop.call_soon(self._arrived, run)
            run.arrivals.extend(events)
            return
        if run.arrivals and last is not ev.WorkflowExecutionSignaled:
            self._record_arrivals(run)
        self._record_input(run, events)
        if schedule:
            self._schedule_task(run)

    def _arrived(self, run: _Run) -> None:
        """Record the results that arrived at this instant, then run the run's task.

        The task runs in this same loop turn (where the task an arrival queued used to run),
        unless the record set something off (an observer queued a fault aimed at this point
        of the history): then it is queued behind that, so that it happens first.
        """
        if not run.arrivals or run.closed or run.closing:
            return
        ready = self._host_ready
        queued = len(ready) if ready is not None else -1
        self._record_arrivals(run)
        if run.task_scheduled or run.open_task is not None:
            return  # the task already queued sees them
        if ready is None or len(ready) != queued:
            self._schedule_task(run)
        else:
            self._run_workflow_task(run)

    def _record_arrivals(self, run: _Run) -> None:
        """Record the results waiting for the run's next task, in canonical order."""
        arrivals, run.arrivals = run.arrivals, []
        # One activity's started-and-outcome pair (the common case) is in order already.
        count = len(arrivals)
        if count > 2 or (count == 2 and type(arrivals[0]) is not ev.ActivityTaskStarted):
            arrivals = canonical_order(arrivals)
        # Numbered in place: they are frozen, but nobody else holds them yet (rebuilding them
        # would cost more than the rest of recording them).
        first_id = len(run.events) + 1
        for offset, event in enumerate(arrivals):
            if event.event_id != first_id + offset:
                object.__setattr__(event, "event_id", first_id + offset)
        try:
            self._append(run, arrivals)
        except ConcurrentAppendError as error:
            self._resync(run, error)
            self._record_input(run, arrivals)  # renumbered after what the store gained

    def _record_input(self, run: _Run, events: list[ev.Event]) -> None:
        """Append input events now.

        A rejected append re-reads the history and appends them again, renumbered, after
        whatever the store gained meanwhile.
        """
        while True:
            base = len(run.events)
            if events[0].event_id != base + 1:
                events = [_renumber(e, base + i + 1) for i, e in enumerate(events)]
            try:
                self._append(run, events)
            except ConcurrentAppendError as error:
                self._resync(run, error)
                continue
            break

    def history(self, run: _Run) -> list[ev.Event]:
        """The run's events as the store holds them (the store is the truth, not the cache)."""
        return self.store.read(run.key)

    def _rebuild(self, run: _Run) -> WorkflowInstance:
        return self.workflow_worker.rebuild(run)

    def _run_workflow_task(self, run: _Run) -> None:
        """Run a queued task on the worker, then record and carry out what it commanded."""
        if run.arrivals:
            self._record_arrivals(run)
        limit = self.max_history_events
        if limit is not None and len(run.events) >= limit:
            self._history_limit_reached(run, limit)
        run.tasks_run += 1
        if self.replay_every_task and _is_replay_point(run.tasks_run):
            # Rebuild from the whole history, as after a crash: a divergence anywhere so far
            # fails here. Replaying before every task would cost O(n^2) over a run; before
            # tasks 1, 2, 4, 8... (and once at the close) it costs O(n) and still checks all.
            self._evict(run)
        now = self.clock.now_ns()
        requests, run.update_requests = run.update_requests, []
        instance, commands = self.workflow_worker.activate(run, now, requests)
        if instance.task_failure is not None:
            self._task_failed(run, instance, requests)
            return
        run.task_failure = None
        if requests:
            if instance.rejected:
                self._reject_updates(run, instance)
            if not commands and run.delivered == len(run.events) and not instance.local_pending:
                # Only rejected updates: as on Temporal, they leave no trace in history.
                if self.replay_every_task:
                    self._evict(run)
                return
        if instance.local_pending or instance.local_cancels or run.local_activities:
            task = OpenTask(started_ns=now, requests=requests)
            task.add(commands, now)
            if self._hold_for_local_activities(run, instance, task):
                return
            self._complete_task(run, instance, task.commands, now, task.times, requests)
            return
        run.open_task = None  # no local activity in sight: nothing to hold the task for
        self._complete_task(run, instance, commands, now, None, requests)

    def _task_failed(
        self, run: _Run, instance: WorkflowInstance, requests: Sequence[UpdateRequest]
    ) -> None:
        """The task failed without failing the run (Temporal's semantics for a bug).

        As on Temporal, nothing is recorded and the run stays open; the worker drops the
        instance, and the task is retried, from history, when something new reaches the run
        (its updates are delivered again then). A wait for the run reports the failure.
        """
        run.task_failure = instance.task_failure
        run.update_requests[:0] = requests
        self.workflow_worker.evict(run)

    def _hold_for_local_activities(
        self, run: _Run, instance: WorkflowInstance, task: OpenTask
    ) -> bool:
        """Keep the task open while local activities it scheduled run; True if it is held."""
        for seq in instance.local_cancels:
            self._local.cancel(run, seq)
        instance.local_cancels.clear()
        if not instance.local_pending or instance.closed:
            if run.local_activities:
                self._local.abandon(run)
            run.open_task = None
            return False
        run.open_task = task
        for command in list(instance.local_pending.values()):
            if not command.started:
                self._local.start(run, command)
        return True

    def _local_resolved(self, run: _Run, seq: int, details: dict[str, Any]) -> None:
        """A local activity of the open task resolved: record it and let the code go on.

        The code resumes at the activity's completion time (the marker's), live and on replay.
        """
        instance = run.instance
        task = run.open_task
        if task is None or instance is None or seq not in instance.local_pending:
            return
        instance.resolve_local_activity(seq, details)
        now = details["data"]["complete_time_ns"]
        commands = instance.activate([], now, replaying=False)
        if instance.task_failure is not None:
            # The code failed the task after the activity resolved: as on Temporal, the task and
            # its markers are discarded, its other local activities stopped, the run kept open.
            self._local.abandon(run)
            run.open_task = None
            self._task_failed(run, instance, task.requests)
            self._flush_buffered(run)
            return
        task.add(commands, now)
        if not self._hold_for_local_activities(run, instance, task):
            self._complete_task(
                run, instance, task.commands, task.started_ns, task.times, task.requests
            )
            self._flush_buffered(run)

    def _flush_buffered(self, run: _Run) -> None:
        """Append the input events that waited for an open task to complete."""
        buffered, run.buffered = run.buffered, []
        if buffered and not (run.closed or run.closing):
            # In arrival order, as Temporal's server writes the events it buffered.
            if run.arrivals:
                self._record_arrivals(run)
            self._record_input(run, buffered)
            self._schedule_task(run)

    def _complete_task(
        self,
        run: _Run,
        instance: WorkflowInstance,
        commands: list[WorkflowCommand],
        started_ns: int,
        times: list[int] | None,
        requests: Sequence[UpdateRequest],
    ) -> None:
        """Record the task's completion and its commands' events, then carry them out.

        The task's events bear the time it started (``started_ns``); a command issued after a
        local activity resolved bears that activity's completion time (when the code issued
        it): ``times`` holds each command's, or is None when all were issued at the start.
        """
        base = len(run.events)
        new: list[ev.Event] = [ev.WorkflowTaskCompleted(event_id=base + 1, time_ns=started_ns)]
        new_run_id = self._new_run_id
        for index, command in enumerate(commands):
            issued_ns = started_ns if times is None else times[index]
            event = command.to_event(base + index + 2, issued_ns, new_run_id)
            new.append(event)
            instance.bind(command, event.event_id)
        try:
            self._append(run, new)
        except ConcurrentAppendError as error:
            # The instance ran a task history never recorded: drop it, re-read, re-drive (as
            # Temporal evicts on a failed workflow task).
            self._resync(run, error)
            run.update_requests[:0] = requests  # delivered again by the re-driven task
            self._schedule_task(run)
            return
        run.delivered = len(run.events)
        if commands and commands[-1].closes_run:
            run.closing = True
            if self.replay_every_task:
                # The last check covers the tasks since the last replay point, the close too.
                self._evict(run)
                self._rebuild(run)
                self._evict(run)
        for index, command in enumerate(commands, 1):
            self._carry_out(run, command, new[index])

    def _reject_updates(self, run: _Run, instance: WorkflowInstance) -> None:
        """Fail the updates the workflow rejected, with the reason as it crosses the wire."""
        for update_id, reason in instance.rejected:
            state = run.updates.get(update_id)
            if state is not None:
                state.finish(error=decode_failure(encode_failure(reason)))
        instance.rejected.clear()

    def update(
        self, workflow_id: str, name: str, args: Sequence[Any], update_id: str
    ) -> UpdateState:
        """Send an update (``args`` encoded) to the open run; it is delivered in the next task.

        An ``update_id`` this run has already seen returns that update's state (Temporal
        deduplicates updates by id).
        """
        run = self._open_run(workflow_id, f"update {name!r}")
        run.definition.update_name(name)  # an unknown name raises, listing the known ones
        existing = run.updates.get(update_id)
        if existing is not None:
            return existing
        state = UpdateState(update_id, name, self.loop.create_future())
        run.updates[update_id] = state
        run.update_requests.append(UpdateRequest(update_id, name, list(args)))
        self._schedule_task(run)
        return state

    def _history_limit_reached(self, run: _Run, limit: int) -> None:
        """Stop a run whose history outgrew ``limit``: raised on the host loop, it ends the drive.

        The run is left as it is (no task runs, nothing is recorded), so its history shows
        exactly how far it got.
        """
        raise RunawayWorkflowError(
            f"workflow {run.workflow_id!r} ({run.definition.name}) has {len(run.events):,} "
            f"events in its history, the environment's max_history_events ({limit:,}; "
            "Temporal fails a workflow at 51,200). "
            + runaway_report(run, self.clock.now_ns())
            + "\nFix the loop (or the mock that never lets it end), or raise the bound: "
            "DurableEnvironment(max_history_events=...), "
            "@pytest.mark.durable(max_history_events=...) or --durable-max-history-events."
        )

    def _carry_out(self, run: _Run, command: WorkflowCommand, event: ev.Event) -> None:
        """Do what a recorded command asks: schedule work, start timers, close the run."""
        match command:
            case ScheduleActivity():
                assert isinstance(event, ev.ActivityTaskScheduled)
                if command.definition is not None:
                    self.activities.setdefault(command.activity_type, command.definition)
                self._activities.schedule(run, event, command.retry_policy)
            case StartTimer():
                assert isinstance(event, ev.TimerStarted)
                run.timers[event.event_id] = self.clock.call_at(
                    self.loop, event.time_ns + event.duration_ns, self._timer_fired, run, event
                )
            case CancelTimer():
                assert isinstance(event, ev.TimerCanceled)
                timer = run.timers.pop(event.started_event_id, None)
                if timer is not None:
                    timer.cancel()
            case RequestCancelActivity():
                assert isinstance(event, ev.ActivityTaskCancelRequested)
                self._activities.cancel(run, event.scheduled_event_id)
            case StartChildWorkflow():
                assert isinstance(event, ev.StartChildWorkflowExecutionInitiated)
                self._start_child(run, command, event)
            case RequestCancelChild():
                assert isinstance(event, ev.RequestCancelChildWorkflowExecution)
                child_id = run.children.get(event.initiated_event_id)
                child = self.executions.get(child_id) if child_id else None
                if child is not None and child.is_open:
                    self.cancel(child.workflow_id, reason="parent requested cancellation")
            case CompleteWorkflow():
                self._close(run, COMPLETED, result=command.result)
            case FailWorkflow():
                self._close(run, FAILED, exception=command.exception, is_bug=command.is_bug)
            case CancelWorkflow():
                self._close(run, CANCELLED)
            case ContinueAsNew():
                assert isinstance(event, ev.WorkflowExecutionContinuedAsNew)
                if command.definition is not None:
                    self.workflows.setdefault(command.workflow_type, command.definition)
                try:
                    definition = self.workflow_definition(command.workflow_type)
                except UnknownWorkflowError as exc:
                    # History keeps what the code did; the chain ends here, with the reason.
                    self._close(run, FAILED, exception=exc, is_bug=True)
                    return
                self._close(run, CONTINUED_AS_NEW)
                self._start_run(
                    run.execution,
                    definition,
                    command.args,
                    continued_from=run,
                    run_id=event.new_run_id,
                )
            case (
                RecordMarker()
                | RecordLocalActivityMarker()
                | UpsertSearchAttributes()
                | ModifyWorkflowProperties()
            ):
                pass  # markers, memo and search attributes ask nothing of the host
            case AcceptUpdate():
                state = run.updates.get(command.update_id)
                if state is not None:
                    state.accepted = True
            case CompleteUpdate():
                state = run.updates.get(command.update_id)
                if state is not None:
                    if command.failure is not None:
                        state.finish(error=decode_failure(command.failure))
                    else:
                        state.finish(result=command.result)
            case _:
                assert_never(command)

    def _timer_fired(self, run: _Run, started: ev.TimerStarted) -> None:
        if run.closed or run.timers.pop(started.event_id, None) is None:
            return
        self._append_input(
            run,
            [
                ev.TimerFired(
                    event_id=len(run.events) + 1,
                    time_ns=self.clock.now_ns(),
                    started_event_id=started.event_id,
                )
            ],
        )

    # --- children --------------------------------------------------------------------------------

    def _start_child(
        self, run: _Run, command: StartChildWorkflow, event: ev.StartChildWorkflowExecutionInitiated
    ) -> None:
        if command.definition is not None:
            self.workflows.setdefault(command.workflow_type, command.definition)
        try:
            definition = self.workflow_definition(command.workflow_type)
            child = self.start_workflow(
                definition,
                command.args,
                workflow_id=command.workflow_id,
                parent=(run, event.event_id),
                retry_policy=command.retry_policy,
            )
        except (WorkflowAlreadyStartedError, UnknownWorkflowError) as exc:
            self._append_input(
                run,
                [
                    ev.StartChildWorkflowExecutionFailed(
                        event_id=run.next_event_id,
                        time_ns=self.clock.now_ns(),
                        initiated_event_id=event.event_id,
                        cause=str(exc),
                    )
                ],
            )
            return
        run.children[event.event_id] = child.workflow_id
        self._append_input(
            run,
            [
                ev.ChildWorkflowExecutionStarted(
                    event_id=run.next_event_id,
                    time_ns=self.clock.now_ns(),
                    initiated_event_id=event.event_id,
                    run_id=child.current.run_id,
                )
            ],
        )

    def _notify_parent(
        self, execution: Execution, run: _Run, *, cancelled: bool = False, terminated: bool = False
    ) -> None:
        assert execution.parent is not None
        parent, initiated = execution.parent
        if parent.closed:
            return
        now = self.clock.now_ns()
        closing = run.events[-1]
        notice: ev.Event
        if cancelled:
            notice = ev.ChildWorkflowExecutionCanceled(
                event_id=parent.next_event_id, time_ns=now, initiated_event_id=initiated
            )
        elif terminated or isinstance(closing, ev.WorkflowExecutionTerminated):
            notice = ev.ChildWorkflowExecutionTerminated(
                event_id=parent.next_event_id, time_ns=now, initiated_event_id=initiated
            )
        elif isinstance(closing, ev.WorkflowExecutionCompleted):
            notice = ev.ChildWorkflowExecutionCompleted(
                event_id=parent.next_event_id,
                time_ns=now,
                initiated_event_id=initiated,
                result=closing.result,
            )
        elif run.status == FAILED:
            # Usually the recorded failure; a continue-as-new to an unknown type has none.
            if isinstance(closing, ev.WorkflowExecutionFailed):
                failure = closing.failure
            else:
                assert run.exception is not None
                failure = encode_failure(run.exception)
            notice = ev.ChildWorkflowExecutionFailed(
                event_id=parent.next_event_id,
                time_ns=now,
                initiated_event_id=initiated,
                failure=failure,
                retry_state=run.retry_state.value,
            )
        else:
            notice = ev.ChildWorkflowExecutionCanceled(
                event_id=parent.next_event_id, time_ns=now, initiated_event_id=initiated
            )
        self._append_input(parent, [notice])

    # --- closing ---------------------------------------------------------------------------------

    def _close(
        self,
        run: _Run,
        status: WorkflowStatus,
        *,
        result: Any = None,
        exception: BaseException | None = None,
        is_bug: bool = False,
    ) -> None:
        run.closed = True
        run.status = status
        run.result = result
        run.exception = exception
        for state in run.updates.values():
            # Temporal's answer to an update whose workflow closed before it completed.
            state.finish(
                error=ApplicationError(
                    "Workflow Update failed because the Workflow completed before the Update "
                    "completed.",
                    type="AcceptedUpdateCompletedWorkflow",
                    non_retryable=True,
                )
            )
        run.update_requests.clear()
        for timer in run.timers.values():
            timer.cancel()
        run.timers.clear()
        self._activities.abandon(run)
        self._local.abandon(run)
        for child_id in run.children.values():
            child = self.executions.get(child_id)
            if child is not None and child.is_open:
                # Temporal's default parent-close policy: terminate; we cancel, more gently.
                self.cancel(child_id, reason="parent closed")
        if self.observers.run_closed:
            self.observers.notify(RunClosed(run=run.key, status=status))
        execution = run.execution
        if status == FAILED and exception is not None and self._retry(run, exception, is_bug):
            return
        if status != CONTINUED_AS_NEW:
            if execution.parent is not None:
                self._notify_parent(execution, run)
            if not execution.done.done():
                execution.done.set_result(None)

    def _retry(self, run: _Run, exception: BaseException, is_bug: bool) -> bool:
        """Schedule the next attempt of a failed run if its policy says so; True if it did.

        A bug in workflow code (not a declared failure) is never retried: it fails at once.
        """
        execution = run.execution
        policy = execution.retry_policy
        if policy is None:
            return False
        started = run.events[0]
        assert isinstance(started, ev.WorkflowExecutionStarted)
        next_delay = None
        if isinstance(exception, ApplicationError) and exception.next_retry_delay is not None:
            next_delay = to_ns(exception.next_retry_delay, what="next_retry_delay")
        now = self.clock.now_ns()
        decision = decide_retry(
            policy,
            attempt=started.attempt,
            retryable=not is_bug
            and not (isinstance(exception, ApplicationError) and exception.non_retryable),
            error_type=error_type_of(exception),
            next_retry_delay_ns=next_delay,
            now_ns=now,
            schedule_to_close_deadline_ns=None,
        )
        run.retry_state = decision.state
        if decision.delay_ns is None:
            return False

        def next_attempt() -> None:
            execution.retry_timer = execution.retry_next = None
            self.store.save_progress(run.key, WORKFLOW_RETRY, None)
            self._start_run(
                execution,
                run.definition,
                list(started.input),
                continued_from=run,
                attempt=started.attempt + 1,
            )

        due = now + decision.delay_ns
        self.store.save_progress(run.key, WORKFLOW_RETRY, due)
        execution.retry_next = next_attempt
        execution.retry_timer = self.clock.call_at(self.loop, due, next_attempt)
        return True

    # --- workers ---------------------------------------------------------------------------------

    def pause_activity_worker(self) -> None:
        """Stop picking up activities until :meth:`resume_activity_worker`."""
        self._activities.pause()

    def resume_activity_worker(self) -> None:
        """Pick up activities again."""
        self._activities.resume()


def _is_replay_point(task: int) -> bool:
    """Whether replay-every-task mode rebuilds before workflow task number ``task``."""
    return task & (task - 1) == 0


def _renumber(event: ev.Event, event_id: int) -> ev.Event:
    if event.event_id == event_id:
        return event
    if event.event_id == 0:
        # A fresh event nobody else holds yet: number it in place instead of rebuilding it.
        object.__setattr__(event, "event_id", event_id)
        return event
    fields = {name: getattr(event, name) for name in event.__dataclass_fields__}
    fields["event_id"] = event_id
    return type(event)(**fields)

