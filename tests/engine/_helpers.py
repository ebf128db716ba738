"""Small helpers for the engine tests: times relative to the start, cause-chain walking."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pytest_durable import MockActivity, workflow

from .conftest import START


def at(**offset: float) -> datetime:
    """The virtual time ``offset`` after :data:`START` (``at(minutes=30)``)."""
    return START + timedelta(**offset)


def innermost(error: BaseException) -> BaseException:
    """The last exception of ``error``'s ``__cause__`` chain."""
    while error.__cause__ is not None:
        error = error.__cause__
    return error


def activity_workflow(activity: Any, *args: Any, name: str | None = None, **options: Any) -> type:
    """A fresh workflow class that runs one activity with ``options`` and returns its result."""
    options.setdefault("start_to_close_timeout", timedelta(seconds=30))

    class OneActivity:
        @workflow.run
        async def run(self) -> Any:
            return await workflow.execute_activity(activity, *args, **options)

    OneActivity.__name__ = OneActivity.__qualname__ = name or "OneActivity"
    return workflow.defn(OneActivity)


def attempt_times(mock: MockActivity) -> list[datetime]:
    """When each attempt of a mocked activity started."""
    return [call.time for call in mock.calls]
