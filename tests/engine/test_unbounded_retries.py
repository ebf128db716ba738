"""An activity failing forever under an unlimited policy ends the test clearly, not a hang."""

from __future__ import annotations

from datetime import timedelta

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
        assert "has failed 25 times" in message
        assert "ConnectionError: upstream down" in message
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
