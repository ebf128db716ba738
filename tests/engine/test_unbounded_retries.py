"""An activity failing forever under an unlimited policy ends the test clearly, not a hang."""

from __future__ import annotations

import traceback
from datetime import timedelta
from pathlib import Path

import pytest

from pytest_durable import (
    DurableEnvironment,
    InvalidArgumentError,
    RetryPolicy,
    UnboundedRetryError,
    activity,
    workflow,
)


@activity.defn
async def flaky() -> str:
    return "ok"


@workflow.defn
class DefaultPolicy:
    @workflow.run
    async def run(self) -> str:
        return str(
            await workflow.execute_activity(flaky, start_to_close_timeout=timedelta(seconds=5))
        )


@workflow.defn
class Bounded:
    @workflow.run
    async def run(self) -> str:
        return str(
            await workflow.execute_activity(
                flaky,
                schedule_to_close_timeout=timedelta(days=365),
                retry_policy=RetryPolicy(maximum_interval=timedelta(seconds=1)),
            )
        )


def test_default_policy_stops_after_the_limit_with_advice() -> None:
    with DurableEnvironment(max_unbounded_attempts=25) as env:
        mock = env.mock_activity(flaky, raises=ConnectionError("upstream down"))
        handle = env.start(DefaultPolicy)
        with pytest.raises(UnboundedRetryError) as info:
            handle.result()
        assert mock.call_count == 25
        message = str(info.value)
        assert message.startswith("activity 'flaky' raised ConnectionError: upstream down")
        assert "it failed 25 times in a row" in message
        assert isinstance(info.value.__cause__, ConnectionError)
        assert "maximum_attempts" in message and "schedule_to_close_timeout" in message
        # Nothing the workflow would have to see was recorded.
        assert handle.history[-1].kind == "ActivityTaskScheduled"


def test_a_deadline_bounds_the_retries_so_no_guard_applies() -> None:
    with DurableEnvironment(max_unbounded_attempts=10) as env:
        mock = env.mock_activity(flaky, outcomes=[ValueError("x")] * 30 + ["ok"])
        assert env.run(Bounded).result() == "ok"
        assert mock.call_count == 31


def test_none_retries_as_long_as_it_takes() -> None:
    with DurableEnvironment(max_unbounded_attempts=None) as env:
        mock = env.mock_activity(flaky, outcomes=[ValueError("x")] * 1500 + ["ok"])
        assert env.run(DefaultPolicy).result() == "ok"
        assert mock.call_count == 1501


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "10"])
def test_bad_limit_is_refused(bad: object) -> None:
    with pytest.raises(InvalidArgumentError, match="max_unbounded_attempts"):
        DurableEnvironment(max_unbounded_attempts=bad)  # type: ignore[arg-type]


@activity.defn
async def unwritten(order_id: str) -> str:
    raise NotImplementedError("talks to the bank")  # the activity's line


@workflow.defn
class CallsUnwritten:
    @workflow.run
    async def run(self) -> str:
        return str(
            await workflow.execute_activity(
                unwritten, "o-1", start_to_close_timeout=timedelta(seconds=5)
            )
        )


def test_an_unmocked_unimplemented_activity_says_what_it_raised_first() -> None:
    source = Path(__file__).read_text(encoding="utf-8").splitlines()
    line = next(i for i, text in enumerate(source, 1) if "# the activity's line" in text)
    with (
        DurableEnvironment(max_unbounded_attempts=5) as env,
        pytest.raises(UnboundedRetryError) as info,
    ):
        env.run(CallsUnwritten)
    message = str(info.value)
    assert message.startswith(
        "activity 'unwritten' raised NotImplementedError: talks to the bank at "
        f"tests/engine/test_unbounded_retries.py:{line}; it failed 5 times in a row"
    )
    assert "mock it in the test, e.g. env.mock_activity(unwritten, returns=...)" in message
    # The activity's own traceback is the cause; the engine's machinery is not shown.
    assert isinstance(info.value.__cause__, NotImplementedError)
    assert info.value.__traceback__ is not None
    frames = [f.name for f in traceback.extract_tb(info.value.__traceback__)]
    assert "_check_unbounded" not in frames and "_run_once" not in frames
