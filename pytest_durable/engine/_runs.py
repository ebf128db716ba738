"""The engine's state per run and per workflow id."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from ..common import RetryPolicy, WorkflowStatus
from ..errors import RetryState
from . import _events as ev
from ._clock import TimerHandle
from ._definitions import WorkflowDefinition
from ._instance import WorkflowInstance
from ._store import RunKey
from ._updates import UpdateRequest, UpdateState

#: Run statuses, as tests see them (the closed ones match ``History.status``).
RUNNING = WorkflowStatus.RUNNING
COMPLETED = WorkflowStatus.COMPLETED
FAILED = WorkflowStatus.FAILED
CANCELLED = WorkflowStatus.CANCELLED
CONTINUED_AS_NEW = WorkflowStatus.CONTINUED_AS_NEW
TERMINATED = WorkflowStatus.TERMINATED


class _Run:
    """The engine's state for one run: its history mirror, instance cache and work in flight."""

    __slots__ = (
        "activities",
        "arrivals",
        "buffered",
        "cancel_requested",
        "children",
        "closed",
        "closing",
        "conflicts",
        "definition",
        "delivered",
        "events",
        "exception",
        "execution",
        "instance",
        "key",
        "local_activities",
        "open_task",
        "result",
        "retry_state",
        "run_id",
        "status",
        "task_failure",
        "task_scheduled",
        "tasks_run",
        "timers",
        "update_requests",
        "updates",
        "workflow_id",
    )

    def __init__(self, execution: Execution, definition: WorkflowDefinition, run_id: str):
        self.execution = execution
        self.definition = definition
        self.workflow_id = execution.workflow_id
        self.run_id = run_id
        self.key: RunKey = (execution.workflow_id, run_id)
        self.events: list[ev.Event] = []
        self.instance: WorkflowInstance | None = None
        self.delivered = 0
        #: Consecutive appends the store rejected (reset by the next accepted one).
        self.conflicts = 0
        self.task_scheduled = False
        #: Why the last workflow task failed (a bug the front-end keeps Temporal's task-failure
        #: semantics for); None once a task completes.
        self.task_failure: BaseException | None = None
        #: Workflow tasks run so far (replay-every-task mode replays at powers of two).
        self.tasks_run = 0
        self.cancel_requested = False
        self.closed = False
        #: Set while carrying out a task whose last command closes the run: nothing may be
        #: appended after the closing event, so work those commands start records nothing.
        self.closing = False
        self.status: WorkflowStatus = RUNNING
        self.result: Any = None
        self.exception: BaseException | None = None
        #: Why a failed run was not retried (reported to a parent with the failure).
        self.retry_state = RetryState.RETRY_POLICY_NOT_SET
        self.activities: dict[int, Any] = {}
        #: Local activities running for the open workflow task, by sequence number.
        self.local_activities: dict[int, Any] = {}
        #: The workflow task held open while local activities run (None when no task is
        #: open), and the input events that arrived meanwhile (appended after it).
        self.open_task: Any = None
        self.buffered: list[ev.Event] = []
        #: Results of the run's commands that arrived since its last task, recorded when the
        #: next task is taken, in canonical order (see :mod:`._arrivals`).
        self.arrivals: list[ev.Event] = []
        self.timers: dict[int, TimerHandle] = {}
        self.children: dict[int, str] = {}
        #: Updates waiting for the next workflow task, and every update sent to this run by id.
        self.update_requests: list[UpdateRequest] = []
        self.updates: dict[str, UpdateState] = {}

    @property
    def workflow_type(self) -> str:
        return self.definition.name

    @property
    def next_event_id(self) -> int:
        """The number the next appended event gets (events are numbered where they are built)."""
        return len(self.events) + 1


class Execution:
    """A workflow id's chain of runs (more than one after continue-as-new)."""

    def __init__(
        self,
        workflow_id: str,
        done: asyncio.Future[None],
        parent: tuple[_Run, int] | None,
        retry_policy: RetryPolicy | None = None,
    ) -> None:
        self.workflow_id = workflow_id
        self.runs: list[_Run] = []
        self.done = done
        self.parent = parent
        #: Failed runs are retried as new runs under this policy (workflows have none by default).
        self.retry_policy = retry_policy
        #: The backoff timer before the next attempt's run, while one is pending.
        self.retry_timer: TimerHandle | None = None
        #: What that timer calls (a restart re-arms it at the due time kept in the store).
        self.retry_next: Callable[[], None] | None = None

    @property
    def current(self) -> _Run:
        return self.runs[-1]

    @property
    def is_open(self) -> bool:
        """Whether a run is in progress or the next attempt's run is pending."""
        return self.retry_timer is not None or not self.current.closed
