"""Child workflows: results, failures, cancellation, ids, parent close, and their histories."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta
from typing import Any

import pytest

from pytest_durable import (
    ApplicationError,
    CancelledError,
    ChildWorkflowError,
    DurableEnvironment,
    Replayer,
    RetryPolicy,
    RetryState,
    UnknownWorkflowError,
    WorkflowAlreadyStartedError,
    WorkflowFailureError,
    workflow,
)
from pytest_durable.engine import events as ev

from ._helpers import at


@workflow.defn
class Child:
    @workflow.run
    async def run(self, name: str, seconds: int) -> str:
        await workflow.sleep(timedelta(seconds=seconds))
        info = workflow.info()
        if name == "fail":
            raise ApplicationError("child gave up", "detail", type="ChildTrouble")
        return f"{name}:{info.parent_workflow_id}:{workflow.now().isoformat()}"


@workflow.defn
class Parent:
    @workflow.run
    async def run(self, names: list[str]) -> list[str]:
        results = []
        for name in names:
            results.append(await workflow.execute_child_workflow(Child.run, name, 60))
        return results


def test_child_result_reaches_the_parent(env: DurableEnvironment) -> None:
    handle = env.run(Parent, ["a", "b"], id="parent")
    assert handle.result() == [
        f"a:parent:{at(minutes=1).isoformat()}",
        f"b:parent:{at(minutes=2).isoformat()}",
    ]
    kinds = [e.kind for e in handle.history]
    assert kinds.count("StartChildWorkflowExecutionInitiated") == 2
    assert kinds.count("ChildWorkflowExecutionStarted") == 2
    assert kinds.count("ChildWorkflowExecutionCompleted") == 2


def test_child_has_its_own_history_naming_its_parent(env: DurableEnvironment) -> None:
    handle = env.run(Parent, ["a"], id="parent")
    child = env.get_handle("parent/child-1")
    assert child.status == "completed"
    started = child.history.started
    assert started.parent_workflow_id == "parent"
    assert started.parent_run_id == handle.run_id
    (initiated,) = handle.history.of_kind(ev.StartChildWorkflowExecutionInitiated)
    assert initiated.workflow_id == "parent/child-1"
    assert initiated.workflow_type == "Child"
    (child_started,) = handle.history.of_kind(ev.ChildWorkflowExecutionStarted)
    assert child_started.run_id == child.run_id
    assert len(env.histories()) == 2


def test_child_failure_is_a_child_workflow_error(env: DurableEnvironment) -> None:
    @workflow.defn
    class Catching:
        @workflow.run
        async def run(self) -> list[str]:
            try:
                await workflow.execute_child_workflow(Child.run, "fail", 5, id="the-child")
            except ChildWorkflowError as err:
                cause = err.cause
                assert isinstance(cause, ApplicationError)
                return [
                    err.workflow_type,
                    err.workflow_id,
                    str(err.retry_state),
                    cause.type or "",
                    cause.message,
                    *cause.details,
                ]
            return []

    handle = env.run(Catching)
    assert handle.result() == [
        "Child",
        "the-child",
        str(RetryState.RETRY_POLICY_NOT_SET),
        "ChildTrouble",
        "child gave up",
        "detail",
    ]
    assert env.get_handle("the-child").status == "failed"


def test_uncaught_child_failure_fails_the_parent(env: DurableEnvironment) -> None:
    handle = env.run(Parent, ["fail"])
    with pytest.raises(WorkflowFailureError) as info:
        handle.result()
    error = info.value.cause
    assert isinstance(error, ChildWorkflowError)
    assert isinstance(error.cause, ApplicationError)
    assert error.cause.type == "ChildTrouble"
    assert error.run_id == env.get_handle(error.workflow_id).run_id


def test_children_run_concurrently(env: DurableEnvironment) -> None:
    @workflow.defn
    class FanOut:
        @workflow.run
        async def run(self) -> list[str]:
            return list(
                await asyncio.gather(
                    *(
                        workflow.execute_child_workflow(Child.run, f"c{i}", 10 * i)
                        for i in (3, 1, 2)
                    )
                )
            )

    handle = env.run(FanOut, id="fan")
    assert [r.split(":")[0] for r in handle.result()] == ["c3", "c1", "c2"]
    assert env.now() == at(seconds=30)


def test_start_child_returns_a_handle_once_started(env: DurableEnvironment) -> None:
    @workflow.defn
    class Starter:
        @workflow.run
        async def run(self) -> list[str]:
            child = await workflow.start_child_workflow(Child.run, "h", 5, id="kid")
            run_id = child.run_id or ""
            result = await child
            return [child.id, run_id, result]

    handle = env.run(Starter)
    child_id, run_id, result = handle.result()
    assert child_id == "kid"
    assert run_id == env.get_handle("kid").run_id
    assert result.startswith("h:")


def test_child_id_already_running(env: DurableEnvironment) -> None:
    @workflow.defn
    class Twice:
        @workflow.run
        async def run(self) -> str:
            first = await workflow.start_child_workflow(Child.run, "one", 60, id="same")
            try:
                await workflow.start_child_workflow(Child.run, "two", 60, id="same")
            except WorkflowAlreadyStartedError as err:
                await first
                return "refused: " + str(err)
            return "started twice"

    handle = env.run(Twice)
    result = handle.result()
    assert result.startswith("refused: child workflow id 'same' could not start")
    (failed,) = handle.history.of_kind(ev.StartChildWorkflowExecutionFailed)
    assert "already running" in failed.cause


def test_cancelling_a_child(env: DurableEnvironment) -> None:
    @workflow.defn
    class Cancels:
        @workflow.run
        async def run(self) -> str:
            child = await workflow.start_child_workflow(Child.run, "slow", 3600, id="kid")
            await workflow.sleep(timedelta(minutes=1))
            child.cancel()
            try:
                await child
            except ChildWorkflowError as err:
                assert isinstance(err.cause, CancelledError)
                return "child cancelled at " + workflow.now().isoformat()
            return "child finished"

    handle = env.run(Cancels)
    assert handle.result() == "child cancelled at " + at(minutes=1).isoformat()
    assert env.get_handle("kid").status == "cancelled"
    assert handle.history.of_kind(ev.RequestCancelChildWorkflowExecution)
    assert handle.history.of_kind(ev.ChildWorkflowExecutionCanceled)


def test_parent_closing_cancels_running_children(env: DurableEnvironment) -> None:
    @workflow.defn
    class Abandons:
        @workflow.run
        async def run(self) -> str:
            await workflow.start_child_workflow(Child.run, "orphan", 3600, id="orphan")
            return "parent done"

    handle = env.run(Abandons)
    assert handle.result() == "parent done"
    child = env.get_handle("orphan")
    assert child.status == "cancelled"
    assert env.now() == at()  # the child's hour-long timer did not hold anything up


def test_child_started_by_name(make_env: object) -> None:
    env: DurableEnvironment = make_env(workflows=[Child])  # type: ignore[operator]

    @workflow.defn
    class ByName:
        @workflow.run
        async def run(self) -> str:
            result: str = await workflow.execute_child_workflow("Child", "named", 1)
            return result

    assert env.run(ByName).result().startswith("named:")


def test_child_continues_as_new_and_the_parent_gets_the_last_result(
    env: DurableEnvironment,
) -> None:
    @workflow.defn
    class Countdown:
        @workflow.run
        async def run(self, n: int) -> str:
            await workflow.sleep(timedelta(seconds=1))
            if n > 0:
                workflow.continue_as_new(n - 1)
            return f"landed after {workflow.info().first_run_id != workflow.info().run_id}"

    @workflow.defn
    class Waits:
        @workflow.run
        async def run(self) -> str:
            result: str = await workflow.execute_child_workflow(Countdown.run, 3, id="count")
            return result

    handle = env.run(Waits)
    assert handle.result() == "landed after True"
    assert len(env.get_handle("count").runs) == 4
    assert env.now() == at(seconds=4)
    assert len(handle.history.of_kind(ev.ChildWorkflowExecutionCompleted)) == 1


def test_unknown_child_type_names_the_registered_ones(env: DurableEnvironment) -> None:
    @workflow.defn
    class Lost:
        @workflow.run
        async def run(self) -> str:
            try:
                await workflow.execute_child_workflow("NoSuchWorkflow")
            except UnknownWorkflowError as err:
                return str(err)
            return "started"

    message = env.run(Lost).result()
    assert "unknown workflow type 'NoSuchWorkflow'" in message
    assert "registered workflows: Lost" in message


# --- child workflow retries ------------------------------------------------------------------


attempts_seen: list[tuple[int, str]] = []


@workflow.defn
class Flaky:
    @workflow.run
    async def run(self, succeed_on: int) -> str:
        info = workflow.info()
        if not workflow.is_replaying():
            attempts_seen.append((info.attempt, workflow.now().isoformat()))
        if info.attempt < succeed_on:
            raise ApplicationError(f"attempt {info.attempt}", type="Flaky")
        return f"ok on {info.attempt}"


def run_flaky_child(env: DurableEnvironment, succeed_on: int, policy: RetryPolicy | None) -> Any:
    attempts_seen.clear()

    @workflow.defn
    class Retrying:
        @workflow.run
        async def run(self) -> str:
            result: str = await workflow.execute_child_workflow(
                Flaky.run, succeed_on, id="flaky", retry_policy=policy
            )
            return result

    return env.run(Retrying)


def test_child_without_policy_is_not_retried(env: DurableEnvironment) -> None:
    handle = run_flaky_child(env, 2, None)
    with pytest.raises(WorkflowFailureError) as info:
        handle.result()
    error = info.value.cause
    assert isinstance(error, ChildWorkflowError)
    assert error.retry_state is RetryState.RETRY_POLICY_NOT_SET
    assert attempts_seen == [(1, at().isoformat())]


def test_child_with_policy_is_retried_as_new_runs(env: DurableEnvironment) -> None:
    policy = RetryPolicy(initial_interval=timedelta(minutes=1))
    handle = run_flaky_child(env, 3, policy)
    assert handle.result() == "ok on 3"
    assert attempts_seen == [
        (1, at().isoformat()),
        (2, at(minutes=1).isoformat()),
        (3, at(minutes=3).isoformat()),
    ]
    child = env.get_handle("flaky")
    assert [status for _, status in child.runs] == ["failed", "failed", "completed"]
    starts = [h.started for h in child.histories]
    assert [s.attempt for s in starts] == [1, 2, 3]
    assert starts[1].continued_from_run_id == starts[0].run_id
    assert {s.first_run_id for s in starts} == {starts[0].run_id}
    # The parent sees one child: started once, completed once.
    assert len(handle.history.of_kind(ev.ChildWorkflowExecutionStarted)) == 1
    assert len(handle.history.of_kind(ev.ChildWorkflowExecutionCompleted)) == 1


def test_child_retries_stop_at_maximum_attempts(env: DurableEnvironment) -> None:
    handle = run_flaky_child(env, 99, RetryPolicy(maximum_attempts=2))
    with pytest.raises(WorkflowFailureError) as info:
        handle.result()
    error = info.value.cause
    assert isinstance(error, ChildWorkflowError)
    assert error.retry_state is RetryState.MAXIMUM_ATTEMPTS_REACHED
    assert isinstance(error.cause, ApplicationError)
    assert error.cause.message == "attempt 2"
    assert [a for a, _ in attempts_seen] == [1, 2]
    (failed,) = handle.history.of_kind(ev.ChildWorkflowExecutionFailed)
    assert failed.retry_state == "MAXIMUM_ATTEMPTS_REACHED"


def test_child_non_retryable_type_is_not_retried(env: DurableEnvironment) -> None:
    handle = run_flaky_child(env, 3, RetryPolicy(non_retryable_error_types=("Flaky",)))
    with pytest.raises(WorkflowFailureError) as info:
        handle.result()
    error = info.value.cause
    assert isinstance(error, ChildWorkflowError)
    assert error.retry_state is RetryState.NON_RETRYABLE_FAILURE
    assert len(attempts_seen) == 1


def test_child_bug_is_not_retried(env: DurableEnvironment) -> None:
    @workflow.defn
    class Buggy:
        @workflow.run
        async def run(self) -> None:
            raise KeyError("bug")

    @workflow.defn
    class Calls:
        @workflow.run
        async def run(self) -> None:
            await workflow.execute_child_workflow(
                Buggy.run, id="buggy", retry_policy=RetryPolicy(maximum_attempts=5)
            )

    handle = env.run(Calls)
    with pytest.raises(WorkflowFailureError):
        handle.result()
    assert len(env.get_handle("buggy").runs) == 1


def test_parent_closing_during_a_child_backoff_stops_the_retries(env: DurableEnvironment) -> None:
    @workflow.defn
    class Impatient:
        @workflow.run
        async def run(self) -> str:
            await workflow.start_child_workflow(
                Flaky.run,
                3,
                id="flaky",
                retry_policy=RetryPolicy(initial_interval=timedelta(hours=1)),
            )
            await workflow.sleep(timedelta(minutes=1))
            return "gone"

    attempts_seen.clear()
    assert env.run(Impatient).result() == "gone"
    env.sleep(timedelta(days=1))
    assert len(attempts_seen) == 1
    assert len(env.get_handle("flaky").runs) == 1


def test_cancelling_a_child_during_its_backoff(env: DurableEnvironment) -> None:
    @workflow.defn
    class CancelsBetweenAttempts:
        @workflow.run
        async def run(self) -> str:
            child = await workflow.start_child_workflow(
                Flaky.run,
                3,
                id="flaky",
                retry_policy=RetryPolicy(initial_interval=timedelta(hours=1)),
            )
            await workflow.sleep(timedelta(minutes=1))
            child.cancel()
            try:
                await child
            except ChildWorkflowError as err:
                return type(err.cause).__name__
            return "finished"

    attempts_seen.clear()
    assert env.run(CancelsBetweenAttempts).result() == "CancelledError"
    assert env.now() == at(minutes=1)
    assert len(attempts_seen) == 1


def test_giving_up_on_a_child_with_wait_for(
    env: DurableEnvironment, caplog: pytest.LogCaptureFixture
) -> None:
    # Found by the stateful replay property: the abandoned child's later cancellation used to
    # surface as "Future exception was never retrieved" and fail the parent at a GC-dependent
    # moment, so the history did not replay.
    @workflow.defn
    class GivesUp:
        @workflow.run
        async def run(self) -> list[str]:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    workflow.execute_child_workflow(Child.run, "slow", 1, id="slow-child"), 1
                )
            await workflow.sleep(timedelta(seconds=1))
            return ["gave up", workflow.now().isoformat()]

    handle = env.run(GivesUp)
    assert handle.result() == ["gave up", at(seconds=2).isoformat()]
    assert env.get_handle("slow-child").status == "cancelled"
    assert handle.history.of_kind(ev.ChildWorkflowExecutionCanceled)
    assert "never retrieved" not in caplog.text
    Replayer(workflows=[GivesUp], strict=True).replay(handle.history)


def test_a_childs_activity_failure_keeps_its_whole_chain(env: DurableEnvironment) -> None:
    from pytest_durable import ActivityError, activity

    @activity.defn
    async def flaky_payment() -> None:
        raise ApplicationError("declined", {"code": 51}, type="Declined", non_retryable=True)

    @workflow.defn
    class Pays:
        @workflow.run
        async def run(self) -> None:
            await workflow.execute_activity(
                flaky_payment, start_to_close_timeout=timedelta(seconds=5)
            )

    @workflow.defn
    class Orders:
        @workflow.run
        async def run(self) -> None:
            await workflow.execute_child_workflow(Pays.run, id="pays")

    handle = env.run(Orders)
    with pytest.raises(WorkflowFailureError) as info:
        handle.result()
    child_error = info.value.cause
    assert isinstance(child_error, ChildWorkflowError)
    activity_error = child_error.cause
    assert isinstance(activity_error, ActivityError)
    assert activity_error.activity_type == "flaky_payment"
    assert activity_error.retry_state is RetryState.NON_RETRYABLE_FAILURE
    assert activity_error.scheduled_event_id == 3
    application_error = activity_error.cause
    assert isinstance(application_error, ApplicationError)
    assert (application_error.type, list(application_error.details)) == (
        "Declined",
        [{"code": 51}],
    )
