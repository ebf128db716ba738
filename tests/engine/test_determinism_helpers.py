"""Determinism helpers: now, random, uuid4, info, is_replaying and the replay-aware logger."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from pytest_durable import DurableEnvironment, Replayer, workflow

from ._helpers import at

seen: list[Any] = []


@workflow.defn
class Dice:
    @workflow.run
    async def run(self) -> list[Any]:
        values: list[Any] = []
        for _ in range(3):
            values.append(
                [
                    workflow.now().isoformat(),
                    workflow.time_ns(),
                    workflow.random().randint(1, 10**9),
                    str(workflow.uuid4()),
                ]
            )
            seen.append([*values[-1], workflow.is_replaying()])
            await workflow.sleep(timedelta(minutes=1))
        return values


def test_values_are_stable_across_replay(make_env: Callable[..., DurableEnvironment]) -> None:
    seen.clear()
    env = make_env(replay_every_task=True)  # replays before tasks 1, 2, 4 and at the close
    values = env.run(Dice).result()
    assert [v[0] for v in values] == [at(minutes=m).isoformat() for m in (0, 1, 2)]
    assert [v[1] for v in values] == [int(at(minutes=m).timestamp()) * 10**9 for m in (0, 1, 2)]
    live = [v for v in seen if not v[4]]
    replayed = [v[:4] for v in seen if v[4]]
    assert [v[:4] for v in live] == [v[:4] for v in values]
    # Task 2 replays value 1; task 3 runs on the cached instance; the last task (4) replays
    # all three, and so does the check at the close.
    assert replayed == [values[0][:4]] + [v[:4] for v in values] + [v[:4] for v in values]


def test_replayer_reproduces_the_values(env: DurableEnvironment) -> None:
    seen.clear()
    handle = env.run(Dice)
    live = list(seen)
    seen.clear()
    Replayer(workflows=[Dice]).replay(handle.history)
    assert [v[:4] for v in seen] == [v[:4] for v in live]
    assert all(v[4] for v in seen)


def test_runs_get_different_randomness(env: DurableEnvironment) -> None:
    first = env.run(Dice).result()
    second = env.run(Dice).result()
    assert [v[2] for v in first] != [v[2] for v in second]
    assert [v[3] for v in first] != [v[3] for v in second]


def test_uuid4_is_a_version_4_uuid(env: DurableEnvironment) -> None:
    for row in env.run(Dice).result():
        parsed = uuid.UUID(row[3])
        assert parsed.version == 4
        assert parsed.variant == uuid.RFC_4122


def test_seed_makes_runs_reproducible(make_env: Callable[..., DurableEnvironment]) -> None:
    one = make_env(seed=42).run(Dice).result()
    two = make_env(seed=42).run(Dice).result()
    three = make_env(seed=43).run(Dice).result()
    assert one == two
    assert one != three


def test_info_describes_the_run(env: DurableEnvironment) -> None:
    @workflow.defn(name="Described")
    class Describe:
        @workflow.run
        async def run(self) -> dict[str, Any]:
            await workflow.sleep(timedelta(seconds=3))
            info = workflow.info()
            return {
                "id": info.workflow_id,
                "run_id": info.run_id,
                "type": info.workflow_type,
                "attempt": info.attempt,
                "start": info.start_time.isoformat(),
                "parent": info.parent_workflow_id,
                "parent_run": info.parent_run_id,
                "continued": info.continued_run_id,
                "first": info.first_run_id,
            }

    handle = env.run(Describe, id="described-1")
    assert handle.result() == {
        "id": "described-1",
        "run_id": handle.run_id,
        "type": "Described",
        "attempt": 1,
        "start": at().isoformat(),
        "parent": None,
        "parent_run": None,
        "continued": None,
        "first": handle.run_id,
    }


@workflow.defn
class Chatty:
    @workflow.run
    async def run(self) -> None:
        workflow.logger.info("starting %s", "up")
        await workflow.sleep(timedelta(minutes=1))
        workflow.logger.warning("halfway")
        await workflow.sleep(timedelta(minutes=1))
        workflow.logger.info("done")


def test_logger_is_silent_during_replay(
    make_env: Callable[..., DurableEnvironment], caplog: pytest.LogCaptureFixture
) -> None:
    env = make_env(replay_every_task=True)
    with caplog.at_level(logging.INFO, logger="pytest_durable.workflow"):
        env.run(Chatty, id="chatty").result()
    messages = [r.getMessage() for r in caplog.records if r.name == "pytest_durable.workflow"]
    assert messages == [
        "starting up (Chatty chatty)",
        "halfway (Chatty chatty)",
        "done (Chatty chatty)",
    ]
    record = caplog.records[0]
    assert record.workflow_id == "chatty"  # type: ignore[attr-defined]
    assert record.workflow_type == "Chatty"  # type: ignore[attr-defined]


def test_logger_is_silent_in_the_replayer(
    env: DurableEnvironment, caplog: pytest.LogCaptureFixture
) -> None:
    history = env.run(Chatty).history
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="pytest_durable.workflow"):
        Replayer(workflows=[Chatty]).replay(history)
    assert [r for r in caplog.records if r.name == "pytest_durable.workflow"] == []


def test_logger_outside_a_workflow_just_logs(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="pytest_durable.workflow"):
        workflow.logger.info("plain")
    assert [r.getMessage() for r in caplog.records] == ["plain"]


def test_now_does_not_move_within_a_task(env: DurableEnvironment) -> None:
    @workflow.defn
    class Busy:
        @workflow.run
        async def run(self) -> bool:
            first = workflow.time_ns()
            sum(range(100_000))  # real time passes; workflow time does not
            return workflow.time_ns() == first

    assert env.run(Busy).result() is True
