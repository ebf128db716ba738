"""Worker interceptors (``temporalio.worker.Interceptor``) on the Temporal front-end.

Workflow interceptors are temporalio's own business: their classes go to temporalio's workflow
instance, as a worker hands them over. Activity interceptors wrap each attempt as a worker
wraps it: ``intercept_activity`` builds the chain, ``init`` hands it an outbound interceptor
answering ``info()`` and ``heartbeat()``, and the innermost link runs the function (a sync one
on the thread pool, in the activity's context).
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
from collections.abc import Callable, Sequence
from typing import Any

import temporalio.activity
import temporalio.worker
from temporalio.worker import (
    ActivityInboundInterceptor,
    ActivityOutboundInterceptor,
    ExecuteActivityInput,
    WorkflowInterceptorClassInput,
)


def workflow_interceptor_classes(interceptors: Sequence[Any]) -> list[type[Any]]:
    """The workflow interceptor classes ``interceptors`` give temporalio's workflow instance."""
    classes = []
    for interceptor in interceptors:
        cls = interceptor.workflow_interceptor_class(
            WorkflowInterceptorClassInput(unsafe_extern_functions={})
        )
        if cls is not None:
            classes.append(cls)
    return classes


class _Outbound(ActivityOutboundInterceptor):
    """The end of the outbound chain: the attempt's own info and heartbeat."""

    def __init__(
        self, info: Callable[[], temporalio.activity.Info], heartbeat: Callable[..., None]
    ) -> None:
        self._info = info
        self._heartbeat = heartbeat

    def info(self) -> temporalio.activity.Info:
        return self._info()

    def heartbeat(self, *details: Any) -> None:
        self._heartbeat(*details)


class _Execute(ActivityInboundInterceptor):
    """The end of the inbound chain: runs the activity function."""

    def __init__(self) -> None:
        self.outbound: ActivityOutboundInterceptor | None = None

    def init(self, outbound: ActivityOutboundInterceptor) -> None:
        self.outbound = outbound

    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        if inspect.iscoroutinefunction(input.fn):
            return await input.fn(*input.args)
        context = contextvars.copy_context()
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(input.executor, context.run, input.fn, *input.args)


def intercepted(
    interceptors: Sequence[temporalio.worker.Interceptor],
    fn: Callable[..., Any],
    args: Sequence[Any],
    info: Callable[[], temporalio.activity.Info],
    heartbeat: Callable[..., None],
) -> tuple[Any, Callable[[], ActivityOutboundInterceptor | None]]:
    """The coroutine running one attempt through the interceptors.

    Also returns how to get the outbound interceptor the chain settled on: the activity's
    ``info()`` and ``heartbeat()`` go through it.
    """
    innermost = _Execute()
    chain: ActivityInboundInterceptor = innermost
    for interceptor in reversed(list(interceptors)):
        chain = interceptor.intercept_activity(chain)
    chain.init(_Outbound(info, heartbeat))
    call = chain.execute_activity(
        ExecuteActivityInput(fn=fn, args=list(args), executor=None, headers={})
    )
    return call, lambda: innermost.outbound
