"""The temporalio-shaped ``Worker``: registers workflows and activities on a task queue."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import temporalio.converter
import temporalio.worker

from ._client import Client, _unsupported
from ._definitions import is_temporal_activity
from ._frontend import register_activity, workflow_definition


class Worker:
    """Registers workflows and activities on a task queue, as ``temporalio.worker.Worker`` does.

    ``Worker(env.client, task_queue=..., workflows=[...], activities=[...])``, used as ``async
    with`` or through ``run()``. Activities are found by name across workers (Temporal routes
    them by task queue). Worker interceptors (``temporalio.worker.Interceptor``) wrap its
    workflows (temporalio's own workflow interceptor classes) and activities; the sandbox a
    ``workflow_runner`` names keeps its restrictions. Options that need a real worker process
    are accepted and ignored, except Nexus handlers, which are refused.
    """

    def __init__(
        self,
        client: Client,
        *,
        task_queue: str,
        workflows: Sequence[type] = (),
        activities: Sequence[Callable[..., Any]] = (),
        interceptors: Sequence[Any] = (),
        nexus_service_handlers: Sequence[Any] = (),
        workflow_runner: Any = None,
        workflow_failure_exception_types: Sequence[type[BaseException]] = (),
        **_options: Any,
    ) -> None:
        for interceptor in interceptors:
            if not isinstance(interceptor, temporalio.worker.Interceptor):
                raise _unsupported(
                    f"the interceptor {type(interceptor).__name__}, which is not a "
                    "temporalio.worker.Interceptor (client interceptors need a server),"
                )
        if nexus_service_handlers:
            raise _unsupported("Nexus services")
        if not isinstance(client, Client):
            raise TypeError(
                "pytest_durable.temporal.Worker needs the client of a "
                "pytest_durable.temporal.WorkflowEnvironment (env.client)"
            )
        self.client = client
        self.task_queue = task_queue
        self._workflows = list(workflows)
        self._activities = list(activities)
        self._runner = _runner_name(workflow_runner, client._env.temporal_runner)
        self._sdk_runner = workflow_runner
        self._interceptors = tuple(interceptors)
        self._failure_types = tuple(workflow_failure_exception_types)
        # The worker's workflows and activities use its client's data converter, as temporalio's.
        converter = client.data_converter
        default = temporalio.converter.DataConverter.default
        self._converter = None if converter is default else converter
        self._running = False

    def _register(self) -> None:
        environment = self.client._environment
        env = environment.env
        names = environment.queues.setdefault(self.task_queue, set())
        for wf in self._workflows:
            definition = workflow_definition(
                env,
                wf,
                runner=self._runner,
                converter=self._converter,
                failure_exception_types=self._failure_types,
                interceptors=self._interceptors,
                task_queue=self.task_queue,
                sdk_runner=self._sdk_runner,
            )
            names.add(definition.name)
            environment.queue_of.setdefault(definition.name, self.task_queue)
        for fn in self._activities:
            if is_temporal_activity(fn):
                register_activity(
                    env,
                    fn,
                    self._converter,
                    interceptors=self._interceptors,
                    task_queue=self.task_queue,
                )
            else:
                env.register_activity(fn)
        self._running = True

    async def __aenter__(self) -> Worker:
        self._register()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.shutdown()

    async def run(self) -> None:
        """Register, then serve until :meth:`shutdown` (the engine does the polling)."""
        import asyncio

        self._register()
        self._stopped = asyncio.Event()
        await self._stopped.wait()

    async def shutdown(self) -> None:
        """Stop serving the task queue."""
        if self._running:
            self._running = False
            self.client._environment.queues.pop(self.task_queue, None)
        stopped = getattr(self, "_stopped", None)
        if stopped is not None:
            stopped.set()

    @property
    def is_running(self) -> bool:
        """Whether the worker serves its task queue."""
        return self._running


def _runner_name(runner: Any, default: str) -> str:
    if runner is None:
        return default
    from temporalio.worker import UnsandboxedWorkflowRunner
    from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

    if isinstance(runner, UnsandboxedWorkflowRunner):
        return "unsandboxed"
    if isinstance(runner, SandboxedWorkflowRunner):
        return "sandboxed"
    raise _unsupported(f"the custom workflow runner {type(runner).__name__}")
