"""Value objects shared by workflow and activity code: the retry policy and its arithmetic."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from typing import Any

from .errors import InvalidArgumentError, RetryState

NS_PER_SECOND = 1_000_000_000


def to_ns(value: timedelta | float | int | None, *, what: str) -> int | None:
    """Convert a timedelta (or seconds) to whole nanoseconds, exactly for timedeltas."""
    if value is None:
        return None
    if isinstance(value, timedelta):
        return (
            value.days * 86_400 + value.seconds
        ) * NS_PER_SECOND + value.microseconds * 1_000
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{what} must be a timedelta or a number of seconds, got {value!r}")
    return round(value * NS_PER_SECOND)


def from_ns(ns: int) -> timedelta:
    """Convert whole nanoseconds to a timedelta (microsecond resolution)."""
    return timedelta(microseconds=ns // 1_000)


def call_arguments(
    positional: tuple[Any, ...], args: Sequence[Any] | None, *, what: str
) -> tuple[Any, ...]:
    """The arguments of a call that takes them positionally or, as Temporal's does, ``args=``.

    ``execute_activity(charge, "o-1", 42)`` and ``execute_activity(charge, args=["o-1", 42])``
    are the same call; giving both is ambiguous and refused.
    """
    if args is None:
        return positional
    if positional:
        raise InvalidArgumentError(
            f"{what} got arguments both positionally {positional!r} and as args={args!r}; "
            "pass them one way: positionally, or all of them in args=[...]"
        )
    if isinstance(args, str | bytes) or not isinstance(args, Sequence):
        raise InvalidArgumentError(
            f"args= of {what} must be a list of the arguments, got {args!r}; e.g. "
            "args=[order_id, amount] (or pass them positionally)"
        )
    return tuple(args)


class WorkflowStatus(StrEnum):
    """A workflow run's status (``handle.status``, ``History.status``).

    A ``str`` equal to its value, so ``handle.status == "completed"`` holds as it always did.
    """

    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    CONTINUED_AS_NEW = "continued_as_new"
    TERMINATED = "terminated"


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryPolicy:
    """How an activity (or a workflow, when given one) is retried after it fails.

    The defaults are Temporal's: the wait before attempt ``n + 1`` is
    ``min(initial_interval * backoff_coefficient ** (n - 1), maximum_interval)``, with no jitter.
    """

    initial_interval: timedelta = timedelta(seconds=1)
    """The wait before the first retry."""

    backoff_coefficient: float = 2.0
    """How much the wait grows after each attempt; at least 1."""

    maximum_interval: timedelta | None = None
    """The longest wait between attempts; unset means 100 × ``initial_interval``."""

    maximum_attempts: int = 0
    """How many attempts in all, the first included; 0 means unlimited."""

    non_retryable_error_types: Sequence[str] = field(default=())
    """Application error types that stop retrying (a plain exception's type is its class name)."""

    def __post_init__(self) -> None:
        if not isinstance(self.initial_interval, timedelta):
            raise TypeError(
                f"RetryPolicy.initial_interval must be a timedelta, got {self.initial_interval!r}"
            )
        if self.initial_interval < timedelta(0):
            raise ValueError(
                f"RetryPolicy.initial_interval must not be negative, got {self.initial_interval}"
            )
        if self.backoff_coefficient < 1:
            raise ValueError(
                "RetryPolicy.backoff_coefficient must be at least 1, "
                f"got {self.backoff_coefficient}"
            )
        if self.maximum_interval is not None:
            if not isinstance(self.maximum_interval, timedelta):
                raise TypeError(
                    "RetryPolicy.maximum_interval must be a timedelta or None, "
                    f"got {self.maximum_interval!r}"
                )
            if self.maximum_interval < timedelta(0):
                raise ValueError(
                    "RetryPolicy.maximum_interval must not be negative, "
                    f"got {self.maximum_interval}"
                )
            if self.maximum_interval < self.initial_interval:
                raise ValueError(
                    f"RetryPolicy.maximum_interval ({self.maximum_interval}) must not be below "
                    f"initial_interval ({self.initial_interval})"
                )
        if isinstance(self.maximum_attempts, bool) or not isinstance(self.maximum_attempts, int):
            raise TypeError(
                f"RetryPolicy.maximum_attempts must be an int, got {self.maximum_attempts!r}"
            )
        if self.maximum_attempts < 0:
            raise ValueError(
                "RetryPolicy.maximum_attempts must not be negative (0 means unlimited), "
                f"got {self.maximum_attempts}"
            )
        if isinstance(self.non_retryable_error_types, str):
            raise TypeError(
                "RetryPolicy.non_retryable_error_types must be a sequence of type names, "
                f"not a single string: use ({self.non_retryable_error_types!r},)"
            )
        object.__setattr__(self, "non_retryable_error_types", tuple(self.non_retryable_error_types))

    @property
    def initial_interval_ns(self) -> int:
        """``initial_interval`` in nanoseconds."""
        ns = to_ns(self.initial_interval, what="initial_interval")
        assert ns is not None
        return ns

    @property
    def maximum_interval_ns(self) -> int:
        """The effective maximum interval in nanoseconds (100 × initial when unset)."""
        if self.maximum_interval is None:
            return 100 * self.initial_interval_ns
        ns = to_ns(self.maximum_interval, what="maximum_interval")
        assert ns is not None
        return ns

    def backoff_ns(self, attempt: int) -> int:
        """The wait, in nanoseconds, after attempt ``attempt`` (numbered from 1) fails."""
        return backoff_ns(
            attempt,
            initial_ns=self.initial_interval_ns,
            coefficient=self.backoff_coefficient,
            maximum_ns=self.maximum_interval_ns,
        )

    def to_json(self) -> dict[str, Any]:
        """This policy as a JSON object (durations in nanoseconds)."""
        return {
            "initial_interval_ns": self.initial_interval_ns,
            "backoff_coefficient": self.backoff_coefficient,
            "maximum_interval_ns": self.maximum_interval_ns,
            "maximum_attempts": self.maximum_attempts,
            "non_retryable_error_types": list(self.non_retryable_error_types),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RetryPolicy:
        """The inverse of :meth:`to_json`."""
        return cls(
            initial_interval=from_ns(data["initial_interval_ns"]),
            backoff_coefficient=data["backoff_coefficient"],
            maximum_interval=from_ns(data["maximum_interval_ns"]),
            maximum_attempts=data["maximum_attempts"],
            non_retryable_error_types=tuple(data["non_retryable_error_types"]),
        )


def backoff_ns(attempt: int, *, initial_ns: int, coefficient: float, maximum_ns: int) -> int:
    """``min(initial × coefficient^(attempt-1), maximum)``, in whole nanoseconds.

    Integral coefficients are computed exactly, so 1 s, 2 s, 4 s add up to exactly 7 s.
    """
    if attempt < 1:
        raise ValueError(f"attempts are numbered from 1, got {attempt}")
    if coefficient == int(coefficient):
        step = int(coefficient)
        # Stop multiplying once past the cap so huge attempt numbers stay cheap.
        delay = initial_ns
        for _ in range(attempt - 1):
            if delay >= maximum_ns:
                break
            delay *= step
        return min(delay, maximum_ns)
    try:
        raw = initial_ns * coefficient ** (attempt - 1)
    except OverflowError:
        return maximum_ns
    return min(round(raw), maximum_ns)


@dataclass(frozen=True, slots=True)
class RetryDecision:
    """What happens after a failed attempt: retry after ``delay_ns``, or stop in ``state``."""

    state: RetryState
    delay_ns: int | None = None

    @property
    def retry(self) -> bool:
        """Whether another attempt follows."""
        return self.delay_ns is not None


def decide_retry(
    policy: RetryPolicy | None,
    *,
    attempt: int,
    retryable: bool,
    error_type: str | None,
    next_retry_delay_ns: int | None,
    now_ns: int,
    schedule_to_close_deadline_ns: int | None,
) -> RetryDecision:
    """Temporal's retry rules, in their documented order (see SEMANTICS.md)."""
    if policy is None:
        return RetryDecision(RetryState.RETRY_POLICY_NOT_SET)
    if not retryable or (
        error_type is not None and error_type in policy.non_retryable_error_types
    ):
        return RetryDecision(RetryState.NON_RETRYABLE_FAILURE)
    if policy.maximum_attempts > 0 and attempt >= policy.maximum_attempts:
        return RetryDecision(RetryState.MAXIMUM_ATTEMPTS_REACHED)
    delay = next_retry_delay_ns if next_retry_delay_ns is not None else policy.backoff_ns(attempt)
    if schedule_to_close_deadline_ns is not None and now_ns + delay > schedule_to_close_deadline_ns:
        return RetryDecision(RetryState.TIMEOUT)
    return RetryDecision(RetryState.IN_PROGRESS, delay)
