"""The worker side of workflows: the task queue, the instance cache and running a task.

The engine (the server side) decides that a run needs a workflow task and puts the run on the
:class:`WorkflowTaskQueue`; the :class:`WorkflowWorker` takes it, finds the run's cached
instance or rebuilds it by replaying the history the store holds, and activates it with the
events it has not seen. What the task produced (commands) goes back to the engine, which
records and carries it out. Tasks run in the order they were queued, one host-loop callback
each, so a queued task interleaves with other host work exactly as it is scheduled.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from . import _events as ev
from ._commands import WorkflowCommand
from ._instance import WorkflowInstance
from ._replay import replay_into
from ._updates import UpdateRequest

if TYPE_CHECKING:
    from ._engine import Engine
    from ._runs import _Run


class WorkflowTaskQueue:
    """Runs due for a workflow task, handed to ``run_task`` in order on the host loop."""

    __slots__ = ("_due", "_loop", "_run_task")

    def __init__(self, engine: Engine, run_task: Callable[[_Run], None]) -> None:
        self._loop = engine.loop
        self._run_task = run_task
        self._due: deque[_Run] = deque()

    def put(self, run: _Run) -> None:
        """Queue a task for ``run`` unless one is queued already or the run is closed."""
        if not run.task_scheduled and not run.closed:
            run.task_scheduled = True
            self._due.append(run)
            self._loop.call_soon(self._take)

    def __len__(self) -> int:
        return len(self._due)

    def _take(self) -> None:
        run = self._due.popleft()
        run.task_scheduled = False
        if not run.closed:
            self._run_task(run)


class WorkflowWorker:
    """Runs workflow tasks on cached instances; a dropped instance is rebuilt by replay."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def activate(
        self, run: _Run, now_ns: int, updates: Sequence[UpdateRequest] = ()
    ) -> tuple[WorkflowInstance, list[WorkflowCommand]]:
        """Run one task: feed the run's instance the events it has not seen, at ``now_ns``.

        ``updates`` are delivered in the same task (rejected ones are left on the instance).
        """
        instance = run.instance
        if instance is None:
            instance = self.rebuild(run)
        inputs = run.events[run.delivered :]
        if updates:
            return instance, instance.activate(inputs, now_ns, replaying=False, updates=updates)
        # Without updates, the plain call: another front-end's instances take no updates.
        return instance, instance.activate(inputs, now_ns, replaying=False)

    def rebuild(self, run: _Run) -> WorkflowInstance:
        """A fresh instance replayed over the history the store holds (the cache follows it)."""
        engine = self.engine
        run.events = engine.store.read(run.key)
        started = run.events[0]
        assert isinstance(started, ev.WorkflowExecutionStarted)
        runtime = run.definition.runtime
        if runtime is None:
            instance = WorkflowInstance(
                run.definition,
                started,
                deadlock_budget_s=engine.deadlock_budget_s,
                check_types=engine.check_types,
                determinism_guard=engine.determinism_guard,
            )
        else:
            instance = runtime(
                run.definition,
                started,
                deadlock_budget_s=engine.deadlock_budget_s,
                determinism_guard=engine.determinism_guard,
            )
        try:
            run.delivered = replay_into(instance, run.events)
        except BaseException:
            instance.evict()
            raise
        run.instance = instance
        return instance

    def evict(self, run: _Run) -> None:
        """Drop a run's cached instance, closing its coroutines under its torn-down runtime."""
        instance = run.instance
        if instance is not None:
            run.instance = None
            instance.evict()
