"""A child that cannot start: the parent sees a clear error, and nothing else complains."""

from __future__ import annotations

import gc

import pytest

from pytest_durable import DurableEnvironment, UnknownWorkflowError, workflow


@workflow.defn
class CatchesUnknownChild:
    @workflow.run
    async def run(self) -> str:
        try:
            await workflow.execute_child_workflow("Nope")
        except UnknownWorkflowError as err:
            return str(err)
        return "started?"


def test_unknown_child_type_is_catchable_and_silent(caplog: pytest.LogCaptureFixture) -> None:
    with DurableEnvironment() as env:
        message = env.run(CatchesUnknownChild.run).result()
    assert "could not start" in message
    assert "unknown workflow type 'Nope'" in message
    gc.collect()
    # Only this test's workflow counts: the collection may also find other tests' leftovers.
    assert not [
        r
        for r in caplog.records
        if "never retrieved" in r.getMessage() and "CatchesUnknownChild-1" in r.getMessage()
    ]
