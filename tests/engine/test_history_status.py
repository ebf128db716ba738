"""History.status agrees with the engine's status for every way a run can end."""

from __future__ import annotations

import json
from datetime import timedelta

from pytest_durable import ApplicationError, DurableEnvironment, History, WorkflowStatus, workflow


@workflow.defn
class Ends:
    @workflow.run
    async def run(self, how: str) -> str:
        if how == "fail":
            raise ApplicationError("no")
        if how == "continue":
            workflow.continue_as_new("complete")
        await workflow.sleep(timedelta(hours=1))
        return "done"


def test_status_of_each_ending(env: DurableEnvironment) -> None:
    handles = {how: env.start(Ends, how, id=how) for how in ("complete", "fail", "continue")}
    cancelled = env.start(Ends, "complete", id="cancel")
    assert cancelled.history.status == "running"
    cancelled.cancel()
    env.sleep(timedelta(hours=2))
    assert handles["complete"].history.status == handles["complete"].status == "completed"
    assert handles["fail"].history.status == handles["fail"].status == "failed"
    assert cancelled.history.status == cancelled.status == "cancelled"
    first, second = handles["continue"].histories
    assert first.status == "continued_as_new"
    assert second.status == "completed"
    assert History.from_json(first.to_json()).status == "continued_as_new"


def test_statuses_are_a_str_enum_that_still_equals_the_plain_strings(
    env: DurableEnvironment,
) -> None:
    handle = env.run(Ends, "complete")
    status = handle.status
    assert status is WorkflowStatus.COMPLETED
    assert status is handle.history.status
    assert isinstance(status, str)
    assert status == "completed"
    assert status != "failed"
    assert f"{status}" == str(status) == "completed"
    assert json.dumps({"status": status}) == '{"status": "completed"}'
    assert {"completed": 1}[status] == 1  # hashes like the string
    assert [s.value for s in WorkflowStatus] == [
        "running",
        "completed",
        "failed",
        "cancelled",
        "continued_as_new",
        "terminated",
    ]
