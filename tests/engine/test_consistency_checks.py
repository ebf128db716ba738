"""Consistency checks: duplicate activity ids, signals by unknown name, edited history headers."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest

from pytest_durable import (
    DurableEnvironment,
    History,
    HistoryFormatError,
    InvalidArgumentError,
    UnknownSignalError,
    WorkflowFailureError,
    activity,
    workflow,
)


@activity.defn
async def ping(n: int) -> int:
    return n


@workflow.defn
class TwoWithOneId:
    @workflow.run
    async def run(self) -> list[int]:
        first = workflow.start_activity(
            ping, 1, activity_id="same", start_to_close_timeout=timedelta(seconds=5)
        )
        second = workflow.start_activity(
            ping, 2, activity_id="same", start_to_close_timeout=timedelta(seconds=5)
        )
        return list(await asyncio.gather(first, second))


@workflow.defn
class OneIdInTurn:
    @workflow.run
    async def run(self) -> list[int]:
        return [
            await workflow.execute_activity(
                ping, n, activity_id="same", start_to_close_timeout=timedelta(seconds=5)
            )
            for n in (1, 2)
        ]


def test_concurrent_activities_may_not_share_an_id(env: DurableEnvironment) -> None:
    handle = env.run(TwoWithOneId)
    with pytest.raises(WorkflowFailureError) as info:
        handle.result()
    assert isinstance(info.value.cause, InvalidArgumentError)
    assert "activity id 'same' is already used" in str(info.value.cause)


def test_an_id_may_be_reused_once_its_activity_finished(env: DurableEnvironment) -> None:
    assert env.run(OneIdInTurn).result() == [1, 2]


@workflow.defn
class Waits:
    @workflow.run
    async def run(self) -> None:
        await workflow.sleep(timedelta(days=1))

    @workflow.signal
    def poke(self) -> None:
        pass


def test_engine_refuses_a_signal_the_workflow_does_not_define(env: DurableEnvironment) -> None:
    handle = env.start(Waits)
    before = len(handle.history)
    with pytest.raises(UnknownSignalError, match="its signals: poke"):
        env.engine.signal(handle.id, "pokee", [])
    assert len(handle.history) == before


def test_history_header_must_match_the_first_event(env: DurableEnvironment) -> None:
    doc = json.loads(env.run(Waits).history.to_json())
    doc["workflow_id"] = "someone-else"
    with pytest.raises(HistoryFormatError, match="header workflow_id 'someone-else' does not"):
        History.from_json(json.dumps(doc), source="edited.json")
