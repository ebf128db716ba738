"""Direct calls of activity functions and forgotten awaits fail the run, naming the line and
the fix, instead of running inline or silently doing nothing."""

from __future__ import annotations

import asyncio
import inspect
from datetime import timedelta
from pathlib import Path

import pytest

from pytest_durable import (
    ActivityEnvironment,
    DurableEnvironment,
    WorkflowFailureError,
    activity,
    workflow,
)
from pytest_durable.errors import WorkflowMisuseError


def _line_of(marker: str) -> int:
    source = Path(__file__).read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(source, 1) if marker in line)


HERE = "tests/engine/test_workflow_misuse.py"
calls: list[str] = []


@activity.defn
async def charge(order_id: str) -> str:
    calls.append(order_id)
    return f"tx-{order_id}"


@activity.defn
def ship(order_id: str) -> str:
    calls.append(order_id)
    return f"trk-{order_id}"


def _cause(env: DurableEnvironment, wf: object) -> BaseException:
    with pytest.raises(WorkflowFailureError) as info:
        env.run(wf).result()
    return info.value.cause


def test_awaiting_an_async_activity_directly_fails_the_run(env: DurableEnvironment) -> None:
    @workflow.defn
    class Direct:
        @workflow.run
        async def run(self) -> str:
            return await charge("o-1")  # the direct call

    calls.clear()
    cause = _cause(env, Direct)
    assert isinstance(cause, WorkflowMisuseError)
    assert str(cause).startswith(
        f"activity 'charge' was called directly from workflow code at {HERE}:"
        f"{_line_of('# the direct call')}: it would run inline, with no history event"
    )
    assert "await workflow.execute_activity(charge, ..., start_to_close_timeout=" in str(cause)
    assert calls == []  # the activity's body never ran


def test_calling_a_sync_activity_directly_fails_the_run(env: DurableEnvironment) -> None:
    @workflow.defn
    class DirectSync:
        @workflow.run
        async def run(self) -> str:
            return ship("o-1")  # the sync direct call

    calls.clear()
    cause = _cause(env, DirectSync)
    assert isinstance(cause, WorkflowMisuseError)
    assert f"{HERE}:{_line_of('# the sync direct call')}" in str(cause)
    assert calls == []


def test_activities_still_run_through_the_engine_and_alone() -> None:
    @workflow.defn
    class Proper:
        @workflow.run
        async def run(self) -> list[str]:
            opts = {"start_to_close_timeout": timedelta(seconds=5)}
            return [
                await workflow.execute_activity(charge, "o-1", **opts),
                await workflow.execute_activity(ship, "o-1", **opts),
            ]

    with DurableEnvironment() as env:
        assert env.run(Proper).result() == ["tx-o-1", "trk-o-1"]
    assert ActivityEnvironment().run(charge, "o-2") == "tx-o-2"
    assert asyncio.run(charge("o-3")) == "tx-o-3"  # a plain call outside a workflow
    assert ship("o-4") == "trk-o-4"
    assert inspect.iscoroutinefunction(charge) and not inspect.iscoroutinefunction(ship)
    assert charge.__name__ == "charge"


def test_a_forgotten_await_on_execute_activity_fails_the_run(env: DurableEnvironment) -> None:
    @workflow.defn
    class Forgot:
        @workflow.run
        async def run(self) -> str:
            workflow.execute_activity(  # the forgotten await
                charge, "o-1", start_to_close_timeout=timedelta(seconds=5)
            )
            return "done"

    env.mock_activity(charge, returns="tx")
    cause = _cause(env, Forgot)
    assert isinstance(cause, WorkflowMisuseError)
    assert str(cause) == (
        f"workflow.execute_activity(...) at {HERE}:{_line_of('# the forgotten await')} was "
        "never awaited, so it did nothing (nothing was scheduled and the workflow went on). "
        "Write 'await workflow.execute_activity(...)', or workflow.start_activity(...) to "
        "start the activity without waiting for it."
    )
    assert env.mocks["charge"].call_count == 0


