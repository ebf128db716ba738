"""Workflow updates of Temporal SDK workflows: ``DoUpdate`` jobs in, update responses out.

The engine delivers an update in a workflow task (see ``engine/_updates.py``); here it becomes
temporalio's ``DoUpdate`` activation job, and the ``update_response`` commands temporalio
answers with become the engine's: *accepted* is :class:`AcceptUpdate`, *completed* is
:class:`CompleteUpdate` with the result, and *rejected* is a rejection before acceptance (the
validator raised, or no handler has the name: nothing is recorded, as on Temporal) or, after
acceptance, a :class:`CompleteUpdate` carrying the handler's failure.
"""

from __future__ import annotations

from collections.abc import Sequence

from temporalio.bridge.proto import workflow_activation as wa
from temporalio.bridge.proto import workflow_commands as wc

from ..engine._commands import AcceptUpdate, CompleteUpdate
from ..engine._failure import decode_failure
from ..engine._updates import UpdateRequest
from ._convert import from_failure, to_payloads, to_value


class TemporalUpdates:
    """The updates one Temporal workflow instance was given, by id, until they complete."""

    __slots__ = ("accepted", "rejected", "requests")

    def __init__(self, rejected: list[tuple[str, BaseException]]) -> None:
        #: Updates delivered and not yet answered: their name and arguments, for acceptance.
        self.requests: dict[str, UpdateRequest] = {}
        #: Updates accepted and not yet completed: the command a completion refers to.
        self.accepted: dict[str, AcceptUpdate] = {}
        #: The instance's list of updates rejected in the current activation (the engine's).
        self.rejected = rejected

    def jobs(self, updates: Sequence[UpdateRequest]) -> list[wa.WorkflowActivationJob]:
        """One ``DoUpdate`` job per update (the protocol instance id is the update id)."""
        jobs = []
        for request in updates:
            self.requests[request.update_id] = request
            job = wa.DoUpdate(
                id=request.update_id,
                protocol_instance_id=request.update_id,
                name=request.name,
                input=to_payloads(request.args),
                run_validator=request.run_validator,
            )
            job.meta.update_id = request.update_id
            job.meta.identity = "pytest-durable"
            jobs.append(wa.WorkflowActivationJob(do_update=job))
        return jobs

    def command_for(self, response: wc.UpdateResponse) -> AcceptUpdate | CompleteUpdate | None:
        """The engine's command for one of temporalio's update responses (None: a rejection)."""
        update_id = response.protocol_instance_id
        which = response.WhichOneof("response")
        if which == "accepted":
            request = self.requests.pop(update_id)
            accept = AcceptUpdate(update_id=update_id, name=request.name, args=list(request.args))
            self.accepted[update_id] = accept
            return accept
        accepted = self.accepted.pop(update_id, None)
        if which == "completed":
            assert accepted is not None, f"update {update_id!r} completed before its acceptance"
            return CompleteUpdate(
                update_id=update_id, accepted=accepted, result=to_value(response.completed)
            )
        assert which == "rejected", which
        failure = from_failure(response.rejected)
        if accepted is None:  # the validator refused it (or no handler has its name)
            self.requests.pop(update_id, None)
            self.rejected.append((update_id, decode_failure(failure)))
            return None
        return CompleteUpdate(update_id=update_id, accepted=accepted, failure=failure)
