"""Human approval: wait for an approve/reject signal, escalate on timeout, expire at last.

An expense request notifies its approver and waits up to 48 hours for a decision, which arrives
as a signal. Without one, the request is escalated to the head of finance, who gets another
24 hours; after that it expires. The requester is told the outcome in every case.

The wait is ``workflow.wait_condition(..., timeout=...)``: a durable timer raced against a
condition that signal handlers make true. A query reports the status while the workflow waits.
Business rules live in the signal handlers: nobody approves their own request, and the first
valid decision stands.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

from pytest_durable import activity, workflow


class ApprovalStatus(enum.Enum):
    """Where a request stands."""

    PENDING = "pending"
    ESCALATED = "escalated"
    APPROVED = "approved"
    REJECTED = "rejected"
    EXPIRED = "expired"


@dataclass(frozen=True)
class ExpenseRequest:
    """Someone asks to spend money."""

    request_id: str
    requester: str
    amount_cents: int
    description: str


@dataclass(frozen=True)
class ApprovalResult:
    """The decision, who made it and when (``decided_by`` is None when the request expired)."""

    request_id: str
    status: ApprovalStatus
    decided_by: str | None
    decided_at: datetime
    reason: str = ""


@activity.defn
async def request_approval(request_id: str, approver: str, amount_cents: int) -> None:
    """Send the approver a message with approve/reject buttons (which signal the workflow)."""


@activity.defn
async def escalate(request_id: str, to: str, waited_hours: int) -> None:
    """Page the escalation contact: the approver did not answer in time."""


@activity.defn
async def notify_requester(request_id: str, requester: str, status: str) -> None:
    """Tell the requester how their request ended."""


APPROVAL_TIMEOUT = timedelta(hours=48)
ESCALATION_TIMEOUT = timedelta(hours=24)
FINANCE_THRESHOLD_CENTS = 1_000_000
"""From 10,000.00 up, finance approves instead of the team lead."""
ESCALATION_CONTACT = "head-of-finance"
NOTIFY_TIMEOUT = timedelta(seconds=30)


def approver_for(request: ExpenseRequest) -> str:
    """Who decides: the team lead, or finance for large amounts."""
    return "finance" if request.amount_cents >= FINANCE_THRESHOLD_CENTS else "team-lead"


@workflow.defn
class ExpenseApproval:
    """Route an expense request to its approver and wait for a decision, escalating if none."""

    def __init__(self) -> None:
        self.status = ApprovalStatus.PENDING
        self.requester = ""
        self.decided_by: str | None = None
        self.reason = ""
        self.ignored: list[str] = []

    @workflow.run
    async def run(self, request: ExpenseRequest) -> ApprovalResult:
        self.requester = request.requester
        await workflow.execute_activity(
            request_approval,
            request.request_id,
            approver_for(request),
            request.amount_cents,
            start_to_close_timeout=NOTIFY_TIMEOUT,
        )
        if not await self._decision_within(APPROVAL_TIMEOUT):
            self.status = ApprovalStatus.ESCALATED
            await workflow.execute_activity(
                escalate,
                request.request_id,
                ESCALATION_CONTACT,
                APPROVAL_TIMEOUT // timedelta(hours=1),
                start_to_close_timeout=NOTIFY_TIMEOUT,
            )
            if not await self._decision_within(ESCALATION_TIMEOUT):
                self.status = ApprovalStatus.EXPIRED
        await workflow.execute_activity(
            notify_requester,
            request.request_id,
            request.requester,
            self.status.value,
            start_to_close_timeout=NOTIFY_TIMEOUT,
        )
        return ApprovalResult(
            request.request_id, self.status, self.decided_by, workflow.now(), self.reason
        )

    async def _decision_within(self, timeout: timedelta) -> bool:
        try:
            await workflow.wait_condition(lambda: self.decided_by is not None, timeout=timeout)
        except TimeoutError:
            return False
        return True

    def _accepts(self, by: str) -> bool:
        if self.decided_by is not None:
            self.ignored.append(f"{by}: already {self.status.value}")
            return False
        if by == self.requester:
            self.ignored.append(f"{by}: cannot decide their own request")
            return False
        return True

    @workflow.signal
    def approve(self, by: str) -> None:
        """An approver approves."""
        if self._accepts(by):
            self.status, self.decided_by = ApprovalStatus.APPROVED, by

    @workflow.signal
    def reject(self, by: str, reason: str) -> None:
        """An approver rejects, saying why."""
        if self._accepts(by):
            self.status, self.decided_by, self.reason = ApprovalStatus.REJECTED, by, reason

    @workflow.query
    def current_status(self) -> str:
        """``pending``, ``escalated``, ``approved``, ``rejected`` or ``expired``."""
        return self.status.value

    @workflow.query
    def ignored_signals(self) -> list[str]:
        """Decisions that were refused, and why."""
        return list(self.ignored)
