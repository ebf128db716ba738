"""The plugin on Temporal SDK workflows: goldens, the failure timeline, --durable-explore."""

from __future__ import annotations

import pytest

pytest.importorskip("temporalio")

# Loaded before pytester snapshots sys.modules, so that every in-process run sees the same
# temporalio classes (a run drops the modules it imported first).
import pytest_durable.temporal._frontend
import pytest_durable.temporal._history  # noqa: F401

WORKFLOWS = """
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.common import RetryPolicy


@activity.defn
async def reserve(item: str) -> str:
    return f"reserved {item}"


@workflow.defn(sandboxed=False)
class Reserve:
    @workflow.run
    async def run(self, item: str) -> str:
        first = await workflow.execute_local_activity(
            reserve,
            item,
            start_to_close_timeout=timedelta(seconds=5),
            retry_policy=RetryPolicy(maximum_attempts=2),
        )
        await workflow.sleep(timedelta(hours=1))
        return await workflow.execute_activity(
            reserve, first, start_to_close_timeout=timedelta(seconds=5)
        )
"""

TESTS = """
import pytest

from pytest_durable.temporal import Worker, WorkflowEnvironment
from temporal_workflows import Reserve, reserve

def test_reserves(durable_env, golden_history):
    durable_env.register_activity(reserve)
    run = durable_env.run(Reserve.run, "tea", id="reserve-tea")
    assert run.result() == "reserved reserved tea"
    golden_history.check(run)

def test_fails(durable_env):
    durable_env.mock_activity(reserve, raises=ValueError("sold out"))
    durable_env.run(Reserve.run, "tea", id="reserve-fail").result()

@pytest.mark.asyncio
async def test_client_fails(durable_env):
    env = WorkflowEnvironment(durable_env)  # the client facade on the fixture: its timeline
    async with Worker(env.client, task_queue="tq", workflows=[Reserve], activities=[reserve]):
        durable_env.mock_activity(reserve, raises=ValueError("gone"))
        await env.client.execute_workflow(Reserve.run, "tea", id="client-fail", task_queue="tq")
"""


@pytest.fixture
def temporal_pytester(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makepyfile(temporal_workflows=WORKFLOWS, test_reserve=TESTS)
    return pytester


def test_goldens_and_the_failure_timeline_of_temporal_runs(
    temporal_pytester: pytest.Pytester,
) -> None:
    written = temporal_pytester.runpytest("--durable-update-goldens", "-p", "no:cacheprovider")
    written.assert_outcomes(passed=1, failed=2)
    golden = temporal_pytester.path / "__goldens__" / "test_reserve" / "test_reserves.json"
    text = golden.read_text()
    assert '"core_local_activity"' in text and '"ActivityTaskScheduled"' in text
    written.stdout.fnmatch_lines(
        [
            "*- durable timeline -*",
            "workflow 'reserve-fail' (Reserve) run *: failed, * events",
            "*MarkerRecorded*core_local_activity*",
            "*WorkflowExecutionFailed*sold out*",
        ]
    )
    written.stdout.fnmatch_lines(
        ["workflow 'client-fail' (Reserve) run *: failed, * events", "*Failed*gone*"]
    )
    again = temporal_pytester.runpytest("-p", "no:cacheprovider", "-k", "reserves")
    again.assert_outcomes(passed=1)
    # A change in the recorded run fails against the golden, naming the event.
    golden.write_text(text.replace("reserved tea", "reserved coffee"))
    changed = temporal_pytester.runpytest("-p", "no:cacheprovider", "-k", "reserves")
    changed.assert_outcomes(failed=1)
    changed.stdout.fnmatch_lines(["*GoldenHistoryError*"])


def test_durable_explore_and_replay_every_task_on_temporal_runs(
    temporal_pytester: pytest.Pytester,
) -> None:
    result = temporal_pytester.runpytest(
        "--durable-explore", "--durable-replay-every-task", "-p", "no:cacheprovider", "-k",
        "reserves", "--durable-update-goldens",
    )
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*explore=yes*"])
