"""Tests for the fan-out batch: concurrency in time and history, retries, partial failure."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from pytest_durable import (
    ApplicationError,
    DurableEnvironment,
    History,
    MockActivity,
    Replayer,
)
from pytest_durable.engine import events

from .workflows import (
    BatchReport,
    BatchRequest,
    ConfigureHost,
    Failure,
    ProvisionBatch,
    apply_config,
    provision_host,
)

T0 = datetime(2030, 6, 1, 8, 0, tzinfo=UTC)
HOSTS = ["web-1", "web-2", "web-3", "db-1", "cache-1"]
REQUEST = BatchRequest("b7", HOSTS, "ubuntu-24.04")
PROVISION_TAKES = timedelta(seconds=40)


@pytest.fixture
def env() -> Iterator[DurableEnvironment]:
    with DurableEnvironment(start_time=T0) as env:
        yield env


def calls_for(mock: MockActivity, host: str) -> list[datetime]:
    """When each attempt for ``host`` started."""
    return [call.time for call in mock.calls if call.args[1] == host]


def workflow_task_of(history: History, kind: type[events.Event]) -> list[int]:
    """For each event of ``kind``, the position of the WorkflowTaskCompleted that issued it."""
    tasks, current = [], -1
    for position, event in enumerate(history):
        if isinstance(event, events.WorkflowTaskCompleted):
            current = position
        elif isinstance(event, kind):
            tasks.append(current)
    return tasks


def test_every_host_is_provisioned_at_the_same_instant(env: DurableEnvironment) -> None:
    provision = env.mock_activity(provision_host, delay=PROVISION_TAKES, returns="i-x")
    configure = env.mock_activity(apply_config, returns="rev-9")

    report = env.run(ProvisionBatch.run, REQUEST).result()

    assert report == BatchReport("b7", ready=HOSTS)
    assert sorted(call.args[1] for call in provision.calls) == sorted(HOSTS)
    assert [call.time for call in provision.calls] == [T0] * len(HOSTS)
    # Configuration starts once the last host is up: one provisioning time, not five.
    assert [call.time for call in configure.calls] == [T0 + PROVISION_TAKES] * len(HOSTS)
    assert env.now() == T0 + PROVISION_TAKES


def test_a_host_out_of_quota_fails_alone_and_is_reported(env: DurableEnvironment) -> None:
    def provision(batch_id: str, host: str, image: str) -> str:
        if host == "db-1":
            raise ApplicationError("no db quota left in eu-west-1", type="QuotaExceeded")
        return f"i-{host}"

    provision_mock = env.mock_activity(provision_host, side_effect=provision)
    configure = env.mock_activity(apply_config, returns="rev-9")

    report = env.run(ProvisionBatch.run, REQUEST).result()

    assert report.ready == ["web-1", "web-2", "web-3", "cache-1"]
    assert report.provision_failed == [Failure("db-1", "no db quota left in eu-west-1")]
    assert report.configure_failed == []
    assert calls_for(provision_mock, "db-1") == [T0]  # non-retryable: a single attempt
    assert sorted(call.args[1] for call in configure.calls) == sorted(report.ready)


def test_each_host_retries_on_its_own_schedule(env: DurableEnvironment) -> None:
    attempts: dict[str, int] = {}

    def provision(batch_id: str, host: str, image: str) -> str:
        attempts[host] = attempts.get(host, 0) + 1
        if host == "web-2" and attempts[host] < 3:
            raise ConnectionError("provider API timed out")  # recovers on the 3rd attempt
        if host == "cache-1":
            raise ConnectionError("zone unavailable")  # never recovers
        return f"i-{host}"

    provision_mock = env.mock_activity(provision_host, side_effect=provision)
    env.mock_activity(apply_config, returns="rev-9")

    report = env.run(ProvisionBatch.run, REQUEST).result()

    retries = [T0, T0 + timedelta(seconds=10), T0 + timedelta(seconds=30)]
    assert calls_for(provision_mock, "web-2") == retries
    assert calls_for(provision_mock, "cache-1") == retries  # maximum_attempts=3, then reported
    assert calls_for(provision_mock, "web-1") == [T0]
    assert report.ready == ["web-1", "web-2", "web-3", "db-1"]
    assert report.provision_failed == [Failure("cache-1", "zone unavailable")]


def test_the_fan_out_is_one_workflow_task_in_history(env: DurableEnvironment) -> None:
    env.mock_activity(provision_host, delay=PROVISION_TAKES, returns="i-x")
    env.mock_activity(apply_config, returns="rev-9")

    history = env.run(ProvisionBatch.run, REQUEST).history

    scheduled = history.of_kind("ActivityTaskScheduled")
    assert [event.input[1] for event in scheduled] == HOSTS
    activity_tasks = workflow_task_of(history, events.ActivityTaskScheduled)
    assert len(activity_tasks) == len(HOSTS)
    assert len(set(activity_tasks)) == 1, "every host scheduled by the same workflow task"
    child_tasks = workflow_task_of(history, events.StartChildWorkflowExecutionInitiated)
    assert len(child_tasks) == len(HOSTS)
    assert len(set(child_tasks)) == 1, "every child started by the same workflow task"
    assert child_tasks[0] > activity_tasks[0]
    # No activity result arrives before the whole batch is scheduled.
    first_result = next(
        i for i, e in enumerate(history) if isinstance(e, events.ActivityTaskCompleted)
    )
    last_scheduled = max(
        i for i, e in enumerate(history) if isinstance(e, events.ActivityTaskScheduled)
    )
    assert last_scheduled < first_result


def test_configuration_children_are_mocked_and_started_together(env: DurableEnvironment) -> None:
    env.mock_activity(provision_host, side_effect=lambda batch, host, image: f"i-{host}")
    configure = env.mock_workflow(ConfigureHost, returns="rev-42", delay=timedelta(minutes=3))

    handle = env.run(ProvisionBatch.run, REQUEST, id="batch-b7")

    assert handle.result().ready == HOSTS
    assert sorted(call.args for call in configure.calls) == sorted(
        (f"i-{host}", host) for host in HOSTS
    )
    assert {call.parent_workflow_id for call in configure.calls} == {"batch-b7"}
    assert sorted(call.workflow_id for call in configure.calls) == sorted(
        f"b7/configure-{host}" for host in HOSTS
    )
    assert [call.time for call in configure.calls] == [T0] * len(HOSTS)
    assert env.now() == T0 + timedelta(minutes=3)  # five 3-minute children took 3 minutes


def test_a_failing_child_is_reported_without_failing_the_batch(env: DurableEnvironment) -> None:
    def configure(instance_id: str, host: str) -> str:
        if host == "web-3":
            raise ApplicationError(
                "config schema rejected", type="InvalidConfig", non_retryable=True
            )
        return "rev-9"

    env.mock_activity(provision_host, side_effect=lambda batch, host, image: f"i-{host}")
    env.mock_activity(apply_config, side_effect=configure)

    handle = env.run(ProvisionBatch.run, REQUEST)

    report = handle.result()
    assert report.ready == ["web-1", "web-2", "db-1", "cache-1"]
    assert report.configure_failed == [Failure("web-3", "config schema rejected")]
    assert env.get_handle("b7/configure-web-3").status == "failed"
    assert env.get_handle("b7/configure-web-1").status == "completed"


def test_the_batch_history_with_failures_replays_strictly(env: DurableEnvironment) -> None:
    def provision(batch_id: str, host: str, image: str) -> str:
        if host == "db-1":
            raise ApplicationError("no quota", type="QuotaExceeded")
        return f"i-{host}"

    env.mock_activity(provision_host, side_effect=provision, delay=timedelta(seconds=5))
    env.mock_activity(apply_config, outcomes=[ConnectionError("flaky")], returns="rev-9")
    handle = env.run(ProvisionBatch.run, REQUEST)
    assert handle.result().provision_failed == [Failure("db-1", "no quota")]

    recorded = History.from_json(handle.history.to_json())
    replayer = Replayer(workflows=[ProvisionBatch, ConfigureHost], strict=True)
    assert replayer.replay(recorded).divergences == ()
    children = [h for h in env.histories() if h.workflow_type == "ConfigureHost"]
    assert len(children) == 4
    for child in replayer.replay_all(children):
        assert child.divergences == ()


def test_an_empty_batch_finishes_at_once(env: DurableEnvironment) -> None:
    provision = env.mock_activity(provision_host)

    assert env.run(ProvisionBatch.run, BatchRequest("b0", [], "img")).result() == BatchReport("b0")
    provision.assert_not_called()
    assert env.now() == T0
