"""A temporalio-shaped async client on a :class:`DurableEnvironment`.

Temporal users' tests talk to ``WorkflowEnvironment``/``Client``/``Worker``; these classes
take the same calls (``await client.execute_workflow(W.run, arg, id=..., task_queue=...)``,
``start_workflow``, ``get_workflow_handle(_for)``, a handle's ``result/signal/query/cancel/
describe/fetch_history``), so such a test changes only the lines that build its environment.
Every call drives the in-process engine; time is virtual.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import temporalio.api.enums.v1
import temporalio.api.workflowservice.v1
import temporalio.client
import temporalio.common
import temporalio.converter
import temporalio.exceptions
import temporalio.worker
import temporalio.workflow

from ..engine import _events as ev
from ..engine._runs import CANCELLED, COMPLETED, CONTINUED_AS_NEW, FAILED, Execution
from ..errors import QueryError
from ..errors import WorkflowAlreadyStartedError as _OurAlreadyStarted
from ..fixtures._environment import DurableEnvironment
from ._async_completion import AsyncActivityHandle
from ._client_updates import UpdateMethods, UpdateWithStartMethods
from ._errors import UnsupportedTemporalFeatureError
from ._frontend import TemporalWorkflowHandle, encode
from ._frontend import start as start_run
from ._instance import NAMESPACE

_UNSET: Any = temporalio.common._arg_unset

_STATUS = {
    "running": "WORKFLOW_EXECUTION_STATUS_RUNNING",
    COMPLETED: "WORKFLOW_EXECUTION_STATUS_COMPLETED",
    FAILED: "WORKFLOW_EXECUTION_STATUS_FAILED",
    CANCELLED: "WORKFLOW_EXECUTION_STATUS_CANCELED",
    CONTINUED_AS_NEW: "WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW",
    "terminated": "WORKFLOW_EXECUTION_STATUS_TERMINATED",
    "timed_out": "WORKFLOW_EXECUTION_STATUS_TIMED_OUT",
}


def _values(arg: Any, args: Sequence[Any]) -> list[Any]:
    if arg is not _UNSET:
        if args:
            raise ValueError("Cannot have arg and args")  # temporalio's own wording
        return [arg]
    return list(args)


def _unsupported(feature: str) -> UnsupportedTemporalFeatureError:
    return UnsupportedTemporalFeatureError(
        f"{feature} is not supported by pytest-durable's Temporal client (see docs/temporal.md)"
    )


class Client(UpdateWithStartMethods):
    """The async client of a :class:`WorkflowEnvironment` (``env.client``).

    As temporalio's, a client can be rebuilt from its :meth:`config` with other options:
    ``Client(**{**client.config(), "data_converter": my_converter})``. The config's
    ``service_client`` is the environment itself.
    """

    def __init__(
        self,
        service_client: WorkflowEnvironment,
        *,
        namespace: str = NAMESPACE,
        data_converter: temporalio.converter.DataConverter = (
            temporalio.converter.DataConverter.default
        ),
        plugins: Sequence[Any] = (),
        interceptors: Sequence[Any] = (),
        **options: Any,
    ) -> None:
        """Bind a client to an environment (``env.client`` is one).

        Args:
            service_client: the :class:`WorkflowEnvironment` (a config's ``service_client``).
            namespace: kept for ``client.namespace``; every workflow runs in ``default``.
            data_converter: encodes and decodes what this client sends and receives; a
                :class:`Worker` built on this client gives it to its workflows and activities,
                as temporalio's worker takes its client's.
            plugins: refused (client plugins need a real connection).
            interceptors: refused (client interceptors need a real connection).
            **options: temporalio's other client options, kept in :meth:`config`.

        Raises:
            TypeError: ``service_client`` is not a pytest-durable ``WorkflowEnvironment``.
            UnsupportedTemporalFeatureError: plugins, interceptors, a payload codec or external
                payload storage were given.
        """
        if not isinstance(service_client, WorkflowEnvironment):
            raise TypeError(
                "pytest_durable.temporal.Client needs a pytest_durable.temporal."
                "WorkflowEnvironment as its service_client (env.client.config() holds one), "
                f"got {type(service_client).__name__}"
            )
        if plugins:
            raise _unsupported("client plugins")
        if interceptors:
            raise _unsupported("client interceptors")
        if data_converter.payload_codec is not None:
            raise _unsupported(
                "a payload codec (the data converter's payload_codec: encryption, compression)"
            )
        if getattr(data_converter, "external_storage", None) is not None:
            raise _unsupported("external payload storage (the data converter's external_storage)")
        self._environment = service_client
        self.namespace = namespace
        self.data_converter = data_converter
        self.identity = "pytest-durable"
        self._config: dict[str, Any] = {
            "service_client": service_client,
            "namespace": namespace,
            "data_converter": data_converter,
            "plugins": list(plugins),
            "interceptors": list(interceptors),
            "default_workflow_query_reject_condition": None,
            "header_codec_behavior": None,
            **options,
        }

    def config(self, *, active_config: bool = False) -> dict[str, Any]:
        """The options this client was built with, to build another: ``Client(**config)``."""
        config = dict(self._config)
        config["interceptors"] = list(config["interceptors"])
        return config

    @property
    def service_client(self) -> WorkflowEnvironment:
        """The environment this client talks to (it stands in for the connection)."""
        return self._environment

    @property
    def _env(self) -> DurableEnvironment:
        return self._environment.env

    async def start_workflow(
        self,
        workflow: str | Callable[..., Any],
        arg: Any = _UNSET,
        *,
        args: Sequence[Any] = (),
        id: str,
        task_queue: str,
        result_type: type | None = None,
        id_reuse_policy: temporalio.common.WorkflowIDReusePolicy = (
            temporalio.common.WorkflowIDReusePolicy.ALLOW_DUPLICATE
        ),
        id_conflict_policy: temporalio.common.WorkflowIDConflictPolicy = (
            temporalio.common.WorkflowIDConflictPolicy.UNSPECIFIED
        ),
        retry_policy: temporalio.common.RetryPolicy | None = None,
        cron_schedule: str = "",
        memo: Mapping[str, Any] | None = None,
        search_attributes: Any = None,
        start_signal: str | None = None,
        start_signal_args: Sequence[Any] = (),
        execution_timeout: Any = None,
        run_timeout: Any = None,
        start_delay: Any = None,
        **options: Any,
    ) -> WorkflowHandle:
        """Start a workflow on ``task_queue`` (a worker there must have registered it).

        Raises:
            temporalio.exceptions.WorkflowAlreadyStartedError: a run with ``id`` is open (or
                closed, under a reuse policy that refuses it).
            UnsupportedTemporalFeatureError: cron schedules, start delays, or workflow
                execution/run timeouts were asked for.
        """
        return self._start_workflow(
            workflow,
            _values(arg, args),
            id=id,
            task_queue=task_queue,
            result_type=result_type,
            id_reuse_policy=id_reuse_policy,
            id_conflict_policy=id_conflict_policy,
            retry_policy=retry_policy,
            cron_schedule=cron_schedule,
            memo=memo,
            start_signal=start_signal,
            start_signal_args=start_signal_args,
            execution_timeout=execution_timeout,
            run_timeout=run_timeout,
            start_delay=start_delay,
            request_eager_start=bool(options.get("request_eager_start")),
        )

    async def _start(
        self, start: temporalio.client.UpdateWithStartStartWorkflowInput, *, settle: bool
    ) -> WorkflowHandle:
        """Start the workflow of an update-with-start (its first task runs at the next settle)."""
        return self._start_workflow(
            start.workflow,
            list(start.args),
            id=start.id,
            task_queue=start.task_queue,
            result_type=start.ret_type,
            id_reuse_policy=start.id_reuse_policy,
            id_conflict_policy=start.id_conflict_policy,
            retry_policy=start.retry_policy,
            cron_schedule=start.cron_schedule,
            memo=start.memo,
            execution_timeout=start.execution_timeout,
            run_timeout=start.run_timeout,
            start_delay=start.start_delay,
            settle=settle,
        )

    def _start_workflow(
        self,
        workflow: str | Callable[..., Any],
        values: list[Any],
        *,
        id: str,
        task_queue: str,
        result_type: type | None,
        id_reuse_policy: temporalio.common.WorkflowIDReusePolicy,
        id_conflict_policy: temporalio.common.WorkflowIDConflictPolicy,
        retry_policy: temporalio.common.RetryPolicy | None,
        cron_schedule: str,
        memo: Mapping[str, Any] | None,
        start_signal: str | None = None,
        start_signal_args: Sequence[Any] = (),
        execution_timeout: Any = None,
        run_timeout: Any = None,
        start_delay: Any = None,
        request_eager_start: bool = False,
        settle: bool = True,
    ) -> WorkflowHandle:
        if cron_schedule:
            raise _unsupported("cron_schedule (schedules)")
        if start_delay is not None:
            raise _unsupported("start_delay")
        if execution_timeout is not None or run_timeout is not None:
            raise _unsupported("workflow execution and run timeouts")
        env = self._env
        name = _workflow_name(workflow)
        definition = self._environment._resolve(name, task_queue)
        existing = env.engine.executions.get(id)
        if existing is not None:
            handle = self._check_id(existing, name, id_reuse_policy, id_conflict_policy)
            if handle is not None:
                return handle
        policy = _our_retry_policy(retry_policy) if retry_policy is not None else None
        try:
            inner = start_run(
                env,
                definition,
                tuple(values),
                id,
                retry_policy=policy,
                converter=self.data_converter,
            )
        except _OurAlreadyStarted as exc:  # pragma: no cover - checked above
            raise temporalio.exceptions.WorkflowAlreadyStartedError(id, name) from exc
        if start_signal is not None:
            signal_name = definition.signal_name(start_signal)
            env.engine.signal(id, signal_name, encode(start_signal_args, self.data_converter))
        if memo:
            self._environment.memos[id] = dict(memo)
        if settle:
            env.settle()
        inner = inner.with_converter(self.data_converter)
        handle = WorkflowHandle(self, inner, result_type=result_type)
        if request_eager_start:
            # The first workflow task always runs at once here, as an eager start does.
            setattr(handle, "__temporal_eagerly_started", True)
        return handle

    def _check_id(
        self,
        existing: Execution,
        name: str,
        reuse: temporalio.common.WorkflowIDReusePolicy,
        conflict: temporalio.common.WorkflowIDConflictPolicy,
    ) -> WorkflowHandle | None:
        Reuse = temporalio.common.WorkflowIDReusePolicy
        Conflict = temporalio.common.WorkflowIDConflictPolicy
        run = existing.current
        if existing.is_open:
            if conflict == Conflict.USE_EXISTING:
                return self.get_workflow_handle(existing.workflow_id)
            if conflict == Conflict.TERMINATE_EXISTING or reuse == Reuse.TERMINATE_IF_RUNNING:
                self._env.engine.terminate(
                    existing.workflow_id, "terminated by a start with TERMINATE_EXISTING"
                )
                return None
            raise temporalio.exceptions.WorkflowAlreadyStartedError(
                existing.workflow_id, run.definition.name, run_id=run.run_id
            )
        refused = reuse == Reuse.REJECT_DUPLICATE or (
            reuse == Reuse.ALLOW_DUPLICATE_FAILED_ONLY and run.status == COMPLETED
        )
        if refused:
            raise temporalio.exceptions.WorkflowAlreadyStartedError(
                existing.workflow_id, run.definition.name, run_id=run.run_id
            )
        return None

    async def execute_workflow(
        self,
        workflow: str | Callable[..., Any],
        arg: Any = _UNSET,
        **options: Any,
    ) -> Any:
        """Start a workflow and wait for its result (see :meth:`start_workflow`)."""
        handle = await self.start_workflow(workflow, arg, **options)
        return await handle.result()

    def get_workflow_handle(
        self,
        workflow_id: str,
        *,
        run_id: str | None = None,
        first_execution_run_id: str | None = None,
        result_type: type | None = None,
    ) -> WorkflowHandle:
        """A handle on a workflow this environment runs, by id."""
        inner = self._env.get_handle(workflow_id)
        if not isinstance(inner, TemporalWorkflowHandle):
            raise _unsupported(f"a handle on {workflow_id!r}, which is not a Temporal workflow,")
        return WorkflowHandle(
            self, inner.with_converter(self.data_converter), result_type=result_type
        )

    def get_workflow_handle_for(
        self, workflow: Callable[..., Any], workflow_id: str, **options: Any
    ) -> WorkflowHandle:
        """A typed handle on a workflow by id (the run method only gives the result type)."""
        return self.get_workflow_handle(workflow_id, **options)

    def get_async_activity_handle(
        self,
        *,
        activity_id: str | None = None,
        workflow_id: str | None = None,
        run_id: str | None = None,
        task_token: bytes | None = None,
    ) -> AsyncActivityHandle:
        """A handle to complete, fail or heartbeat an activity that raised complete-async.

        Name the activity by ``task_token`` (its ``activity.info().task_token``) or by
        ``workflow_id`` and ``activity_id``.
        """
        return AsyncActivityHandle(
            self._env.engine,
            self.data_converter,
            task_token=task_token,
            workflow_id=workflow_id,
            run_id=run_id,
            activity_id=activity_id,
        )

    def __getattr__(self, name: str) -> Any:
        # Schedules, Nexus, activity and task-queue administration need a real server.
        if name.startswith("_"):
            raise AttributeError(name)
        raise _unsupported(f"Client.{name}")


def _workflow_name(workflow: str | Callable[..., Any]) -> str:
    if isinstance(workflow, str):
        return workflow
    name, _ = temporalio.workflow._Definition.get_name_and_result_type(workflow)
    return name


def _our_retry_policy(policy: temporalio.common.RetryPolicy) -> Any:
    from ..common import RetryPolicy

    return RetryPolicy(
        initial_interval=policy.initial_interval,
        backoff_coefficient=policy.backoff_coefficient,
        maximum_interval=policy.maximum_interval,
        maximum_attempts=policy.maximum_attempts,
        non_retryable_error_types=tuple(policy.non_retryable_error_types or ()),
    )


class WorkflowHandle(UpdateMethods):
    """An async handle on a workflow, shaped like ``temporalio.client.WorkflowHandle``."""

    def __init__(
        self, client: Client, inner: TemporalWorkflowHandle, *, result_type: type | None = None
    ) -> None:
        self._client = client
        self._inner = inner
        self._result_type = result_type
        self.id = inner.id
        self.run_id: str | None = inner.run_id
        self.result_run_id: str | None = inner.run_id
        self.first_execution_run_id: str | None = inner.first_run_id

    async def result(self, *, follow_runs: bool = True, **_options: Any) -> Any:
        """Wait (in virtual time) for the workflow's result.

        Raises:
            temporalio.client.WorkflowFailureError: it failed or was cancelled.
        """
        return self._inner.result(result_type=self._result_type)

    async def signal(self, signal: Any, arg: Any = _UNSET, *, args: Sequence[Any] = ()) -> None:
        """Send a signal and let the workflow handle it."""
        self._inner.signal(signal, args=_values(arg, args))

    async def query(self, query: Any, arg: Any = _UNSET, *, args: Sequence[Any] = ()) -> Any:
        """Ask a query.

        Raises:
            temporalio.client.WorkflowQueryFailedError: the query handler raised or is unknown.
        """
        try:
            return self._inner.query(query, args=_values(arg, args))
        except QueryError as exc:
            raise temporalio.client.WorkflowQueryFailedError(str(exc)) from exc

    async def cancel(self, **_options: Any) -> None:
        """Request cancellation."""
        self._inner.cancel()

    async def terminate(self, *args: Any, reason: str | None = None, **_options: Any) -> None:
        """End the workflow at once; ``result()`` then raises caused by ``TerminatedError``."""
        self._inner.terminate(*args, reason=reason or "")

    async def describe(self, **_options: Any) -> temporalio.client.WorkflowExecutionDescription:
        """The run's status, type, times and history length, as temporalio describes them."""
        run = self._inner._execution.current
        raw = temporalio.api.workflowservice.v1.DescribeWorkflowExecutionResponse()
        info = raw.workflow_execution_info
        info.execution.workflow_id = run.workflow_id
        info.execution.run_id = run.run_id
        info.type.name = run.definition.name
        info.task_queue = self._client._environment.queue_of.get(run.definition.name, "")
        info.history_length = len(run.events)
        info.start_time.FromNanoseconds(run.events[0].time_ns)
        if run.closed:
            info.close_time.FromNanoseconds(run.events[-1].time_ns)
        for scheduled in _pending_activities(run.events):
            pending = raw.pending_activities.add()
            pending.activity_id = scheduled.activity_id
            pending.activity_type.name = scheduled.activity_type
            pending.state = temporalio.api.enums.v1.PendingActivityState.Value(
                "PENDING_ACTIVITY_STATE_SCHEDULED"
            )
        info.status = temporalio.api.enums.v1.WorkflowExecutionStatus.Value(_STATUS[run.status])
        return await temporalio.client.WorkflowExecutionDescription._from_raw_description(
            raw, namespace=NAMESPACE, converter=self._client.data_converter
        )

    async def fetch_history(self, **_options: Any) -> temporalio.client.WorkflowHistory:
        """The current run's history in Temporal's format."""
        from ._history import to_workflow_history

        return to_workflow_history(self._inner._execution.current.events)


def _pending_activities(events: Sequence[ev.Event]) -> list[ev.ActivityTaskScheduled]:
    """Activities scheduled and not yet closed, from history (what describe() lists)."""
    open_: dict[int, ev.ActivityTaskScheduled] = {}
    for event in events:
        if isinstance(event, ev.ActivityTaskScheduled):
            open_[event.event_id] = event
        elif isinstance(
            event,
            ev.ActivityTaskCompleted
            | ev.ActivityTaskFailed
            | ev.ActivityTaskTimedOut
            | ev.ActivityTaskCanceled,
        ):
            open_.pop(event.scheduled_event_id, None)
    return list(open_.values())


#: temporalio's environment options that configure its client.
_CLIENT_OPTIONS = (
    "namespace",
    "data_converter",
    "interceptors",
    "plugins",
    "default_workflow_query_reject_condition",
)
#: temporalio's environment options that say how to start or reach its server (besides the
#: ``dev_server_*`` and ``test_server_*`` ones).
_SERVER_OPTIONS = frozenset(
    {
        "retry_config",
        "rpc_metadata",
        "identity",
        "tls",
        "ip",
        "port",
        "download_dest_dir",
        "ui",
        "ui_port",
        "runtime",
        "search_attributes",
    }
)


class WorkflowEnvironment:
    """A Temporal-style test environment on the in-process engine.

    Replaces ``temporalio.testing.WorkflowEnvironment``: ``await
    WorkflowEnvironment.start_time_skipping()`` (or ``start_local()``), then ``env.client``,
    ``env.sleep()``, ``env.get_current_time()``; workers register per task queue with
    :class:`Worker`. Keyword arguments are :class:`DurableEnvironment`'s, and temporalio's
    (see :meth:`start_time_skipping`).
    """

    def __init__(self, env: DurableEnvironment | None = None, **options: Any) -> None:
        client_options = {k: options.pop(k) for k in _CLIENT_OPTIONS if k in options}
        for name in list(options):
            if name in _SERVER_OPTIONS or name.startswith(("dev_server_", "test_server_")):
                del options[name]  # how temporalio would start and reach its server: no server
        self.env = env if env is not None else DurableEnvironment(**options)
        #: What the Temporal environment this one stands for reports: True for
        #: :meth:`start_time_skipping` (the test server), False for :meth:`start_local` (the dev
        #: server), so a test's branch for either runs. Time is virtual in both.
        self.supports_time_skipping = True
        self.client = Client(self, **client_options)
        #: task queue -> workflow type names its workers registered.
        self.queues: dict[str, set[str]] = {}
        #: workflow type name -> the task queue it was registered on.
        self.queue_of: dict[str, str] = {}
        self.memos: dict[str, dict[str, Any]] = {}

    @classmethod
    async def start_time_skipping(cls, **options: Any) -> WorkflowEnvironment:
        """A new environment (time is always virtual and skipped while workflows wait).

        Takes temporalio's keyword arguments too: the client's (``data_converter``,
        ``namespace``, ``interceptors``, ``plugins``...) build ``env.client`` as
        :class:`Client` does, and those that say how to start or reach a server (``port``,
        ``ui``, ``runtime``, ``retry_config``, ``tls``, ``dev_server_*``, ``test_server_*``...)
        are accepted and have nothing to do. The others are :class:`DurableEnvironment`'s.
        """
        return cls(**options)

    @classmethod
    async def start_local(cls, **options: Any) -> WorkflowEnvironment:
        """A new environment standing for Temporal's dev server (nothing is started).

        The same as :meth:`start_time_skipping` (time is virtual) except that
        :attr:`supports_time_skipping` is False, as the dev server's is.
        """
        environment = cls(**options)
        environment.supports_time_skipping = False
        return environment

    async def sleep(self, duration: Any) -> None:
        """Let ``duration`` (a timedelta or seconds) of virtual time pass."""
        self.env.sleep(duration)

    async def get_current_time(self) -> datetime:
        """The virtual time."""
        return self.env.now().astimezone(UTC)

    async def shutdown(self) -> None:
        """Close the environment."""
        self.env.close()

    async def __aenter__(self) -> WorkflowEnvironment:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.shutdown()

    def _resolve(self, name: str, task_queue: str) -> Any:
        registered = self.queues.get(task_queue)
        if registered is None:
            polled = ", ".join(sorted(self.queues)) or "none"
            raise _unsupported(
                f"starting a workflow on task queue {task_queue!r}, which no Worker polls "
                f"(queues with a worker: {polled}); on Temporal it would wait forever. Starting"
            )
        if name not in registered:
            known = ", ".join(sorted(registered)) or "none"
            raise temporalio.exceptions.ApplicationError(
                f"Workflow class {name} is not registered on the worker of task queue "
                f"{task_queue!r}, available workflows: {known}",
                type="NotFoundError",
            )
        return self.env.engine.workflow_definition(name)
