"""How temporalio's own workflow instance is built for a run.

Through the public interface custom runners use (``WorkflowRunner.create_instance``), with the
run's info and the worker's choices (runner, data converter, failure exception types).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import temporalio.common
import temporalio.converter
import temporalio.worker
import temporalio.workflow
from temporalio.api.common.v1 import Payloads

from ..engine import _events as ev
from ._definitions import TemporalWorkflowDefinition
from ._interceptors import workflow_interceptor_classes

NAMESPACE = "default"
TASK_QUEUE = "pytest-durable"


def _datetime(ns: int) -> datetime:
    seconds, rest = divmod(ns, 1_000_000_000)
    return datetime.fromtimestamp(seconds, tz=UTC) + timedelta(microseconds=rest // 1_000)


def create_sdk_instance(
    definition: TemporalWorkflowDefinition, started: ev.WorkflowExecutionStarted
) -> temporalio.worker.WorkflowInstance:
    """Temporalio's workflow instance for the run ``started`` begins."""
    parent = None
    if started.parent_workflow_id is not None:
        parent = temporalio.workflow.ParentInfo(
            namespace=NAMESPACE,
            run_id=started.parent_run_id or "",
            workflow_id=started.parent_workflow_id,
        )
    start_time = _datetime(started.time_ns)
    info = temporalio.workflow.Info(
        attempt=started.attempt,
        continued_run_id=started.continued_from_run_id,
        cron_schedule=None,
        execution_timeout=None,
        first_execution_run_id=started.first_run_id or started.run_id,
        headers={},
        namespace=NAMESPACE,
        original_execution_run_id=started.run_id,
        parent=parent,
        root=None,
        priority=temporalio.common.Priority.default,
        raw_memo={},
        retry_policy=None,
        run_id=started.run_id,
        run_timeout=None,
        search_attributes={},
        start_time=start_time,
        task_queue=definition.task_queue,
        task_timeout=timedelta(seconds=10),
        typed_search_attributes=temporalio.common.TypedSearchAttributes.empty,
        workflow_id=started.workflow_id,
        workflow_start_time=start_time,
        workflow_type=started.workflow_type,
    )
    converter = definition.converter or temporalio.converter.DataConverter.default
    details = temporalio.worker.WorkflowInstanceDetails(
        payload_converter_factory=converter._new_payload_converter,
        failure_converter_class=converter.failure_converter_class,
        interceptor_classes=workflow_interceptor_classes(definition.interceptors),
        defn=definition.sdk,
        info=info,
        randomness_seed=started.randomness_seed,
        # The worker checks a local activity is registered; the engine reports one that is
        # not when it runs (an UnknownActivityError failure naming the registered ones).
        extern_functions={"__temporal_assert_local_activity_valid": lambda _name: None},
        disable_eager_activity_execution=True,
        worker_level_failure_exception_types=list(definition.failure_exception_types),
        patch_activation_callback=None,
        last_completion_result=Payloads(),
        last_failure=None,
    )
    runner: temporalio.worker.WorkflowRunner
    if definition.sdk_runner is not None:
        runner = definition.sdk_runner
        runner.prepare_workflow(definition.sdk)
    elif definition.runner == "sandboxed":
        from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

        runner = SandboxedWorkflowRunner()
        runner.prepare_workflow(definition.sdk)
    else:
        runner = temporalio.worker.UnsandboxedWorkflowRunner()
    # temporalio builds an instance with its runtime parked on the running loop; the host
    # loop must not carry it (nor lose its running state), so a stand-in runs meanwhile.
    previous = asyncio._get_running_loop()
    asyncio._set_running_loop(SimpleNamespace())  # type: ignore[arg-type]
    try:
        return runner.create_instance(details)
    finally:
        asyncio._set_running_loop(previous)

