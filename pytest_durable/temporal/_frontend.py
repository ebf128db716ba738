"""How a :class:`DurableEnvironment` takes Temporal SDK workflows and activities.

The environment calls these when it meets an object decorated by temporalio (it never imports
temporalio itself): registration, mocks by function, starting runs, and the handle whose
outcomes are temporalio's own types and exceptions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ._require import require_temporalio

require_temporalio()

import temporalio.client
import temporalio.converter
import temporalio.exceptions

from ..common import call_arguments
from ..engine._failure import encode_failure
from ..engine._runs import CANCELLED, COMPLETED, FAILED, TERMINATED
from ..engine._updates import UpdateState
from ..errors import InvalidArgumentError
from ..fixtures._handles import WorkflowHandle
from ..fixtures._update_handles import WorkflowUpdateHandle
from ._activity import TemporalActivity
from ._convert import to_failure, to_payloads, to_values
from ._definitions import TemporalWorkflowDefinition, activity_name, temporal_workflow_definition
from ._instance import TASK_QUEUE, new_instance

if TYPE_CHECKING:
    from ..engine._runs import Execution, _Run
    from ..fixtures._environment import DurableEnvironment


def _converter(converter: Any = None) -> temporalio.converter.DataConverter:
    return converter or temporalio.converter.DataConverter.default


def encode(values: Any, converter: Any = None) -> list[Any]:
    """Values as our history holds them, encoded by a payload converter (default temporalio's)."""
    return to_values(_converter(converter).payload_converter.to_payloads(list(values)))


def decode(values: list[Any], types: list[Any] | None, converter: Any = None) -> list[Any]:
    """Values from our history decoded by a payload converter (with type hints)."""
    return _converter(converter).payload_converter.from_payloads(to_payloads(values), types)


def to_exception(failure: dict[str, Any], converter: Any = None) -> BaseException:
    """The temporalio exception (with its cause chain) that a failure object describes."""
    data_converter = _converter(converter)
    return data_converter.failure_converter.from_failure(
        to_failure(failure), data_converter.payload_converter
    )


def workflow_definition(
    env: DurableEnvironment,
    obj: Any,
    *,
    runner: str | None = None,
    converter: Any = None,
    failure_exception_types: Sequence[type[BaseException]] = (),
    interceptors: Sequence[Any] = (),
    task_queue: str = TASK_QUEUE,
    sdk_runner: Any = None,
) -> TemporalWorkflowDefinition:
    """Our definition of a Temporal workflow, registered in ``env`` by its name.

    The options are a Worker's own choices: ``runner`` overrides the environment's
    ``temporal_runner`` (``sdk_runner`` is the runner object itself, a sandbox with its
    restrictions), ``converter`` temporalio's default data converter,
    ``failure_exception_types`` adds exceptions that fail the workflow rather than its task,
    ``interceptors`` are its worker interceptors and ``task_queue`` its queue.
    """
    definition = temporal_workflow_definition(
        obj,
        runner=runner or env.temporal_runner,
        instance_factory=new_instance,
        converter=converter,
        failure_exception_types=tuple(failure_exception_types),
        interceptors=tuple(interceptors),
        task_queue=task_queue,
        sdk_runner=sdk_runner,
    )
    known = env.engine.workflows.get(definition.name)
    if (
        isinstance(known, TemporalWorkflowDefinition)
        and known.sdk is definition.sdk
        and known.worker_options() == definition.worker_options()
    ):
        return known
    if definition.name not in env.workflow_mocks:
        env.engine.workflows[definition.name] = definition
    return definition


def register_activity(
    env: DurableEnvironment,
    fn: Any,
    converter: Any = None,
    *,
    interceptors: Sequence[Any] = (),
    task_queue: str = TASK_QUEUE,
) -> str:
    """Make a Temporal activity known to ``env`` by its name; returns the name.

    ``converter`` is the worker's data converter (default temporalio's), ``interceptors`` its
    worker interceptors and ``task_queue`` its queue.
    """
    name = activity_name(fn)
    if name not in env.mocks:
        env.engine.activities[name] = TemporalActivity(
            fn, converter, interceptors=interceptors, task_queue=task_queue
        )
    return name


def start(
    env: DurableEnvironment,
    definition: TemporalWorkflowDefinition,
    args: tuple[Any, ...],
    workflow_id: str,
    *,
    retry_policy: Any = None,
    converter: Any = None,
) -> TemporalWorkflowHandle:
    """Start a run of a Temporal workflow; arguments go through the client's converter.

    ``converter`` is the client's (default: the workflow's worker's).
    """
    converter = converter or definition.converter
    execution = env.engine.start_workflow(
        definition, encode(args, converter), workflow_id=workflow_id, retry_policy=retry_policy
    )
    handle = TemporalWorkflowHandle(env, execution, converter)
    env.handles.append(handle)
    return handle


class TemporalWorkflowHandle(WorkflowHandle[Any]):
    """A handle on a Temporal workflow: values and errors are temporalio's own.

    ``result()`` raises :class:`temporalio.client.WorkflowFailureError` whose cause is the
    temporalio exception chain (``ActivityError`` → ``ApplicationError``/``TimeoutError``...).
    Values and failures go through ``converter``: the client's data converter, or else the
    workflow's worker's, or temporalio's default.
    """

    def __init__(
        self, env: DurableEnvironment, execution: Execution, converter: Any = None
    ) -> None:
        super().__init__(env, execution)
        self._converter = converter

    @property
    def converter(self) -> temporalio.converter.DataConverter:
        """The data converter this handle encodes and decodes with."""
        definition = self._execution.current.definition
        worker_converter = getattr(definition, "converter", None)
        return _converter(self._converter or worker_converter)

    def with_converter(self, converter: Any) -> TemporalWorkflowHandle:
        """The same workflow, seen through another data converter (a client's)."""
        return TemporalWorkflowHandle(self._env, self._execution, converter)

    def _definition(self, run: _Run | None = None) -> TemporalWorkflowDefinition:
        definition = (run or self._execution.current).definition
        if not isinstance(definition, TemporalWorkflowDefinition):
            raise InvalidArgumentError(
                f"workflow {self.id!r} runs {definition.name!r}, which is not a Temporal workflow"
            )
        return definition

    def result(self, *, result_type: Any = None) -> Any:
        """Drive the workflow to the end and return its result (decoded as its run method says).

        ``result_type`` overrides the run method's return type (a workflow started by name).

        Raises:
            temporalio.client.WorkflowFailureError: it failed or was cancelled; ``cause`` is the
                temporalio exception.
        """
        __tracebackhide__ = True
        self._env.drive_until(self._execution.done, waiting_for=self)
        run = self._execution.current
        definition = run.definition
        if run.status == COMPLETED:
            if not isinstance(definition, TemporalWorkflowDefinition):
                return super().result()
            ret_type = result_type or definition.sdk.ret_type
            return decode([run.result], [ret_type] if ret_type else None, self.converter)[0]
        cause: BaseException
        if run.status == FAILED:
            closing = run.events[-1]
            failure = getattr(closing, "failure", None)
            if failure is None:  # no recorded failure (e.g. continue-as-new to an unknown type)
                from ..engine._failure import encode_failure

                assert run.exception is not None
                failure = encode_failure(run.exception)
            cause = to_exception(failure, self.converter)
        elif run.status == TERMINATED:
            closing = run.events[-1]
            reason = getattr(closing, "reason", "") or "Workflow terminated"
            details = getattr(closing, "details", [])
            cause = temporalio.exceptions.TerminatedError(
                reason, *decode(details, None, self.converter)
            )
        else:
            assert run.status == CANCELLED
            cause = temporalio.exceptions.CancelledError("Workflow cancelled")
        raise temporalio.client.WorkflowFailureError(cause=cause) from cause

    def terminate(self, *details: Any, reason: str = "") -> None:
        """End the workflow at once; ``result()`` then raises caused by ``TerminatedError``."""
        self._env._check_open()
        self._env.engine.terminate(self.id, reason, encode(details, self.converter))
        self._env.settle()

    def signal(self, signal: Any, *arg: Any, args: Sequence[Any] | None = None) -> None:
        """Send a signal (a ``@workflow.signal`` method or its name) and let it be handled.

        Its arguments follow it positionally or, as Temporal's client takes them, in
        ``args=[...]``.
        """
        name = self._definition().signal_name(signal)
        values = call_arguments(arg, args, what=f"signal {name!r}")
        self._env._check_open()
        self._env.engine.signal(self.id, name, encode(values, self.converter))
        self._env.settle()

    def query(self, query: Any, *arg: Any, args: Sequence[Any] | None = None) -> Any:
        """Run a query (a ``@workflow.query`` method or its name) and return its answer.

        Its arguments follow it positionally or in ``args=[...]``, as for :meth:`signal`.
        """
        definition = self._definition()
        name = definition.query_name(query)
        values = call_arguments(arg, args, what=f"query {name!r}")
        self._env.settle()
        run = self._execution.current
        instance: Any = run.instance or self._env.engine._rebuild(run)
        answer = instance.query(name, encode(values, self.converter))
        handler = definition.sdk.queries.get(name)
        ret_type = handler.ret_type if handler is not None and handler.name else None
        return decode([answer], [ret_type] if ret_type else None, self.converter)[0]

    def start_update(
        self,
        update: Any,
        *arg: Any,
        args: Sequence[Any] | None = None,
        id: str | None = None,
    ) -> TemporalUpdateHandle:
        """Send an update (an ``@workflow.update`` method or its name) and wait until accepted.

        Runs the workflow's next task, where temporalio runs the update's validator and accepts
        it; the returned handle's ``result()`` drives on until the handler finishes.

        Raises:
            temporalio.client.WorkflowUpdateFailedError: the validator rejected it, or no handler
                has its name (nothing is recorded); ``cause`` is temporalio's exception.
        """
        __tracebackhide__ = True
        update_handle = self._send_update(update, arg, args, id)
        if update_handle.done and not update_handle.accepted:
            update_handle.result()  # raises the rejection, at the caller's line
        return update_handle

    def execute_update(
        self,
        update: Any,
        *arg: Any,
        args: Sequence[Any] | None = None,
        id: str | None = None,
    ) -> Any:
        """Send an update, drive until its handler finishes, and return its result.

        Raises:
            temporalio.client.WorkflowUpdateFailedError: rejected, the handler raised a failure,
                or the workflow closed before the update completed.
        """
        __tracebackhide__ = True
        return self._send_update(update, arg, args, id).result()

    def _send_update(
        self, update: Any, arg: Sequence[Any], args: Sequence[Any] | None, update_id: str | None
    ) -> TemporalUpdateHandle:
        definition = self._definition()
        name = definition.update_name(update)
        values = call_arguments(tuple(arg), args, what=f"update {name!r}")
        self._env._check_open()
        run = self._execution.current
        if update_id is None:
            update_id = f"update-{len(run.updates) + 1}"
        elif not isinstance(update_id, str) or not update_id:
            raise InvalidArgumentError(
                f"an update id must be a non-empty string, got {update_id!r}"
            )
        state = self._env.engine.update(self.id, name, encode(values, self.converter), update_id)
        self._env.settle()
        handler = definition.sdk.updates.get(name)
        ret_type = handler.ret_type if handler is not None and handler.name else None
        return TemporalUpdateHandle(self._env, self.id, state, ret_type, self.converter)


class TemporalUpdateHandle(WorkflowUpdateHandle):
    """An update of a Temporal workflow, answered as temporalio's client answers.

    Its result is decoded by temporalio's converter; its failure is ``WorkflowUpdateFailedError``
    caused by temporalio's exception.
    """

    def __init__(
        self,
        env: DurableEnvironment,
        workflow_id: str,
        state: UpdateState,
        result_type: Any,
        converter: Any = None,
    ) -> None:
        super().__init__(env, workflow_id, state, result_type)
        self._converter = converter

    @property
    def accepted(self) -> bool:
        """Whether the workflow accepted the update (its validator passed)."""
        return self._state.accepted

    def result(self, *, result_type: Any = None) -> Any:
        """Drive the environment until the update completes; return its result.

        ``result_type`` overrides the handler's return type (an update sent by name).

        Raises:
            temporalio.client.WorkflowUpdateFailedError: rejected by the validator, the handler
                raised a failure, or the workflow closed first; ``cause`` says which.
        """
        __tracebackhide__ = True
        self._env.drive_until(self._state.done, waiting_for=self._env.get_handle(self.workflow_id))
        error = self._state.error
        if error is not None:
            cause = to_exception(encode_failure(error), self._converter)
            raise temporalio.client.WorkflowUpdateFailedError(cause) from cause
        hint = result_type or self._hint
        return decode([self._state.result], [hint] if hint else None, self._converter)[0]
