"""The workflow runtime seam: the public API validates and forwards, the runtime issues commands."""

from __future__ import annotations

import ast
import asyncio
import random
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any, NoReturn

import pytest

from pytest_durable import (
    DurableEnvironment,
    InvalidArgumentError,
    NotInWorkflowError,
    RetryPolicy,
    activity,
    workflow,
)
from pytest_durable.engine import _runtime
from pytest_durable.engine._loop import WorkflowEventLoop
from pytest_durable.engine._runtime import (
    ActivityCall,
    ActivityOptions,
    ChildWorkflowCall,
    ChildWorkflowHandle,
    WorkflowInfo,
    WorkflowRuntime,
)


class RecordingRuntime:
    """Wraps a runtime, as a determinism guard would: records each call, then delegates."""

    def __init__(self, inner: WorkflowRuntime, calls: list[str]) -> None:
        self.inner = inner
        self.calls = calls

    def workflow_info(self) -> WorkflowInfo:
        self.calls.append("info")
        return self.inner.workflow_info()

    def workflow_time_ns(self) -> int:
        self.calls.append("time_ns")
        return self.inner.workflow_time_ns()

    def workflow_is_replaying(self) -> bool:
        self.calls.append("is_replaying")
        return self.inner.workflow_is_replaying()

    def workflow_random(self) -> random.Random:
        self.calls.append("random")
        return self.inner.workflow_random()

    def workflow_uuid4(self) -> uuid.UUID:
        self.calls.append("uuid4")
        return self.inner.workflow_uuid4()

    def workflow_patch(self, patch_id: str, *, deprecated: bool) -> bool:
        self.calls.append(f"patch {patch_id} deprecated={deprecated}")
        return self.inner.workflow_patch(patch_id, deprecated=deprecated)

    def workflow_sleep(self, duration_ns: int) -> Awaitable[None]:
        self.calls.append(f"sleep {duration_ns}")
        return self.inner.workflow_sleep(duration_ns)

    def workflow_wait_condition(self, fn: Callable[[], bool]) -> asyncio.Future[bool]:
        self.calls.append("wait_condition")
        return self.inner.workflow_wait_condition(fn)

    def workflow_start_activity(self, call: ActivityCall) -> asyncio.Future[Any]:
        self.calls.append(
            f"activity {call.activity_type} {list(call.args)} "
            f"stc={call.options.start_to_close_ns}"
        )
        return self.inner.workflow_start_activity(call)

    def workflow_start_child_workflow(
        self, call: ChildWorkflowCall
    ) -> Awaitable[ChildWorkflowHandle[Any]]:
        self.calls.append(f"child {call.workflow_type} {list(call.args)}")
        return self.inner.workflow_start_child_workflow(call)

    def workflow_continue_as_new(
        self, workflow_type: str | None, definition: Any, args: Sequence[Any]
    ) -> NoReturn:
        self.calls.append(f"continue_as_new {list(args)}")
        self.inner.workflow_continue_as_new(workflow_type, definition, args)


CALLS: list[str] = []


@activity.defn
async def shout(text: str) -> str:
    return text.upper()


@workflow.defn
class Child:
    @workflow.run
    async def run(self, n: int) -> int:
        return n * 2


@workflow.defn
class UsesEverything:
    def __init__(self) -> None:
        # The constructor runs on the workflow's loop: swap in the wrapping runtime there.
        loop = asyncio.get_running_loop()
        assert isinstance(loop, WorkflowEventLoop)
        if not isinstance(loop.runtime, RecordingRuntime):
            loop.runtime = RecordingRuntime(loop.runtime, CALLS)
        self.ready = False

    @workflow.signal
    def go(self) -> None:
        self.ready = True

    @workflow.run
    async def run(self, rounds: int) -> str:
        workflow.info()
        workflow.now()
        workflow.random().random()
        workflow.uuid4()
        workflow.patched("p1")
        workflow.is_replaying()
        await workflow.sleep(timedelta(seconds=2))
        text = await workflow.execute_activity(
            shout, "hi", start_to_close_timeout=timedelta(seconds=5)
        )
        doubled = await workflow.execute_child_workflow(Child.run, 21)
        await workflow.wait_condition(lambda: self.ready)
        if rounds > 1:
            workflow.continue_as_new(rounds - 1)
        return f"{text} {doubled}"


