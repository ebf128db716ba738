"""Hypothesis strategies for durable workflows: fault plans, retry policies, schedules.

The only module of pytest-durable that imports Hypothesis (the engine and the plugin never do).
Every strategy shrinks toward the quiet run: fewer faults, earlier attempts and crash points,
shorter delays and intervals. See docs/properties.md.

```python
from hypothesis import given
from pytest_durable.strategies import fault_plans

@given(plan=fault_plans(activities=[charge_payment, ship_order], max_faults=3))
def test_money_is_never_lost(plan, durable_env_factory):
    check_workflow(OrderSaga.run, [ORDER], plans=plan, invariant=..., env=durable_env_factory)
```
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

from hypothesis import strategies as st

from .common import RetryPolicy
from .errors import FaultPlanError
from .fixtures._faults import (
    ActivityFault,
    CrashWorker,
    DuplicateDelivery,
    FailAttempt,
    Fault,
    FaultPlan,
    HangAttempt,
    LoseCompletion,
    RequestCancel,
    SendSignal,
    SlowAttempt,
    _activity_name,
)
from .fixtures._mocks import HANG, Delay

__all__ = [
    "ACTIVITY_FAULT_KINDS",
    "activity_outcomes",
    "cancel_schedules",
    "fault_plans",
    "retry_policies",
    "signal_schedules",
]

ACTIVITY_FAULT_KINDS: tuple[type[ActivityFault], ...] = (
    FailAttempt,
    HangAttempt,
    LoseCompletion,
    DuplicateDelivery,
    SlowAttempt,
)
"""Every activity fault kind, simplest (a failed attempt) first: Hypothesis shrinks toward it."""


def _names(activities: Sequence[str | Callable[..., Any]], who: str) -> list[str]:
    if isinstance(activities, str) or not isinstance(activities, Sequence) or not activities:
        raise FaultPlanError(
            f"{who}: activities must be a non-empty list of activity names or @activity.defn "
            f"functions, got {activities!r}"
        )
    names: list[str] = []
    for index, activity in enumerate(activities):
        name = _activity_name(activity)
        if not isinstance(name, str) or not name:
            raise FaultPlanError(
                f"{who}: activities[{index}] must be an activity name or an @activity.defn "
                f"function, got {activity!r} (decorate it with @activity.defn or pass its name)"
            )
        if name not in names:
            names.append(name)
    return names


def _bound(who: str, name: str, value: object, *, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise FaultPlanError(f"{who}: {name} must be an int of at least {minimum}, got {value!r}")
    return value


def _seconds(who: str, name: str, value: timedelta | float) -> float:
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    else:
        raise FaultPlanError(f"{who}: {name} must be a timedelta or seconds, got {value!r}")
    if seconds < 0:
        raise FaultPlanError(f"{who}: {name} must not be negative, got {value!r}")
    return seconds


def _delays(maximum_s: float) -> st.SearchStrategy[timedelta]:
    """Whole virtual seconds from 0 to ``maximum_s``; shrinks toward 0."""
    return st.integers(0, int(maximum_s)).map(lambda s: timedelta(seconds=s))


def _index(size: int) -> st.SearchStrategy[int] | None:
    """A position in a table of ``size`` choices (shrinks toward 0); None when there is one."""
    return st.integers(0, size - 1) if size > 1 else None


class _ActivityFaults:
    """Draws one activity fault as plain integers: kind, activity, attempt (and a delay).

    Hypothesis's cost is per draw and per strategy layer, so a fault is a few bounded-integer
    draws into tables rather than ``sampled_from``/``builds``/``map`` layers: each integer
    still shrinks on its own toward 0 (the first kind, the first activity, attempt 1, no
    delay). A fault is frozen, so each distinct one is built once and reused.
    """

    def __init__(
        self,
        names: list[str],
        kinds: tuple[type[ActivityFault], ...],
        max_attempt: int,
        max_delay_s: float,
    ) -> None:
        self.names = names
        self.kinds = kinds
        self.kind = _index(len(kinds))
        self.activity = _index(len(names))
        self.attempt = _index(max_attempt)
        self.delay = st.integers(0, int(max_delay_s)) if int(max_delay_s) > 0 else None
        self.made: dict[tuple[int, int, int, int], ActivityFault] = {}

    def draw(self, draw: st.DrawFn) -> ActivityFault:
        kind = draw(self.kind) if self.kind is not None else 0
        activity = draw(self.activity) if self.activity is not None else 0
        attempt = draw(self.attempt) if self.attempt is not None else 0
        slow = self.kinds[kind] is SlowAttempt
        delay = draw(self.delay) if slow and self.delay is not None else 0
        key = (kind, activity, attempt, delay)
        fault = self.made.get(key)
        if fault is None:
            fault = self._make(*key)
            self.made[key] = fault
        return fault

    def _make(self, kind: int, activity: int, attempt: int, delay: int) -> ActivityFault:
        cls, name = self.kinds[kind], self.names[activity]
        if cls is SlowAttempt:
            return SlowAttempt(activity=name, attempt=attempt + 1, delay=timedelta(seconds=delay))
        return cls(activity=name, attempt=attempt + 1)


def _plan(faults: list[Fault]) -> FaultPlan:
    """The drawn faults as a plan, without repeats of one kind at one attempt of one activity.

    A repeat would aim the same fault twice at one attempt; dropping it here costs less than
    ``st.lists(unique_by=...)``, which filters every element it draws.
    """
    aimed: set[tuple[str, str, int]] = set()
    kept: list[Fault] = []
    for fault in faults:
        if isinstance(fault, ActivityFault):
            key = (fault.kind, fault.activity, fault.attempt)
            if key in aimed:
                continue
            aimed.add(key)
        kept.append(fault)
    return FaultPlan(tuple(kept), allow_unreached=True)


def fault_plans(
    *,
    activities: Sequence[str | Callable[..., Any]],
    kinds: Sequence[type[ActivityFault]] = ACTIVITY_FAULT_KINDS,
    max_faults: int = 3,
    max_attempt: int = 3,
    crash_points: int = 0,
    max_delay: timedelta | float = timedelta(minutes=5),
    signals: Sequence[tuple[str, st.SearchStrategy[tuple[Any, ...]]]] | Sequence[str] = (),
    cancel: bool = False,
    max_at: timedelta | float = timedelta(hours=1),
) -> st.SearchStrategy[FaultPlan]:
    """Fault plans over a workflow's activity types.

    Each plan holds up to ``max_faults`` activity faults (``kinds``, aimed at ``activities``
    and attempts 1 to ``max_attempt``, no two of one kind at the same attempt of the same
    activity), plus, when asked, worker crashes after history positions 1 to
    ``crash_points``, signals and a cancellation request at virtual times up to ``max_at``.
    Plans shrink toward fewer faults, the first kind in ``kinds``, the first of
    ``activities``, attempt 1, earlier crash points and shorter delays. Plans allow faults the
    run never reaches (a generated fault on attempt 3 of an activity that succeeds at once is
    no error).

    Args:
        activities: the workflow's activity types (``@activity.defn`` functions or names).
            :func:`~pytest_durable.testing.check_workflow` reports a name the workflow does
            not run as an error.
        kinds: the activity fault kinds to draw from.
        max_faults: the most activity faults in one plan (0: none).
        max_attempt: the highest attempt number a fault aims at.
        crash_points: draw up to one :class:`CrashWorker` after an event from 1 to this (0:
            no crashes).
        max_delay: the longest :class:`SlowAttempt` delay.
        signals: signal names (or ``(name, args strategy)`` pairs) to send at drawn times.
        cancel: also draw a cancellation request at a drawn time (or none).
        max_at: the latest virtual time (after the start) for signals and the cancellation.

    Raises:
        FaultPlanError: a bad bound, an empty or malformed ``activities`` or ``kinds``.
    """
    who = "fault_plans"
    names = _names(activities, who)
    kinds = tuple(kinds)
    if not kinds or not all(isinstance(k, type) and issubclass(k, ActivityFault) for k in kinds):
        raise FaultPlanError(
            f"{who}: kinds must be activity fault classes (FailAttempt, HangAttempt, "
            f"SlowAttempt, LoseCompletion, DuplicateDelivery), got {kinds!r}"
        )
    _bound(who, "max_faults", max_faults)
    _bound(who, "max_attempt", max_attempt, minimum=1)
    _bound(who, "crash_points", crash_points)
    delay_s = _seconds(who, "max_delay", max_delay)
    # One composite over flat draws: each strategy layer (tuples, map, filter, builds) costs
    # Hypothesis a span and a call per example, and the runner draws hundreds of plans a second.
    table = _ActivityFaults(names, kinds, max_attempt, delay_s)
    faults = st.lists(st.composite(table.draw)(), max_size=max_faults) if max_faults else None
    crashes: dict[int, CrashWorker] = {}
    crash = st.lists(st.integers(1, crash_points), max_size=1) if crash_points else None
    extra: list[st.SearchStrategy[tuple[Fault, ...]]] = []
    if signals:
        extra.append(signal_schedules(signals, max_at=max_at))
    if cancel:
        extra.append(cancel_schedules(max_at=max_at))

    @st.composite
    def plans(draw: st.DrawFn) -> FaultPlan:
        drawn: list[Fault] = list(draw(faults)) if faults is not None else []
        for point in draw(crash) if crash is not None else ():
            worker = crashes.get(point)
            if worker is None:
                worker = crashes[point] = CrashWorker(after_event=point)
            drawn.append(worker)
        for part in extra:
            drawn.extend(draw(part))
        return _plan(drawn)

    return plans()


def _named_args(
    name: str, args: st.SearchStrategy[tuple[Any, ...]]
) -> st.SearchStrategy[tuple[str, tuple[Any, ...]]]:
    return args.map(lambda drawn: (name, tuple(drawn)))


def signal_schedules(
    signals: Sequence[tuple[str, st.SearchStrategy[tuple[Any, ...]]]] | Sequence[str],
    *,
    max_signals: int = 3,
    max_at: timedelta | float = timedelta(hours=1),
) -> st.SearchStrategy[tuple[SendSignal, ...]]:
    """Up to ``max_signals`` :class:`SendSignal` faults at virtual times up to ``max_at``.

    ``signals`` names the workflow's signals; a ``(name, args_strategy)`` pair draws the
    signal's arguments too (each a tuple of JSON values). Shrinks toward fewer, earlier signals.
    The schedule is a tuple of faults: ``FaultPlan(schedule)`` or a part of a bigger plan.
    """
    who = "signal_schedules"
    if isinstance(signals, str) or not signals:
        raise FaultPlanError(f"{who}: signals must be a non-empty list of names, got {signals!r}")
    choices: list[st.SearchStrategy[tuple[str, tuple[Any, ...]]]] = []
    for index, entry in enumerate(signals):
        if isinstance(entry, str) and entry:
            choices.append(st.just((entry, ())))
        elif (
            isinstance(entry, tuple)
            and len(entry) == 2
            and isinstance(entry[0], str)
            and isinstance(entry[1], st.SearchStrategy)
        ):
            choices.append(_named_args(entry[0], entry[1]))
        else:
            raise FaultPlanError(
                f"{who}: signals[{index}] must be a signal name or (name, args strategy), "
                f"got {entry!r}"
            )
    _bound(who, "max_signals", max_signals)
    at = _delays(_seconds(who, "max_at", max_at))
    one = st.tuples(st.one_of(choices), at).map(
        lambda pair: SendSignal(signal=pair[0][0], args=pair[0][1], at=pair[1])
    )
    return st.lists(one, max_size=max_signals).map(
        lambda faults: tuple(sorted(faults, key=lambda f: f.at or timedelta(0)))
    )


def cancel_schedules(
    *, max_at: timedelta | float = timedelta(hours=1), reason: str = "generated cancellation"
) -> st.SearchStrategy[tuple[RequestCancel, ...]]:
    """No cancellation, or one :class:`RequestCancel` at a virtual time up to ``max_at``.

    Shrinks toward no cancellation, then toward an earlier one.
    """
    at = _delays(_seconds("cancel_schedules", "max_at", max_at))
    return st.one_of(st.just(()), at.map(lambda when: (RequestCancel(reason=reason, at=when),)))


def retry_policies(
    *,
    max_attempts: int = 5,
    max_initial_interval: timedelta | float = timedelta(seconds=30),
    max_backoff: float = 4.0,
    non_retryable_error_types: Sequence[str] = (),
) -> st.SearchStrategy[RetryPolicy]:
    """Bounded :class:`RetryPolicy` values: 1 to ``max_attempts`` attempts (never unlimited).

    Shrinks toward one attempt, a zero initial interval and a backoff coefficient of 1. The
    maximum interval is drawn between the initial interval and 100 times it.
    """
    who = "retry_policies"
    _bound(who, "max_attempts", max_attempts, minimum=1)
    initial_s = _seconds(who, "max_initial_interval", max_initial_interval)
    if not isinstance(max_backoff, int | float) or isinstance(max_backoff, bool) or max_backoff < 1:
        raise FaultPlanError(
            f"{who}: max_backoff must be a number of at least 1, got {max_backoff!r}"
        )

    @st.composite
    def policy(draw: st.DrawFn) -> RetryPolicy:
        initial = draw(st.integers(0, int(initial_s)))
        coefficient = draw(st.integers(10, int(max_backoff * 10))) / 10
        maximum = draw(st.integers(initial, max(initial, 1) * 100))
        return RetryPolicy(
            initial_interval=timedelta(seconds=initial),
            backoff_coefficient=coefficient,
            maximum_interval=timedelta(seconds=maximum) if maximum else None,
            maximum_attempts=draw(st.integers(1, max_attempts)),
            non_retryable_error_types=tuple(non_retryable_error_types),
        )

    return policy()


def activity_outcomes(
    result: st.SearchStrategy[Any],
    *,
    errors: Sequence[BaseException | type[BaseException]] = (RuntimeError("service unavailable"),),
    max_failures: int = 3,
    hangs: bool = False,
    max_delay: timedelta | float = timedelta(0),
) -> st.SearchStrategy[list[Any]]:
    """A mock's ``outcomes=[...]`` script: some failing attempts, then a result.

    Each failing attempt raises one of ``errors`` (or, with ``hangs``, never reports:
    :data:`~pytest_durable.HANG`); the last attempt returns a value drawn from ``result``,
    after a delay up to ``max_delay`` (a :class:`~pytest_durable.Delay`). Give it to
    ``env.mock_activity(fn, outcomes=script)``. Shrinks toward no failures and no delay.
    """
    who = "activity_outcomes"
    _bound(who, "max_failures", max_failures)
    delay_s = _seconds(who, "max_delay", max_delay)
    failures: list[Any] = list(errors)
    if hangs:
        failures.append(HANG)
    if not failures and max_failures:
        raise FaultPlanError(f"{who}: give errors= or hangs=True when max_failures > 0")

    @st.composite
    def script(draw: st.DrawFn) -> list[Any]:
        steps: list[Any] = (
            draw(st.lists(st.sampled_from(failures), max_size=max_failures)) if failures else []
        )
        value = draw(result)
        delay = draw(_delays(delay_s)) if delay_s else timedelta(0)
        steps.append(Delay(delay, value) if delay else value)
        return steps

    return script()
