"""The approval workflow as a state machine: decisions, time and crashes in any order.

Hypothesis drives one running ``ExpenseApproval`` with approvals and rejections from the
approver, the requester and finance, with virtual time passing (through the 48-hour approval
window and the 24-hour escalation) and with worker crashes and engine restarts in between. After
every step the business rules must hold: nobody decides their own request, the first valid
decision stands, and the workflow's status follows the clock. ``WorkflowMachine`` brings the
time, crash and restart rules and checks that every history so far replays.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import invariant, precondition, rule

from pytest_durable import DurableEnvironment
from pytest_durable.stateful import WorkflowMachine

from .workflows import (
    APPROVAL_TIMEOUT,
    ESCALATION_TIMEOUT,
    ApprovalStatus,
    ExpenseApproval,
    ExpenseRequest,
    escalate,
    notify_requester,
    request_approval,
)

REQUEST = ExpenseRequest("exp-271", "sam", 45_000, "team offsite")
PEOPLE = st.sampled_from(["team-lead", "sam", "finance"])

# A run decided in time never escalates: its escalate mock stays unused on purpose.
pytestmark = pytest.mark.filterwarnings("ignore::pytest_durable.UnusedMockWarning")


class ApprovalMachine(WorkflowMachine):
    workflow = ExpenseApproval.run
    args = (REQUEST,)
    max_advance = timedelta(hours=30)

    def setup(self, env: DurableEnvironment) -> None:
        for fn in (request_approval, escalate, notify_requester):
            env.mock_activity(fn, returns=None)
        self.started = env.now()
        #: The first decision the rules accept: (status, by), once made.
        self.expected: tuple[ApprovalStatus, str] | None = None

    def _decide(self, status: ApprovalStatus, by: str) -> None:
        deadline = self.started + APPROVAL_TIMEOUT + ESCALATION_TIMEOUT
        if self.expected is None and by != REQUEST.requester and self.env.now() < deadline:
            self.expected = (status, by)

    @precondition(lambda self: not self.handle.done)
    @rule(by=PEOPLE)
    def approve(self, by: str) -> None:
        self.handle.signal(ExpenseApproval.approve, by)
        self._decide(ApprovalStatus.APPROVED, by)

    @precondition(lambda self: not self.handle.done)
    @rule(by=PEOPLE, reason=st.sampled_from(["over budget", "no receipt"]))
    def reject(self, by: str, reason: str) -> None:
        self.handle.signal(ExpenseApproval.reject, by, reason)
        self._decide(ApprovalStatus.REJECTED, by)

    @invariant()
    def the_first_valid_decision_stands(self) -> None:
        status = self.handle.query(ExpenseApproval.current_status)
        if self.expected is not None:
            assert status == self.expected[0].value
        if self.handle.done:
            result = self.handle.result()
            assert result.decided_by != REQUEST.requester
            if self.expected is not None:
                assert (result.status, result.decided_by) == self.expected
            else:
                assert result.status is ApprovalStatus.EXPIRED

    @invariant()
    def the_status_follows_the_clock(self) -> None:
        waited = self.env.now() - self.started
        status = self.handle.query(ExpenseApproval.current_status)
        if self.expected is None and waited < APPROVAL_TIMEOUT:
            assert status == "pending"
        if self.expected is None and waited >= APPROVAL_TIMEOUT + ESCALATION_TIMEOUT:
            assert status == "expired"


ApprovalMachine.TestCase.settings = settings(
    max_examples=25, stateful_step_count=12, deadline=None
)
test_approval_machine = ApprovalMachine.TestCase