def test_every_workflow_api_call_goes_through_the_runtime_on_the_loop(
    env: DurableEnvironment,
) -> None:
    CALLS.clear()
    handle = env.start(UsesEverything.run, 2, id="uses-everything")
    handle.signal(UsesEverything.go)
    env.sleep(timedelta(seconds=3))
    handle.signal(UsesEverything.go)
    assert handle.result() == "HI 42"
    one_run = [
        "info",
        "time_ns",
        "random",
        "uuid4",
        "patch p1 deprecated=False",
        "is_replaying",
        "sleep 2000000000",
        "activity shout ['hi'] stc=5000000000",
        "child Child [21]",
        "wait_condition",
    ]
    assert [*one_run, "continue_as_new [1]", *one_run] == CALLS


def test_the_public_module_issues_no_command_itself() -> None:
    import pytest_durable.workflow as module

    tree = ast.parse(Path(module.__file__).read_text())
    imported = {
        node.module
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module is not None
    }
    engine_modules = {name for name in imported if name.startswith("engine.")}
    # Definitions (decorators), the loop (to find the runtime) and the runtime's vocabulary:
    # never the commands, the instance or the engine.
    assert engine_modules == {
        "engine._definitions",
        "engine._loop",
        "engine._payload",
        "engine._runtime",
    }


def test_outside_a_workflow_the_api_names_the_problem() -> None:
    with pytest.raises(NotInWorkflowError, match="only be called from workflow code"):
        workflow.now()


# --- activity options: validated and deduced in one place -----------------------------------


def test_schedule_to_close_caps_and_fills_the_other_timeouts() -> None:
    options = ActivityOptions.create(
        "charge",
        schedule_to_close_timeout=timedelta(seconds=40),
        start_to_close_timeout=timedelta(seconds=60),
        heartbeat_timeout=timedelta(seconds=90),
    )
    assert options.schedule_to_close_ns == 40 * 10**9
    assert options.start_to_close_ns == 40 * 10**9
    assert options.schedule_to_start_ns == 40 * 10**9
    assert options.heartbeat_ns == 40 * 10**9
    assert options.retry_policy == RetryPolicy()


def test_start_to_close_alone_leaves_the_others_unset() -> None:
    options = ActivityOptions.create("charge", start_to_close_timeout=timedelta(seconds=5))
    assert (options.start_to_close_ns, options.schedule_to_close_ns) == (5 * 10**9, None)
    assert (options.schedule_to_start_ns, options.heartbeat_ns) == (None, None)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "needs a start_to_close_timeout or a schedule_to_close_timeout"),
        ({"start_to_close_timeout": 5}, "start_to_close_timeout for activity 'charge' must be a"),
        (
            {"start_to_close_timeout": timedelta(0)},
            "start_to_close_timeout for activity 'charge' must be positive",
        ),
        (
            {"start_to_close_timeout": timedelta(seconds=1), "retry_policy": {"max": 3}},
            "retry_policy for activity 'charge' must be a RetryPolicy",
        ),
    ],
)
def test_bad_activity_options_are_named(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidArgumentError, match=message):
        ActivityOptions.create("charge", **kwargs)


def test_bad_activity_options_are_named_every_time() -> None:
    # Valid timeouts are remembered; a bad value (even an unhashable one) is never, so the
    # second call with it is refused as the first was.
    for _ in range(2):
        with pytest.raises(InvalidArgumentError, match="start_to_close_timeout for activity"):
            ActivityOptions.create("charge", start_to_close_timeout=[5])  # type: ignore[arg-type]
        with pytest.raises(InvalidArgumentError, match="must be positive"):
            ActivityOptions.create("charge", start_to_close_timeout=timedelta(seconds=-1))


def test_remembered_timeouts_give_the_same_options(monkeypatch: pytest.MonkeyPatch) -> None:
    first = ActivityOptions.create(
        "a", schedule_to_close_timeout=timedelta(seconds=7), activity_id="x"
    )
    again = ActivityOptions.create(
        "b", schedule_to_close_timeout=timedelta(seconds=7), task_queue="q"
    )
    assert first[2:] == again[2:]
    assert (first.activity_id, again.task_queue) == ("x", "q")
    # Past its bound, the memo stops growing; options are still deduced.
    monkeypatch.setattr(_runtime, "_DEDUCED_TIMEOUTS", {})
    monkeypatch.setattr(_runtime, "_DEDUCED_TIMEOUTS_MAX", 0)
    fresh = ActivityOptions.create("c", start_to_close_timeout=timedelta(seconds=3))
    assert fresh.start_to_close_ns == 3 * 10**9
    assert _runtime._DEDUCED_TIMEOUTS == {}
