"""Workflow update events in Temporal's history format, both ways.

Temporal records an accepted update as ``WorkflowExecutionUpdateAccepted`` after the workflow
task that accepted it, carrying the original request (update id, handler name, arguments) and
the id of that task's started event, which sequences the request on replay; its outcome is
``WorkflowExecutionUpdateCompleted`` (a success payload or a failure), referring to the
acceptance. A rejected update leaves nothing, as here. ``WorkflowExecutionUpdateAdmitted``
(written only when a workflow is reset or replicated with updates in flight) and the retired
``WorkflowExecutionUpdateRejected`` are refused on import.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from temporalio.api.history.v1 import HistoryEvent

from ..engine import _events as ev
from ._convert import from_failure, to_failure, to_payload, to_payloads, to_value, to_values

_IDENTITY = "pytest-durable"


def export_accepted(
    out: HistoryEvent, event: ev.WorkflowExecutionUpdateAccepted, task_started_id: int
) -> None:
    """Fill ``out`` with the acceptance ``event``, sequenced by the accepting task's start."""
    attrs = out.workflow_execution_update_accepted_event_attributes
    attrs.protocol_instance_id = event.update_id
    attrs.accepted_request_message_id = f"{event.update_id}/request"
    attrs.accepted_request_sequencing_event_id = task_started_id
    request = attrs.accepted_request
    request.meta.update_id = event.update_id
    request.meta.identity = _IDENTITY
    request.input.name = event.update_name
    request.input.args.payloads.extend(to_payloads(event.input))


def export_completed(
    out: HistoryEvent, event: ev.WorkflowExecutionUpdateCompleted, accepted_id: int
) -> None:
    """Fill ``out`` with the completion ``event`` (``accepted_id`` is Temporal's numbering)."""
    attrs = out.workflow_execution_update_completed_event_attributes
    attrs.meta.update_id = event.update_id
    attrs.meta.identity = _IDENTITY
    attrs.accepted_event_id = accepted_id
    if event.failure is not None:
        attrs.outcome.failure.CopyFrom(to_failure(event.failure))
    else:
        attrs.outcome.success.payloads.append(to_payload(event.result))


def import_accepted(source: HistoryEvent) -> dict[str, Any]:
    """The fields of our acceptance event from Temporal's."""
    attrs = source.workflow_execution_update_accepted_event_attributes
    request = attrs.accepted_request
    return {
        "update_id": request.meta.update_id or attrs.protocol_instance_id,
        "update_name": request.input.name,
        "input": to_values(request.input.args.payloads),
    }


def import_completed(source: HistoryEvent, ref: Callable[[int], int]) -> dict[str, Any]:
    """The fields of our completion event from Temporal's (``ref`` maps event ids to ours)."""
    attrs = source.workflow_execution_update_completed_event_attributes
    outcome = attrs.outcome
    fields: dict[str, Any] = {
        "update_id": attrs.meta.update_id,
        "accepted_event_id": ref(attrs.accepted_event_id),
    }
    if outcome.HasField("failure"):
        fields["failure"] = from_failure(outcome.failure)
    else:
        payloads = outcome.success.payloads
        fields["result"] = to_value(payloads[0]) if payloads else None
    return fields
