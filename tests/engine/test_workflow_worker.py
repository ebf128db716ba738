"""The workflow task queue between the engine and the worker that holds the instance cache."""

from __future__ import annotations

from datetime import timedelta

from pytest_durable import DurableEnvironment, workflow
from pytest_durable.engine._runs import _Run


@workflow.defn
class Waits:
    def __init__(self) -> None:
        self.seen: list[str] = []

    @workflow.run
    async def run(self) -> list[str]:
        await workflow.wait_condition(lambda: len(self.seen) >= 2)
        return self.seen

    @workflow.signal
    def note(self, value: str) -> None:
        self.seen.append(value)


def test_a_run_is_queued_once_and_tasks_run_in_queue_order(env: DurableEnvironment) -> None:
    engine = env.engine
    a = env.start(Waits.run, id="a")
    b = env.start(Waits.run, id="b")
    ran: list[str] = []
    run_task = engine.task_queue._run_task

    def spy(run: _Run) -> None:
        ran.append(run.workflow_id)
        run_task(run)

    engine.task_queue._run_task = spy
    engine.signal("b", "note", ["1"])
    engine.signal("a", "note", ["1"])
    engine.signal("b", "note", ["2"])  # b already has a task queued: no second one
    assert len(engine.task_queue) == 2
    env.settle()
    assert ran == ["b", "a"]
    assert b.result() == ["1", "2"]
    assert a.history.status == "running"


def test_a_task_queued_for_a_run_that_closes_meanwhile_does_not_run(
    env: DurableEnvironment,
) -> None:
    env.start(Waits.run, id="w")
    engine = env.engine
    ran: list[str] = []
    run_task = engine.task_queue._run_task
    engine.task_queue._run_task = lambda run: (ran.append(run.workflow_id), run_task(run))[1]
    engine.signal("w", "note", ["x"])  # queues a task
    assert len(engine.task_queue) == 1
    engine.terminate("w", reason="stop")  # closes the run before the task is taken
    env.settle()
    assert ran == []
    assert len(engine.task_queue) == 0
    assert [e.kind for e in engine.history(engine.executions["w"].current)][-1] == (
        "WorkflowExecutionTerminated"
    )


def test_the_worker_rebuilds_a_dropped_instance_from_the_store(env: DurableEnvironment) -> None:
    handle = env.start(Waits.run, id="w")
    engine = env.engine
    run = engine.executions["w"].current
    first = run.instance
    assert first is not None
    engine.workflow_worker.evict(run)
    assert run.instance is None and first.evicted
    handle.signal(Waits.note, "a")
    assert run.instance is not None and run.instance is not first
    handle.signal(Waits.note, "b")
    assert handle.result() == ["a", "b"]
    env.sleep(timedelta(seconds=1))
