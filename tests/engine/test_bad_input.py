"""Bad input: every mistake gets a clear error saying what and how to fix it, and loses nothing."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from pytest_durable import (
    ActivityError,
    ApplicationError,
    DurableEnvironment,
    InvalidArgumentError,
    InvalidDefinitionError,
    NotInActivityError,
    NotInWorkflowError,
    PayloadError,
    Replayer,
    RetryPolicy,
    UnknownQueryError,
    UnknownSignalError,
    UnknownWorkflowError,
    WorkflowAlreadyStartedError,
    WorkflowFailureError,
    WorkflowNotRunningError,
    activity,
    workflow,
)
from pytest_durable.engine import events as ev


@activity.defn
async def charge(order_id: str, amount: int) -> str:
    return f"charged {order_id} {amount}"


@workflow.defn
class Waiter:
    """A bystander: each test checks that bad input elsewhere leaves it untouched."""

    def __init__(self) -> None:
        self.go = False

    @workflow.run
    async def run(self, label: str) -> str:
        await workflow.execute_activity(charge, label, 1, start_to_close_timeout=timedelta(1))
        await workflow.wait_condition(lambda: self.go)
        return f"{label} done"

    @workflow.signal
    def release(self) -> None:
        self.go = True

    @workflow.query
    def label(self) -> str:
        return "waiter"


@pytest.fixture
def bystander(env: DurableEnvironment) -> Any:
    handle = env.start(Waiter, "bystander", id="bystander")
    yield handle
    # Whatever the test did, the bystander's history is intact and it still finishes.
    before = handle.history
    if not handle.done:
        handle.signal(Waiter.release)
        assert handle.result() == "bystander done"
    assert handle.history[: len(before)] == list(before)
    Replayer(workflows=[Waiter]).replay(handle.history)


def run_failing(env: DurableEnvironment, wf: Any, *args: Any) -> BaseException:
    handle = env.run(wf, *args)
    with pytest.raises(WorkflowFailureError) as info:
        handle.result()
    return info.value.cause


# --- unknown names -----------------------------------------------------------------------------


def test_unknown_workflow_name_lists_the_registered_ones(
    make_env: Callable[..., DurableEnvironment],
) -> None:
    env = make_env(workflows=[Waiter])
    with pytest.raises(UnknownWorkflowError) as info:
        env.start("Waitre")
    assert str(info.value) == "unknown workflow type 'Waitre'; registered workflows: Waiter"
    assert env.engine.executions == {}


def test_unknown_activity_name_lists_the_registered_ones(
    env: DurableEnvironment, bystander: Any
) -> None:
    @activity.defn(name="refund")
    async def refund() -> str:
        raise NotImplementedError("mocked")

    # By reference: a mock by name is checked against every activity the process defined, and
    # another test's 'refund-money' would make "refund" look like a typo.
    env.mock_activity(refund, returns="ok")

    @workflow.defn
    class CallsTypo:
        @workflow.run
        async def run(self) -> None:
            await workflow.execute_activity(
                "chrage",
                start_to_close_timeout=timedelta(1),
                retry_policy=RetryPolicy(maximum_attempts=1),
            )

    error = run_failing(env, CallsTypo)
    assert isinstance(error, ActivityError)
    cause = error.cause
    assert isinstance(cause, ApplicationError)
    # Temporal's type for an activity the worker does not have; retryable, as there.
    assert cause.type == "NotFoundError"
    assert not cause.non_retryable
    # Activities called by reference (charge, by the bystander) and mocks are both listed.
    assert "no implementation or mock for activity 'chrage'" in cause.message
    assert "registered activities: charge, refund" in cause.message
    assert "env.mock_activity()" in cause.message


def test_unknown_signal_and_query_names(env: DurableEnvironment, bystander: Any) -> None:
    with pytest.raises(
        UnknownSignalError,
        match="workflow 'Waiter' has no signal named 'relase'; its signals: release",
    ):
        bystander.signal("relase")
    with pytest.raises(
        UnknownQueryError, match="workflow 'Waiter' has no query named 'lable'; its queries: label"
    ):
        bystander.query("lable")
    assert not bystander.history.of_kind(ev.WorkflowExecutionSignaled)


# --- activity options ----------------------------------------------------------------------------


def test_activity_without_a_timeout(env: DurableEnvironment, bystander: Any) -> None:
    @workflow.defn
    class NoTimeout:
        @workflow.run
        async def run(self) -> None:
            await workflow.execute_activity(charge, "o", 1)

    error = run_failing(env, NoTimeout)
    assert isinstance(error, InvalidArgumentError)
    assert str(error) == (
        "activity 'charge' needs a start_to_close_timeout or a schedule_to_close_timeout (or "
        "both); e.g. start_to_close_timeout=timedelta(seconds=30)"
    )


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({"start_to_close_timeout": 30}, "start_to_close_timeout for activity 'charge' must be a"),
        ({"start_to_close_timeout": timedelta(0)}, "must be positive"),
        ({"heartbeat_timeout": timedelta(seconds=-1)}, "heartbeat_timeout for activity"),
        ({"retry_policy": {"maximum_attempts": 3}}, "retry_policy for activity 'charge' must"),
    ],
)
def test_bad_activity_options(
    env: DurableEnvironment, bystander: Any, options: dict[str, Any], words: str
) -> None:
    options.setdefault("start_to_close_timeout", timedelta(seconds=5))

    @workflow.defn
    class BadOptions:
        @workflow.run
        async def run(self) -> None:
            await workflow.execute_activity(charge, "o", 1, **options)

    error = run_failing(env, BadOptions)
    assert isinstance(error, InvalidArgumentError)
    assert words in str(error)


def test_invalid_retry_policy_at_construction() -> None:
    with pytest.raises(ValueError, match="maximum_attempts must not be negative"):
        RetryPolicy(maximum_attempts=-1)
    with pytest.raises(ValueError, match="backoff_coefficient must be at least 1"):
        RetryPolicy(backoff_coefficient=0.9)


def test_non_activity_callable(env: DurableEnvironment, bystander: Any) -> None:
    async def plain() -> None:
        pass

    @workflow.defn
    class CallsPlain:
        @workflow.run
        async def run(self) -> None:
            await workflow.execute_activity(plain, start_to_close_timeout=timedelta(1))

    error = run_failing(env, CallsPlain)
    assert isinstance(error, InvalidArgumentError)
    assert "is not an activity: decorate it with @activity.defn" in str(error)


# --- payloads ----------------------------------------------------------------------------------


class Opaque:
    pass


def test_non_json_activity_argument_names_activity_and_argument(
    env: DurableEnvironment, bystander: Any
) -> None:
    @workflow.defn
    class SendsOpaque:
        @workflow.run
        async def run(self) -> None:
            await workflow.execute_activity(
                charge, "o", Opaque(), start_to_close_timeout=timedelta(1)
            )

    error = run_failing(env, SendsOpaque)
    assert isinstance(error, PayloadError)
    assert str(error).startswith(
        "argument 'amount' of activity 'charge' is a Opaque, which cannot be serialised to JSON"
    )


def test_non_json_nested_value_names_the_path(env: DurableEnvironment) -> None:
    @activity.defn
    async def takes(payload: dict[str, Any]) -> None:
        pass

    @workflow.defn
    class Nested:
        @workflow.run
        async def run(self) -> None:
            await workflow.execute_activity(
                takes, {"a": [1, {"b": Opaque()}]}, start_to_close_timeout=timedelta(1)
            )

    error = run_failing(env, Nested)
    assert "argument 'payload' of activity 'takes'['a'][1]['b'] is a Opaque" in str(error)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), {1: "int key"}, b"bytes"])
def test_values_json_cannot_hold(env: DurableEnvironment, value: Any) -> None:
    @activity.defn
    async def takes(payload: Any) -> None:
        pass

    @workflow.defn
    class Sends:
        @workflow.run
        async def run(self) -> None:
            await workflow.execute_activity(takes, value, start_to_close_timeout=timedelta(1))

    error = run_failing(env, Sends)
    assert isinstance(error, PayloadError)
    assert "argument 'payload' of activity 'takes'" in str(error)


def test_non_json_workflow_argument_starts_nothing(env: DurableEnvironment) -> None:
    with pytest.raises(PayloadError, match="argument 'label' of workflow 'Waiter' is a Opaque"):
        env.start(Waiter, Opaque())
    assert env.engine.executions == {}


def test_non_json_signal_argument(env: DurableEnvironment) -> None:
    @workflow.defn
    class Takes:
        @workflow.run
        async def run(self) -> None:
            await workflow.wait_condition(lambda: False)

        @workflow.signal
        def give(self, thing: Any) -> None:
            pass

    handle = env.start(Takes)
    before = handle.history
    with pytest.raises(PayloadError, match="argument 'thing' of signal 'give'"):
        handle.signal(Takes.give, Opaque())
    assert handle.history == before


def test_non_json_activity_result_is_a_non_retryable_failure(env: DurableEnvironment) -> None:
    calls: list[int] = []

    @activity.defn
    async def returns_opaque() -> Any:
        calls.append(1)
        return Opaque()

    @workflow.defn
    class Receives:
        @workflow.run
        async def run(self) -> None:
            await workflow.execute_activity(returns_opaque, start_to_close_timeout=timedelta(1))

    error = run_failing(env, Receives)
    assert isinstance(error, ActivityError)
    cause = error.cause
    assert isinstance(cause, ApplicationError)
    assert cause.type == "PayloadError"
    assert "the result of activity 'returns_opaque' is a Opaque" in cause.message
    assert calls == [1]


def test_non_json_child_argument(env: DurableEnvironment) -> None:
    @workflow.defn
    class Spawns:
        @workflow.run
        async def run(self) -> None:
            await workflow.execute_child_workflow(Waiter.run, Opaque())

    error = run_failing(env, Spawns)
    assert isinstance(error, PayloadError)
    assert "argument 'label' of child workflow 'Waiter'" in str(error)


# --- outside a workflow or an activity ---------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        workflow.now,
        workflow.time_ns,
        workflow.info,
        workflow.random,
        workflow.uuid4,
        workflow.is_replaying,
        lambda: workflow.patched("p"),
        lambda: workflow.continue_as_new(1),
        lambda: workflow.start_activity(charge, "o", 1, start_to_close_timeout=timedelta(1)),
    ],
)
def test_workflow_functions_outside_a_workflow(call: Callable[[], Any]) -> None:
    with pytest.raises(NotInWorkflowError, match="may only be called from workflow code"):
        call()


@pytest.mark.parametrize(
    "coroutine",
    [
        lambda: workflow.sleep(1),
        lambda: workflow.wait_condition(lambda: True),
        lambda: workflow.execute_activity(charge, "o", 1, start_to_close_timeout=timedelta(1)),
        lambda: workflow.execute_child_workflow(Waiter.run, "x"),
    ],
)
def test_workflow_coroutines_outside_a_workflow(coroutine: Callable[[], Any]) -> None:
    with pytest.raises(NotInWorkflowError):
        asyncio.run(coroutine())


@pytest.mark.parametrize(
    "call", [activity.info, lambda: activity.heartbeat(1), activity.is_cancelled]
)
def test_activity_functions_outside_an_activity(call: Callable[[], Any]) -> None:
    with pytest.raises(NotInActivityError, match="may only be called from inside an activity"):
        call()


# --- ids and closed workflows --------------------------------------------------------------------


def test_starting_an_id_already_running(env: DurableEnvironment, bystander: Any) -> None:
    before = bystander.history
    with pytest.raises(WorkflowAlreadyStartedError) as info:
        env.start(Waiter, "again", id="bystander")
    message = str(info.value)
    assert "a workflow with id 'bystander' is already running" in message
    assert f"(Waiter, run {bystander.run_id})" in message
    assert bystander.history == before
    # Once it has finished, the id can be used again.
    bystander.signal(Waiter.release)
    assert bystander.result() == "bystander done"
    again = env.start(Waiter, "again", id="bystander")
    assert again.run_id != bystander.history.run_id


def test_signal_and_cancel_after_the_end(env: DurableEnvironment) -> None:
    handle = env.start(Waiter, "x")
    handle.signal(Waiter.release)
    handle.result()
    before = handle.history
    with pytest.raises(WorkflowNotRunningError, match=r"cannot signal 'release' to workflow"):
        handle.signal(Waiter.release)
    with pytest.raises(WorkflowNotRunningError, match="already completed"):
        handle.cancel()
    assert handle.history == before


# --- definitions ---------------------------------------------------------------------------------


def test_workflow_without_run() -> None:
    with pytest.raises(InvalidDefinitionError, match=r"has no @workflow\.run method"):

        @workflow.defn
        class NoRun:
            pass


def test_workflow_with_two_runs() -> None:
    with pytest.raises(InvalidDefinitionError, match=r"has 2 @workflow\.run methods"):

        @workflow.defn
        class TwoRuns:
            @workflow.run
            async def a(self) -> None:
                pass

            @workflow.run
            async def b(self) -> None:
                pass


def test_sync_run_method() -> None:
    with pytest.raises(InvalidDefinitionError, match="must be 'async def'"):

        class SyncRun:
            @workflow.run
            def run(self) -> None:
                pass


def test_duplicate_signal_names() -> None:
    with pytest.raises(InvalidDefinitionError, match="defines signal 'go' twice"):

        @workflow.defn
        class Twice:
            @workflow.run
            async def run(self) -> None:
                pass

            @workflow.signal(name="go")
            def one(self) -> None:
                pass

            @workflow.signal(name="go")
            def two(self) -> None:
                pass


def test_generator_activity() -> None:
    with pytest.raises(InvalidDefinitionError, match="is a generator"):

        @activity.defn
        def gen() -> Any:
            yield 1


@pytest.mark.parametrize("name", ["", 3])
def test_bad_names(name: Any) -> None:
    with pytest.raises(InvalidDefinitionError, match="must be a non-empty string"):

        @activity.defn(name=name)
        async def named() -> None:
            pass

    with pytest.raises(InvalidDefinitionError, match="must be a non-empty string"):

        @workflow.defn(name=name)
        class Named:
            @workflow.run
            async def run(self) -> None:
                pass


def test_defn_on_a_function() -> None:
    with pytest.raises(InvalidDefinitionError, match="decorates a class"):
        workflow.defn(charge)  # type: ignore[type-var]