def test_a_forgotten_await_made_through_engine_code_names_the_workflows_line(
    env: DurableEnvironment,
) -> None:
    # A workflow API call made by code of the package itself (here a helper compiled as if it
    # were one of its modules) is reported at the workflow line that called that code.
    import pytest_durable

    namespace: dict[str, object] = {"workflow": workflow}
    helper = Path(pytest_durable.__file__).parent / "engine" / "_helper_for_a_test.py"
    exec(compile("def nap():\n    workflow.sleep(60)\n", str(helper), "exec"), namespace)
    nap = namespace["nap"]

    @workflow.defn
    class ForgotInside:
        @workflow.run
        async def run(self) -> None:
            nap()  # type: ignore[operator]  # the helper's forgotten await

    cause = _cause(env, ForgotInside)
    assert isinstance(cause, WorkflowMisuseError)
    line = _line_of("# the helper's forgotten await")
    assert str(cause).startswith(f"workflow.sleep(...) at {HERE}:{line} was never awaited")


def test_a_forgotten_execute_activity_made_through_engine_code_names_the_workflows_line(
    env: DurableEnvironment,
) -> None:
    # The same for execute_activity, which tracks the coroutine it makes by itself.
    import pytest_durable

    namespace: dict[str, object] = {"workflow": workflow, "charge": charge, "timedelta": timedelta}
    helper = Path(pytest_durable.__file__).parent / "engine" / "_helper_for_a_test.py"
    source = (
        "def pay():\n"
        "    workflow.execute_activity(charge, 'o-1', start_to_close_timeout=timedelta(5))\n"
    )
    exec(compile(source, str(helper), "exec"), namespace)
    pay = namespace["pay"]

    @workflow.defn
    class ForgotInside:
        @workflow.run
        async def run(self) -> None:
            pay()  # type: ignore[operator]  # the helper's forgotten activity

    env.mock_activity(charge, returns="tx")
    cause = _cause(env, ForgotInside)
    assert isinstance(cause, WorkflowMisuseError)
    line = _line_of("# the helper's forgotten activity")
    assert str(cause).startswith(
        f"workflow.execute_activity(...) at {HERE}:{line} was never awaited"
    )


def test_a_forgotten_await_on_sleep_fails_the_run(env: DurableEnvironment) -> None:
    @workflow.defn
    class ForgotSleep:
        @workflow.run
        async def run(self) -> None:
            await workflow.sleep(1)
            workflow.sleep(timedelta(hours=1))  # no await

    cause = _cause(env, ForgotSleep)
    assert isinstance(cause, WorkflowMisuseError)
    assert str(cause).startswith(
        f"workflow.sleep(...) at {HERE}:{_line_of('# no await')} was never awaited"
    )


def test_coroutines_kept_for_later_or_gathered_are_fine(env: DurableEnvironment) -> None:
    @workflow.defn
    class Later:
        @workflow.run
        async def run(self) -> list[str]:
            opts = {"start_to_close_timeout": timedelta(seconds=5)}
            first = workflow.execute_activity(charge, "a", **opts)
            await workflow.sleep(5)
            both = await asyncio.gather(
                workflow.execute_activity(charge, "b", **opts),
                asyncio.create_task(workflow.execute_activity(charge, "c", **opts)),
            )
            return [await first, *both]

    env.mock_activity(charge, side_effect=lambda order_id: f"tx-{order_id}")
    assert env.run(Later).result() == ["tx-a", "tx-b", "tx-c"]


def test_a_tracked_call_site_gives_its_frames_line() -> None:
    # Tracking keeps a frame's code and last instruction; the line is worked out from them
    # only for a forgotten call, and must be the one the frame was at.
    from pytest_durable.engine._unawaited import _line

    frame = inspect.currentframe()
    assert frame is not None
    code, lasti, line = frame.f_code, frame.f_lasti, frame.f_lineno
    assert _line(code, lasti) == line
    # An offset past the code's end (never tracked) falls back to the code's first line.
    assert _line(code, len(code.co_code) + 2) == code.co_firstlineno
