"""The channel between the activity server and its worker: tasks one way, reports the other.

The server hands the worker an :class:`ActivityTask` per attempt, identified by a
:class:`Token` (run, scheduled event, attempt). Everything the worker says back (started,
completed, failed, heartbeat) carries that token; the server ignores a token that is not its
current attempt's (stale: the attempt timed out or was cancelled; duplicate: a second delivery
of one attempt, or a second report). The channel also holds the task queue: while no worker
polls (``pause``), tasks wait in it, which is what a schedule-to-start timeout bounds.

Three hooks let a fault layer break the channel the way a real network and process break:
:meth:`ActivityChannel.lose_outcome` drops the next outcome reported under a token (a lost
completion), :meth:`ActivityChannel.redeliver` gives a task to the worker a second time (a
duplicate delivery), and the worker's own ``kill`` aborts every attempt in flight (a dead
worker). In each case the server's timeouts decide what happens next, as in production.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from ._store import RunKey

if TYPE_CHECKING:
    from ._activity_worker import ActivityWorker, Attempt


class Token(NamedTuple):
    """Names one attempt of one activity: what every report from a worker carries."""

    run: RunKey
    scheduled_event_id: int
    attempt: int


class ActivityTask:
    """One attempt as handed to a worker: its token and the facts ``activity.info()`` shows."""

    __slots__ = (
        "activity_id",
        "activity_type",
        "args",
        "first_scheduled_ns",
        "heartbeat_details",
        "heartbeat_ns",
        "schedule_to_close_ns",
        "scheduled_ns",
        "start_to_close_ns",
        "token",
        "workflow_type",
    )

    def __init__(  # positional too: eleven keywords cost more than the rest of a dispatch
        self,
        token: Token,
        activity_id: str,
        activity_type: str,
        args: list[Any],
        workflow_type: str,
        first_scheduled_ns: int,
        scheduled_ns: int,
        heartbeat_details: Sequence[Any],
        schedule_to_close_ns: int | None,
        start_to_close_ns: int | None,
        heartbeat_ns: int | None,
    ) -> None:
        self.token = token
        self.activity_id = activity_id
        self.activity_type = activity_type
        self.args = args
        self.workflow_type = workflow_type
        self.first_scheduled_ns = first_scheduled_ns
        self.scheduled_ns = scheduled_ns
        #: The last heartbeat details the server had when it dispatched this attempt.
        self.heartbeat_details = heartbeat_details
        self.schedule_to_close_ns = schedule_to_close_ns
        self.start_to_close_ns = start_to_close_ns
        self.heartbeat_ns = heartbeat_ns

    @property
    def workflow_id(self) -> str:
        return self.token.run[0]

    @property
    def run_id(self) -> str:
        return self.token.run[1]

    @property
    def attempt(self) -> int:
        return self.token.attempt


class ServerSide(Protocol):
    """What the channel delivers reports to (the activity server)."""

    def started(self, token: Token) -> int | None:
        """A worker picked the attempt up; its start time, or None if the token is stale."""

    def completed(self, token: Token, value: Any) -> None:
        """The attempt returned ``value`` (encoded)."""

    def failed(self, token: Token, error: BaseException) -> None:
        """The attempt raised ``error``."""

    def heartbeat(self, token: Token, details: tuple[Any, ...]) -> None:
        """The attempt heartbeated with ``details``."""


class ActivityChannel:
    """Carries tasks from the server to the worker and reports back; holds the task queue."""

    __slots__ = (
        "_lost",
        "completed",
        "failed",
        "heartbeat",
        "paused",
        "queue",
        "server",
        "started",
        "worker",
    )

    def __init__(self, server: ServerSide, worker: ActivityWorker) -> None:
        self.server = server
        self.worker = worker
        #: While paused no worker polls: dispatched tasks wait in :attr:`queue`.
        self.paused = False
        self.queue: list[ActivityTask] = []
        self._lost: set[Token] = set()
        # Worker -> server: the reports go to the server's own methods, with nothing in
        # between until a fault hook has something to intercept (see :meth:`lose_outcome`):
        # every activity attempt reports at least twice, and a hop each is measurable.
        #: A worker picked the attempt up; its start time, or None if the token is stale.
        self.started: Callable[[Token], int | None] = server.started
        #: The attempt returned a value (encoded).
        self.completed: Callable[[Token, Any], None] = server.completed
        #: The attempt raised an error.
        self.failed: Callable[[Token, BaseException], None] = server.failed
        #: The attempt heartbeated with details.
        self.heartbeat: Callable[[Token, tuple[Any, ...]], None] = server.heartbeat

    # --- server -> worker -------------------------------------------------------------------------

    def dispatch(self, task: ActivityTask) -> bool:
        """Hand ``task`` to the worker; False if it waits in the queue (no worker polls)."""
        if self.paused:
            self.queue.append(task)
            return False
        self.worker.start(task)
        return True

    def cancel(self, token: Token) -> None:
        """The server gave up on an attempt (timeout, cancellation): stop its code."""
        self.worker.abort(token)

    def withdraw(self, token: Token) -> None:
        """Take a task that no worker picked up out of the queue (it timed out or closed)."""
        self.queue = [task for task in self.queue if task.token != token]

    def pause(self) -> None:
        """Stop handing tasks to the worker (they queue; schedule-to-start timeouts run)."""
        self.paused = True

    def resume(self) -> None:
        """Hand the queued tasks to the worker, oldest first."""
        self.paused = False
        queued, self.queue = self.queue, []
        for task in queued:
            self.worker.start(task)

    # --- worker -> server, while outcomes may be lost ---------------------------------------------

    def _completed_unless_lost(self, token: Token, value: Any) -> None:
        if token in self._lost:
            self._lost.discard(token)
            return
        self.server.completed(token, value)

    def _failed_unless_lost(self, token: Token, error: BaseException) -> None:
        if token in self._lost:
            self._lost.discard(token)
            return
        self.server.failed(token, error)

    # --- fault hooks ------------------------------------------------------------------------------

    def lose_outcome(self, token: Token) -> None:
        """Drop the next outcome (completion or failure) reported under ``token``.

        The worker ran the attempt and believes it reported; the server never hears, so the
        attempt's start-to-close (or heartbeat) timeout decides, as on a cluster that lost the
        completion. Heartbeats under the token still arrive.
        """
        self._lost.add(token)
        self.completed = self._completed_unless_lost
        self.failed = self._failed_unless_lost

    def redeliver(self, task: ActivityTask) -> Attempt:
        """Give ``task`` to the worker once more (a duplicate delivery of one attempt).

        Both deliveries run their code, even when the first has already reported; the server
        takes the first outcome reported under the token and ignores the other as a duplicate.
        """
        attempt = self.worker.start(task, duplicate=True)
        assert attempt is not None
        return attempt
