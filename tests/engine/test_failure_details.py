"""Failure details travel through history as JSON; unserialisable ones become stable text."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from pytest_durable import ActivityError, ApplicationError, DurableEnvironment, activity, workflow


@dataclass
class Sku:
    code: str


class Opaque:
    pass


@activity.defn
async def reserve() -> None:
    raise ApplicationError("out of stock", Sku("KB-1"), Opaque(), 3, type="OutOfStock",
                           non_retryable=True)


@workflow.defn
class Reserve:
    @workflow.run
    async def run(self) -> list[object]:
        try:
            await workflow.execute_activity(reserve, start_to_close_timeout=timedelta(seconds=5))
        except ActivityError as err:
            assert isinstance(err.cause, ApplicationError)
            return list(err.cause.details)
        return []


def _run() -> tuple[list[object], str]:
    with DurableEnvironment() as env:
        handle = env.run(Reserve.run)
        return handle.result(), handle.history.to_json()


def test_details_are_encoded_one_by_one_and_deterministically() -> None:
    details, first = _run()
    assert details == [{"code": "KB-1"}, "<Opaque: not JSON-serialisable>", 3]
    _, second = _run()
    assert first == second
