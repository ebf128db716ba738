"""The exception hierarchy: every public error derives from :class:`DurableError`."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from datetime import timedelta
from typing import Any


class DurableError(Exception):
    """Base class of every error pytest-durable raises on purpose."""


class InvalidDefinitionError(DurableError, TypeError):
    """A workflow or activity definition is malformed (missing ``@workflow.run``, ...)."""


class NotInWorkflowError(DurableError, RuntimeError):
    """A ``workflow.*`` function was called outside workflow code."""


class NotInActivityError(DurableError, RuntimeError):
    """An ``activity.*`` function was called outside an activity."""


class UnknownNameError(DurableError, LookupError):
    """A workflow, activity, signal or query name is not registered."""


class UnknownWorkflowError(UnknownNameError):
    """A workflow type (or workflow id) is not known to the environment."""


class UnknownActivityError(UnknownNameError):
    """An activity name has neither an implementation nor a mock."""


class UnknownSignalError(UnknownNameError):
    """A signal name that the workflow does not define."""


class UnknownQueryError(UnknownNameError):
    """A query name that the workflow does not define."""


class UnknownUpdateError(UnknownNameError):
    """An update name that the workflow does not define."""


class InvalidArgumentError(DurableError, ValueError):
    """An argument is out of range or missing (e.g. an activity without a timeout)."""


class InvalidTimerError(InvalidArgumentError, RuntimeError):
    """A durable timer was asked for a negative duration (``workflow.sleep(-1)``).

    A ``RuntimeError`` too, because that is what Temporal's workflow runtime raises for it: code
    written against either catches it.
    """


class PayloadError(DurableError, TypeError):
    """A value cannot be serialised to JSON, or decoded to the type asked for."""


class HistoryFormatError(DurableError, ValueError):
    """A history document is corrupt, or from a newer format version."""


class GoldenHistoryError(DurableError, AssertionError):
    """A history does not match its golden file, or the golden file is missing or unreadable.

    An ``AssertionError``, so pytest reports it as a failed test, with a message that names the
    golden file and says what to do (usually: re-run with ``--durable-update-goldens`` and
    review the file's diff).
    """


class WorkflowAlreadyStartedError(DurableError):
    """A workflow with this id is already running."""


class WorkflowNotRunningError(DurableError):
    """A signal or cancellation was sent to a workflow that has already closed."""


class WorkflowBlockedError(DurableError):
    """The environment cannot make progress: nothing is scheduled that could wake the workflow."""


class WorkflowTaskFailedError(WorkflowBlockedError):
    """A workflow cannot finish because its workflow task fails: a bug in its code.

    Temporal's semantics for an exception that is not a declared failure (a Temporal SDK
    workflow raising ``KeyError``): the workflow *task* fails, nothing is recorded, the run
    stays open and the task is retried, so waiting for the result never ends. The wait ends
    with this error instead; its ``__cause__`` is what the code raised (as a failure crossing
    the wire, with the code's traceback in its message).
    """


class UnboundedRetryError(DurableError):
    """An activity kept failing under a retry policy with no limit: the test would never end.

    Temporal retries such an activity forever, which is right in production and a hung test
    here; the environment stops after ``max_unbounded_attempts`` attempts and says so.
    """


class RunawayWorkflowError(DurableError):
    """A workflow outgrew the environment's bounds: too much virtual time, or too many events.

    A workflow that never finishes would otherwise hang the test; the message names the
    workflow, how far it got, where its code waits (the loop to look at) and its last events.
    """


class UnmockedActivityError(DurableError):
    """Strict activities: an activity was about to run for real without being allowed to.

    With ``strict_activities`` on, every activity a workflow runs must be mocked or registered
    as real (``activities=[...]``, ``register_activity``); the first one that is neither stops
    the test, naming it, instead of calling the real service.
    """


class UnusedMockWarning(UserWarning):
    """A test mocked an activity that no workflow ran (with ``strict_activities``: an error)."""


class WorkflowMisuseError(DurableError, RuntimeError):
    """Workflow code called the API in a way that cannot be durable.

    An activity function called directly (it would run inline, unrecorded and unretried) or a
    ``workflow.execute_activity(...)`` never awaited (it would do nothing): the run fails with
    this error, naming the line and the fix.
    """


class QueryError(DurableError):
    """A query failed, or tried to do something only workflow code may do."""


class WorkflowDeadlockError(DurableError):
    """Workflow code ran longer than the deadlock budget without yielding."""


class NondeterminismError(DurableError):
    """Workflow code issued commands that do not match its recorded history.

    Attributes:
        event_id: the id of the history event at which replay diverged.
        expected: what the history holds there.
        actual: what the code did now.
        location: ``file:line`` of the workflow code that issued the command, when known.
    """

    def __init__(
        self,
        message: str,
        *,
        event_id: int | None = None,
        expected: str | None = None,
        actual: str | None = None,
        location: str | None = None,
    ) -> None:
        super().__init__(message)
        self.event_id = event_id
        self.expected = expected
        self.actual = actual
        self.location = location


class NondeterministicCallError(NondeterminismError):
    """Workflow code called something whose result or effect differs on every run and replay.

    Raised by the determinism guard at the call (the wall clock, the process's randomness,
    random uuids, threads, files, sockets, processes), and it fails the workflow run even when
    the code catches it.

    Attributes:
        call: what was called, e.g. ``time.time()`` or ``open('/tmp/x', 'r')``.
        alternative: what deterministic workflow code uses instead.
    """

    def __init__(self, message: str, *, call: str, alternative: str, location: str) -> None:
        super().__init__(message, location=location)
        self.call = call
        self.alternative = alternative


class ConcurrentAppendError(DurableError):
    """A compare-and-set append found the history longer than expected."""


class LoopMisuseError(DurableError, RuntimeError):
    """Workflow code used an event-loop feature that cannot be durable (threads, sockets...)."""


class FaultPlanError(InvalidArgumentError):
    """A fault plan (Python or JSON) is malformed; the message names the bad field."""


class UnreachedFaultError(DurableError):
    """A fault was aimed at an activity, attempt or event that the workflow never reached."""


class CrashPointError(DurableError, AssertionError):
    """A run crashed at some point of its history ended differently from the clean run.

    Attributes:
        point: the crash point (event id, kind and workflow source line).
        plan: the :class:`~pytest_durable.FaultPlan` that reproduces the failure.
    """

    def __init__(self, message: str, *, point: Any = None, plan: Any = None) -> None:
        super().__init__(message)
        self.point = point
        self.plan = plan


class ExplorationCheckError(DurableError):
    """The ``check`` given to crash exploration raised something other than an assertion.

    That is a bug in the check, not a failure of the workflow at a crash point.
    """


# --- failures: what workflows and tests see when work fails ------------------------------------


class TimeoutType(enum.Enum):
    """Which activity (or workflow) timeout fired."""

    START_TO_CLOSE = "START_TO_CLOSE"
    SCHEDULE_TO_START = "SCHEDULE_TO_START"
    SCHEDULE_TO_CLOSE = "SCHEDULE_TO_CLOSE"
    HEARTBEAT = "HEARTBEAT"


class RetryState(enum.Enum):
    """Why retrying stopped (or that it has not)."""

    IN_PROGRESS = "IN_PROGRESS"
    NON_RETRYABLE_FAILURE = "NON_RETRYABLE_FAILURE"
    TIMEOUT = "TIMEOUT"
    MAXIMUM_ATTEMPTS_REACHED = "MAXIMUM_ATTEMPTS_REACHED"
    RETRY_POLICY_NOT_SET = "RETRY_POLICY_NOT_SET"
    CANCEL_REQUESTED = "CANCEL_REQUESTED"


class FailureError(DurableError):
    """Base of the errors that travel through history (activity, child and workflow failures).

    The cause of a failure is its ``__cause__`` (also available as :attr:`cause`).
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
        #: The stack trace recorded when this failure was decoded from history, if any.
        self.stack_trace: str = ""

    @property
    def cause(self) -> BaseException | None:
        """The failure that caused this one."""
        return self.__cause__


class ApplicationError(FailureError):
    """A failure raised on purpose by workflow or activity code.

    Args:
        message: what went wrong.
        *details: JSON-serialisable details carried along with the failure.
        type: a string type used by ``RetryPolicy.non_retryable_error_types``; defaults to
            ``None``. Plain exceptions raised by activities become application errors whose type
            is their class name.
        non_retryable: when true, the activity is not retried whatever its policy says.
        next_retry_delay: overrides the retry policy's delay before the next attempt.
    """

    def __init__(
        self,
        message: str,
        *details: Any,
        type: str | None = None,
        non_retryable: bool = False,
        next_retry_delay: timedelta | None = None,
    ) -> None:
        super().__init__(message)
        if type:
            # As temporalio's: str() reads "Type: message"; .message stays the bare message.
            self.args = (f"{type}: {message}",)
        self.details: Sequence[Any] = details
        self.type = type
        self.non_retryable = non_retryable
        self.next_retry_delay = next_retry_delay

    def __repr__(self) -> str:
        return (
            f"ApplicationError({self.message!r}, type={self.type!r}, "
            f"non_retryable={self.non_retryable!r})"
        )


class TimeoutError(FailureError):
    """An activity (or child workflow) timed out; :attr:`type` says which timeout.

    Named after Temporal's ``temporalio.exceptions.TimeoutError``; import it from
    ``pytest_durable`` (it shadows the builtin only where you import it by this name).
    """

    def __init__(
        self,
        message: str,
        *,
        type: TimeoutType | None,
        last_heartbeat_details: Sequence[Any] = (),
    ) -> None:
        super().__init__(message)
        self.type = type
        self.last_heartbeat_details = last_heartbeat_details

    def __repr__(self) -> str:
        return f"TimeoutError({self.message!r}, type={self.type})"


class CancelledError(FailureError):
    """Work was cancelled (an activity after a cancel request, a cancelled child workflow)."""

    def __init__(self, message: str = "cancelled", *details: Any) -> None:
        super().__init__(message)
        self.details: Sequence[Any] = details


class TerminatedError(FailureError):
    """The workflow was terminated (``handle.terminate()``): it ended without running its code.

    The cause of the :class:`WorkflowFailureError` a terminated workflow's ``result()`` raises
    (the message is the termination's reason), and of the :class:`ChildWorkflowError` its
    parent sees.
    """

    def __init__(self, message: str = "Workflow terminated", *details: Any) -> None:
        super().__init__(message)
        self.details: Sequence[Any] = details


class ActivityError(FailureError):
    """An activity failed; its :attr:`cause` says how (ApplicationError, TimeoutError...)."""

    def __init__(
        self,
        message: str,
        *,
        activity_type: str,
        activity_id: str,
        scheduled_event_id: int,
        retry_state: RetryState | None,
    ) -> None:
        super().__init__(message)
        self.activity_type = activity_type
        self.activity_id = activity_id
        self.scheduled_event_id = scheduled_event_id
        self.retry_state = retry_state

    def __repr__(self) -> str:
        return (
            f"ActivityError(activity_type={self.activity_type!r}, "
            f"retry_state={self.retry_state}, cause={self.__cause__!r})"
        )


class ChildWorkflowError(FailureError):
    """A child workflow failed; its :attr:`cause` says how."""

    def __init__(
        self,
        message: str,
        *,
        workflow_type: str,
        workflow_id: str,
        run_id: str,
        retry_state: RetryState | None,
    ) -> None:
        super().__init__(message)
        self.workflow_type = workflow_type
        self.workflow_id = workflow_id
        self.run_id = run_id
        self.retry_state = retry_state


class WorkflowFailureError(DurableError):
    """Raised to the test when a workflow run failed; :attr:`cause` is why."""

    def __init__(self, message: str, *, cause: BaseException, status: str = "failed") -> None:
        super().__init__(message)
        self.__cause__ = cause
        self.status = status

    @property
    def cause(self) -> BaseException:
        """The failure that ended the workflow."""
        assert self.__cause__ is not None
        return self.__cause__


class WorkflowUpdateFailedError(DurableError):
    """An update was rejected by its validator, or its handler failed; :attr:`cause` says how.

    As on Temporal's client, the cause is the failure as it crossed the wire: an
    :class:`ApplicationError` whose ``type`` is the class name of what the validator or handler
    raised (or the ``ApplicationError`` it raised itself).
    """

    def __init__(self, message: str, *, cause: BaseException, update_id: str, name: str) -> None:
        super().__init__(message)
        self.__cause__ = cause
        self.update_id = update_id
        self.name = name

    @property
    def cause(self) -> BaseException:
        """Why the update failed."""
        assert self.__cause__ is not None
        return self.__cause__


def is_cancelled_exception(exc: BaseException) -> bool:
    """Whether ``exc`` means "cancelled", as Temporal's helper of the same name decides.

    True for ``asyncio.CancelledError``, :class:`CancelledError`, and an :class:`ActivityError`
    or :class:`ChildWorkflowError` caused by a :class:`CancelledError`. Use it in an ``except``
    clause of workflow code to tell a cancellation from a failure.
    """
    import asyncio

    if isinstance(exc, asyncio.CancelledError | CancelledError):
        return True
    return isinstance(exc, ActivityError | ChildWorkflowError) and isinstance(
        exc.__cause__, CancelledError
    )


# --- engine control flow: BaseException so that user ``except Exception`` cannot swallow it ----


class _ContinueAsNew(BaseException):
    """Raised by ``workflow.continue_as_new`` to end the run and start a fresh one."""

    def __init__(
        self, workflow: str | None, args: Sequence[Any], definition: Any = None
    ) -> None:
        super().__init__("continue as new")
        self.workflow = workflow
        self.input = tuple(args)
        #: The target's definition when given by reference (it then needs no registration).
        self.definition = definition


class _DeadlockInterrupt(BaseException):
    """Injected into a workflow that has not yielded within the deadlock budget."""


class _WorkflowEvicted(BaseException):
    """Raised into code of an evicted workflow instance that tries to issue a command.

    An instance is evicted when the engine drops it (a crash, no caching, a closed run): its
    coroutines are closed at once, and whatever their ``finally:`` blocks try to do (schedule an
    activity, start a timer, wait for a condition) must reach no history.
    """


class PropertyFailure(DurableError, AssertionError):
    """A workflow broke its property under a plan: replay, an invariant, or it never ended.

    The message holds the reproducer: the environment seed and the plan as Python and JSON.

    Attributes:
        plan: the :class:`~pytest_durable.FaultPlan` it failed under.
    """

    def __init__(self, message: str, *, plan: Any = None) -> None:
        super().__init__(message)
        self.plan = plan


class InvariantError(DurableError):
    """An invariant given to ``check_workflow`` raised something other than an assertion.

    That is a bug in the invariant, not a failure of the workflow; the message names the plan.
    """
