"""RetryPolicy: Temporal's defaults, validation at construction, backoff and retry decisions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_durable import RetryPolicy, RetryState
from pytest_durable.common import backoff_ns, decide_retry
from pytest_durable.engine import _commands
from pytest_durable.engine._commands import policy_json

S = 1_000_000_000


def test_defaults_are_temporals() -> None:
    policy = RetryPolicy()
    assert policy.initial_interval == timedelta(seconds=1)
    assert policy.backoff_coefficient == 2.0
    assert policy.maximum_interval is None
    assert policy.maximum_interval_ns == 100 * S
    assert policy.maximum_attempts == 0
    assert policy.non_retryable_error_types == ()


def test_maximum_interval_defaults_to_100_times_initial() -> None:
    assert RetryPolicy(initial_interval=timedelta(minutes=3)).maximum_interval_ns == 300 * 60 * S


def test_is_frozen() -> None:
    policy = RetryPolicy()
    with pytest.raises(AttributeError):
        policy.maximum_attempts = 3


def test_non_retryable_types_become_a_tuple() -> None:
    policy = RetryPolicy(non_retryable_error_types=["ValueError", "KeyError"])
    assert policy.non_retryable_error_types == ("ValueError", "KeyError")


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"initial_interval": timedelta(seconds=-1)}, "initial_interval must not be negative"),
        ({"backoff_coefficient": 0.5}, "backoff_coefficient must be at least 1"),
        ({"maximum_interval": timedelta(seconds=-1)}, "maximum_interval must not be negative"),
        (
            {"initial_interval": timedelta(seconds=10), "maximum_interval": timedelta(seconds=5)},
            "must not be below initial_interval",
        ),
        ({"maximum_attempts": -1}, "maximum_attempts must not be negative"),
    ],
)
def test_invalid_values_are_rejected_at_construction(kwargs: dict[str, object], words: str) -> None:
    with pytest.raises(ValueError, match=words):
        RetryPolicy(**kwargs)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"initial_interval": 1},
        {"maximum_interval": 5.0},
        {"maximum_attempts": 2.5},
        {"maximum_attempts": True},
        {"non_retryable_error_types": "ValueError"},
    ],
)
def test_wrong_types_are_rejected_at_construction(kwargs: dict[str, object]) -> None:
    with pytest.raises(TypeError, match="RetryPolicy"):
        RetryPolicy(**kwargs)


def test_edge_values_are_accepted() -> None:
    policy = RetryPolicy(
        initial_interval=timedelta(0),
        backoff_coefficient=1.0,
        maximum_interval=timedelta(0),
        maximum_attempts=0,
    )
    assert policy.backoff_ns(5) == 0


def test_json_round_trip() -> None:
    policy = RetryPolicy(
        initial_interval=timedelta(milliseconds=250),
        backoff_coefficient=1.5,
        maximum_interval=timedelta(seconds=7),
        maximum_attempts=4,
        non_retryable_error_types=("Nope",),
    )
    assert RetryPolicy.from_json(policy.to_json()) == policy


# --- backoff: the pure function ------------------------------------------------------------------


def test_backoff_sequence_of_the_default_policy() -> None:
    policy = RetryPolicy()
    waits = [policy.backoff_ns(n) for n in range(1, 10)]
    assert waits == [1 * S, 2 * S, 4 * S, 8 * S, 16 * S, 32 * S, 64 * S, 100 * S, 100 * S]
    assert sum(waits[:3]) == 7 * S  # exact integers: 1 s + 2 s + 4 s is exactly 7 s


def test_backoff_with_a_fractional_coefficient() -> None:
    policy = RetryPolicy(initial_interval=timedelta(seconds=2), backoff_coefficient=1.5)
    assert [policy.backoff_ns(n) for n in (1, 2, 3)] == [2 * S, 3 * S, 4_500_000_000]


def test_backoff_of_huge_attempt_numbers_is_capped_and_cheap() -> None:
    assert backoff_ns(10**9, initial_ns=S, coefficient=2.0, maximum_ns=60 * S) == 60 * S
    assert backoff_ns(10**6, initial_ns=S, coefficient=1.7, maximum_ns=60 * S) == 60 * S


def test_backoff_rejects_attempt_zero() -> None:
    with pytest.raises(ValueError, match="numbered from 1"):
        backoff_ns(0, initial_ns=S, coefficient=2.0, maximum_ns=S)


initials = st.integers(min_value=0, max_value=10**12)
coefficients = st.one_of(
    st.integers(min_value=1, max_value=10).map(float),
    st.floats(min_value=1.0, max_value=10.0, allow_nan=False),
)


@settings(max_examples=150, deadline=None)
@given(
    attempt=st.integers(min_value=1, max_value=200),
    initial=initials,
    coefficient=coefficients,
    extra=st.integers(min_value=0, max_value=10**13),
)
def test_backoff_properties(attempt: int, initial: int, coefficient: float, extra: int) -> None:
    maximum = initial + extra
    delay = backoff_ns(attempt, initial_ns=initial, coefficient=coefficient, maximum_ns=maximum)
    following = backoff_ns(
        attempt + 1, initial_ns=initial, coefficient=coefficient, maximum_ns=maximum
    )
    assert isinstance(delay, int)
    assert initial <= delay <= maximum or delay == maximum
    assert delay <= following  # never shrinks
    if attempt == 1:
        assert delay == initial


@settings(max_examples=150, deadline=None)
@given(
    attempt=st.integers(min_value=1, max_value=60),
    initial=st.integers(min_value=0, max_value=10**10),
    step=st.integers(min_value=1, max_value=5),
)
def test_backoff_with_integral_coefficient_is_exact(attempt: int, initial: int, step: int) -> None:
    maximum = 10**60  # far above anything reachable, so the cap never applies
    delay = backoff_ns(attempt, initial_ns=initial, coefficient=float(step), maximum_ns=maximum)
    assert delay == initial * step ** (attempt - 1)


@settings(max_examples=150, deadline=None)
@given(
    attempt=st.integers(min_value=1, max_value=60),
    initial_ms=st.integers(min_value=0, max_value=10**6),
    coefficient=coefficients,
    cap_factor=st.integers(min_value=1, max_value=1000),
)
def test_policy_backoff_is_the_pure_function(
    attempt: int, initial_ms: int, coefficient: float, cap_factor: int
) -> None:
    initial = timedelta(milliseconds=initial_ms)
    policy = RetryPolicy(
        initial_interval=initial,
        backoff_coefficient=coefficient,
        maximum_interval=initial * cap_factor,
    )
    expected = backoff_ns(
        attempt,
        initial_ns=initial_ms * 1_000_000,
        coefficient=coefficient,
        maximum_ns=initial_ms * 1_000_000 * cap_factor,
    )
    assert policy.backoff_ns(attempt) == expected
    assert expected == min(
        round(initial_ms * 1_000_000 * coefficient ** (attempt - 1)),
        initial_ms * 1_000_000 * cap_factor,
    ) or coefficient == int(coefficient)


# --- decide_retry: the documented order ----------------------------------------------------------


def _decide(policy: RetryPolicy | None, **kwargs: object) -> object:
    defaults: dict[str, object] = {
        "attempt": 1,
        "retryable": True,
        "error_type": "ValueError",
        "next_retry_delay_ns": None,
        "now_ns": 0,
        "schedule_to_close_deadline_ns": None,
    }
    defaults.update(kwargs)
    return decide_retry(policy, **defaults)


def test_decide_without_a_policy() -> None:
    decision = decide_retry(
        None,
        attempt=1,
        retryable=True,
        error_type="X",
        next_retry_delay_ns=None,
        now_ns=0,
        schedule_to_close_deadline_ns=None,
    )
    assert decision.state is RetryState.RETRY_POLICY_NOT_SET
    assert not decision.retry


def test_decide_non_retryable_flag_beats_everything() -> None:
    decision = _decide(RetryPolicy(maximum_attempts=1), retryable=False)
    assert decision.state is RetryState.NON_RETRYABLE_FAILURE


def test_decide_listed_type_is_non_retryable() -> None:
    policy = RetryPolicy(non_retryable_error_types=("ValueError",))
    decision = _decide(policy, error_type="ValueError")
    assert decision.state is RetryState.NON_RETRYABLE_FAILURE
    other = _decide(policy, error_type="KeyError")
    assert other.state is RetryState.IN_PROGRESS


def test_decide_maximum_attempts_before_timeout() -> None:
    # Both rules 2 and 4 apply; rule 2 comes first.
    decision = _decide(
        RetryPolicy(maximum_attempts=3), attempt=3, now_ns=10 * S, schedule_to_close_deadline_ns=S
    )
    assert decision.state is RetryState.MAXIMUM_ATTEMPTS_REACHED


def test_decide_next_retry_delay_overrides_backoff() -> None:
    decision = _decide(RetryPolicy(), attempt=5, next_retry_delay_ns=3 * S)
    assert decision.delay_ns == 3 * S


def test_decide_deadline_boundary_is_inclusive() -> None:
    # now + delay == deadline still retries; one nanosecond later does not.
    on_time = _decide(RetryPolicy(), now_ns=9 * S, schedule_to_close_deadline_ns=10 * S)
    assert on_time.delay_ns == S
    late = _decide(RetryPolicy(), now_ns=9 * S + 1, schedule_to_close_deadline_ns=10 * S)
    assert late.state is RetryState.TIMEOUT


policies = st.builds(
    RetryPolicy,
    initial_interval=st.integers(min_value=0, max_value=10**6).map(
        lambda ms: timedelta(milliseconds=ms)
    ),
    backoff_coefficient=coefficients,
    maximum_attempts=st.integers(min_value=0, max_value=10),
    non_retryable_error_types=st.lists(st.sampled_from(["A", "B", "C"]), max_size=2),
)


@settings(max_examples=150, deadline=None)
@given(
    policy=policies,
    attempt=st.integers(min_value=1, max_value=20),
    retryable=st.booleans(),
    error_type=st.sampled_from([None, "A", "B", "C", "D"]),
    next_delay=st.one_of(st.none(), st.integers(min_value=0, max_value=10**12)),
    now=st.integers(min_value=0, max_value=10**13),
    deadline=st.one_of(st.none(), st.integers(min_value=0, max_value=2 * 10**13)),
)
def test_decide_retry_follows_the_documented_order(
    policy: RetryPolicy,
    attempt: int,
    retryable: bool,
    error_type: str | None,
    next_delay: int | None,
    now: int,
    deadline: int | None,
) -> None:
    decision = decide_retry(
        policy,
        attempt=attempt,
        retryable=retryable,
        error_type=error_type,
        next_retry_delay_ns=next_delay,
        now_ns=now,
        schedule_to_close_deadline_ns=deadline,
    )
    if not retryable or error_type in policy.non_retryable_error_types:
        expected = RetryState.NON_RETRYABLE_FAILURE
    elif policy.maximum_attempts and attempt >= policy.maximum_attempts:
        expected = RetryState.MAXIMUM_ATTEMPTS_REACHED
    else:
        delay = next_delay if next_delay is not None else policy.backoff_ns(attempt)
        if deadline is not None and now + delay > deadline:
            expected = RetryState.TIMEOUT
        else:
            expected = RetryState.IN_PROGRESS
            assert decision.delay_ns == delay
    assert decision.state is expected
    assert decision.retry == (expected is RetryState.IN_PROGRESS)


def test_a_policys_json_in_history_is_worked_out_once_and_never_shared(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    policy = RetryPolicy(maximum_attempts=3, non_retryable_error_types=["Bad"])
    first, second = policy_json(policy), policy_json(policy)
    assert first == second == policy.to_json()
    assert first is not second
    assert first["non_retryable_error_types"] is not second["non_retryable_error_types"]
    # An equal policy that is another object gets its own entry; a full memo starts over.
    other = RetryPolicy(maximum_attempts=4)
    assert policy_json(other)["maximum_attempts"] == 4
    monkeypatch.setattr(_commands, "_POLICY_JSON", {i: (other, {}) for i in range(256)})
    assert policy_json(policy) == policy.to_json()
    assert len(_commands._POLICY_JSON) == 1
