"""The activity server and worker, and the channel between them, driven directly.

The server only acts on reports carrying its current attempt's token; the channel's fault hooks
(a lost outcome, a duplicate delivery) and the worker's death leave the server's timeouts to
decide, as in production.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta

from pytest_durable import DurableEnvironment, RetryPolicy, activity, workflow
from pytest_durable.engine import AttemptFinished
from pytest_durable.engine._activity_channel import ActivityTask, Token
from pytest_durable.engine._activity_worker import Attempt

from ._helpers import at

RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_attempts=3)

calls: list[str] = []


@activity.defn
async def work(name: str) -> str:
    calls.append(name)
    await asyncio.sleep(2)
    return f"did {name}"


@workflow.defn
class OneStep:
    @workflow.run
    async def run(self) -> str:
        return await workflow.execute_activity(
            work, "x", start_to_close_timeout=timedelta(seconds=10), retry_policy=RETRY
        )


def outcomes(env: DurableEnvironment) -> list[tuple[int, str, float]]:
    start = env.engine.executions["w"].current.events[0].time_ns
    return [(a.attempt, str(a.outcome), (a.ended_ns - start) / 1e9) for a in env.attempts]


Hook = Callable[[Attempt, Callable[[Attempt], None]], bool]


def intercept(env: DurableEnvironment, hook: Hook) -> None:
    env.engine.attempt_hook = hook


def test_a_lost_outcome_is_timed_out_by_the_server_and_retried(
    make_env: Callable[..., DurableEnvironment],
) -> None:
    calls.clear()
    env = make_env(activities=[work])
    channel = env.engine.activity_worker.channel

    def lose_first(attempt: Attempt, run_code: Callable[[Attempt], None]) -> bool:
        if attempt.number == 1:
            channel.lose_outcome(attempt.token)
        return False

    intercept(env, lose_first)
    handle = env.run(OneStep.run, id="w")
    assert handle.result() == "did x"
    assert calls == ["x", "x"]  # the first attempt did its work; only the report was lost
    assert outcomes(env) == [(1, "timed_out", 10.0), (2, "completed", 13.0)]


def test_after_a_lost_failure_the_other_attempts_reports_arrive(
    make_env: Callable[..., DurableEnvironment],
) -> None:
    # Losing an outcome puts the channel's reports on the path that checks for lost ones:
    # only the lost token's report is dropped, the next attempts' failure and result arrive.
    env = make_env()
    env.mock_activity(work, outcomes=[ValueError("one"), ValueError("two"), "did x"])
    channel = env.engine.activity_worker.channel

    def lose_first(attempt: Attempt, run_code: Callable[[Attempt], None]) -> bool:
        if attempt.number == 1:
            channel.lose_outcome(attempt.token)
        return False

    intercept(env, lose_first)
    handle = env.run(OneStep.run, id="w")
    assert handle.result() == "did x"
    assert outcomes(env) == [(1, "timed_out", 10.0), (2, "failed", 11.0), (3, "completed", 13.0)]


def test_a_duplicate_delivery_runs_twice_and_the_second_report_is_ignored(
    make_env: Callable[..., DurableEnvironment],
) -> None:
    calls.clear()
    env = make_env(activities=[work])
    worker = env.engine.activity_worker
    twins: list[Attempt] = []

    def deliver_twice(attempt: Attempt, run_code: Callable[[Attempt], None]) -> bool:
        run_code(attempt)
        twins.append(worker.channel.redeliver(attempt.task))
        assert worker.running(attempt.token) == [attempt, twins[0]]
        assert worker.all_running() == [attempt, twins[0]]
        return True

    intercept(env, deliver_twice)
    handle = env.run(OneStep.run, id="w")
    assert handle.result() == "did x"
    assert calls == ["x", "x"]
    assert twins[0].finished  # it ran to the end; what it reported was a duplicate
    assert worker.all_running() == []
    assert outcomes(env) == [(1, "completed", 2.0)]
    kinds = [e.kind for e in handle.history]
    assert kinds.count("ActivityTaskCompleted") == 1


def test_a_dead_worker_loses_its_attempts_and_the_server_times_them_out(
    make_env: Callable[..., DurableEnvironment],
) -> None:
    calls.clear()
    env = make_env(activities=[work])
    handle = env.start(OneStep.run, id="w")
    env.sleep(timedelta(seconds=1))
    worker = env.engine.activity_worker
    assert list(worker.in_flight) == [Token(("w", handle.run_id), 3, 1)]
    assert worker.kill() == 1
    assert worker.in_flight == {}
    assert worker.kill() == 0
    assert handle.result() == "did x"
    assert outcomes(env) == [(1, "timed_out", 10.0), (2, "completed", 13.0)]


def test_stale_and_unknown_tokens_are_ignored(make_env: Callable[..., DurableEnvironment]) -> None:
    env = make_env()
    env.mock_activity(work, delay=timedelta(seconds=30), returns="late")
    handle = env.start(OneStep.run, id="w")
    env.sleep(timedelta(seconds=1))
    server = env.engine._activities
    (token,) = list(server.attempts)
    stale = token._replace(attempt=7)
    server.completed(stale, "forged")
    server.failed(stale, ValueError("forged"))
    server.heartbeat(stale, ("forged",))
    assert server.started(stale) is None
    assert list(server.attempts) == [token]
    # The genuine attempt times out at 10 s; its mock's report at 30 s is then stale too.
    env.sleep(timedelta(seconds=40))
    assert outcomes(env) == [(1, "timed_out", 10.0), (2, "timed_out", 21.0), (3, "timed_out", 33.0)]
    assert handle.history.status == "failed"


def test_a_queued_task_whose_attempt_timed_out_is_not_started(
    make_env: Callable[..., DurableEnvironment],
) -> None:
    @workflow.defn
    class Queued:
        @workflow.run
        async def run(self) -> str:
            return await workflow.execute_activity(
                work,
                "q",
                schedule_to_start_timeout=timedelta(seconds=5),
                start_to_close_timeout=timedelta(seconds=10),
                retry_policy=RetryPolicy(maximum_attempts=1),
            )

    calls.clear()
    env = make_env(activities=[work])
    env.pause_activity_worker()
    handle = env.start(Queued.run, id="w")
    channel = env.engine.activity_worker.channel
    assert [t.activity_type for t in channel.queue] == ["work"]
    env.sleep(timedelta(seconds=6))
    assert channel.queue == []  # withdrawn when its schedule-to-start timeout fired
    env.resume_activity_worker()
    assert handle.history.status == "failed"
    assert calls == []
    assert [(a.outcome, a.started_ns) for a in env.attempts] == [("timed_out", None)]


def test_the_task_carries_what_activity_info_shows(
    make_env: Callable[..., DurableEnvironment],
) -> None:
    env = make_env(activities=[work])
    seen: list[ActivityTask] = []

    def spy(attempt: Attempt, run_code: Callable[[Attempt], None]) -> bool:
        seen.append(attempt.task)
        info = attempt.info()
        assert (info.workflow_id, info.attempt, info.activity_type) == ("w", 1, "work")
        assert info.scheduled_time == at() and info.started_time == at()
        return False

    intercept(env, spy)
    env.run(OneStep.run, id="w")
    (task,) = seen
    assert (task.workflow_id, task.attempt, task.workflow_type) == ("w", 1, "OneStep")
    assert task.start_to_close_ns == 10_000_000_000
    assert isinstance(env.attempts[0], AttemptFinished)
