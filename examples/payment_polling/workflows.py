"""Polling until a deadline: verify a bank transfer by asking the provider every 30 minutes.

Some providers offer no webhook, so the workflow polls. Polls sit on a fixed schedule measured
from the start (start, +30 min, +60 min, ...), not "30 minutes after the last answer", so a slow
provider does not make the schedule drift. Between polls the workflow sleeps on a durable timer:
a worker restart does not reset it, and in tests a day of polling takes milliseconds.

A poll that errors (the provider is down) is retried by the activity's retry policy and is not
counted as a poll. The workflow ends when the payment is verified or declined, or, when the
deadline passes first, hands the payment to a person for manual review.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

from pytest_durable import RetryPolicy, activity, workflow


class PaymentStatus(enum.Enum):
    """What the payment provider says about a payment."""

    PENDING = "pending"
    VERIFIED = "verified"
    DECLINED = "declined"


class Outcome(enum.Enum):
    """How verification ended."""

    VERIFIED = "verified"
    DECLINED = "declined"
    EXPIRED = "expired"


@dataclass(frozen=True)
class VerificationRequest:
    """Which payment to verify, how often to ask, and for how long."""

    payment_id: str
    poll_interval: timedelta = timedelta(minutes=30)
    deadline: timedelta = timedelta(hours=24)


@dataclass(frozen=True)
class VerificationResult:
    """How verification ended, after how many polls, and when."""

    payment_id: str
    outcome: Outcome
    polls: int
    decided_at: datetime


@dataclass(frozen=True)
class PollingProgress:
    """What the ``progress`` query reports while polling."""

    polls: int
    last_status: PaymentStatus | None
    next_poll_at: datetime | None


@activity.defn
async def check_payment_status(payment_id: str) -> PaymentStatus:
    """Ask the payment provider for the payment's status."""
    return PaymentStatus.PENDING


@activity.defn
async def flag_for_manual_review(payment_id: str, polls: int) -> None:
    """Open a ticket for the payments team: the provider never gave an answer."""


POLL_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=5),
    maximum_interval=timedelta(minutes=1),
    maximum_attempts=5,
)


@workflow.defn
class PaymentVerification:
    """Poll a payment's status on a fixed schedule until it is decided or the deadline passes."""

    def __init__(self) -> None:
        self.polls = 0
        self.last_status: PaymentStatus | None = None
        self.next_poll_at: datetime | None = None

    @workflow.run
    async def run(self, request: VerificationRequest) -> VerificationResult:
        started = workflow.now()
        deadline = started + request.deadline
        slot = 0  # polls are due at started + slot * poll_interval
        while True:
            self.polls += 1
            self.next_poll_at = None
            status = await workflow.execute_activity(
                check_payment_status,
                request.payment_id,
                start_to_close_timeout=timedelta(seconds=20),
                retry_policy=POLL_RETRY,
            )
            self.last_status = status
            if status is PaymentStatus.VERIFIED:
                return self._result(request, Outcome.VERIFIED)
            if status is PaymentStatus.DECLINED:
                return self._result(request, Outcome.DECLINED)
            # Slots that passed while the provider was slow are skipped, not made up.
            slot += 1
            while started + slot * request.poll_interval < workflow.now():
                slot += 1
            next_poll = started + slot * request.poll_interval
            if next_poll > deadline:
                break
            self.next_poll_at = next_poll
            if next_poll > workflow.now():
                await workflow.sleep(next_poll - workflow.now())

        await workflow.execute_activity(
            flag_for_manual_review,
            request.payment_id,
            self.polls,
            start_to_close_timeout=timedelta(seconds=30),
        )
        return self._result(request, Outcome.EXPIRED)

    def _result(self, request: VerificationRequest, outcome: Outcome) -> VerificationResult:
        return VerificationResult(request.payment_id, outcome, self.polls, workflow.now())

    @workflow.query
    def progress(self) -> PollingProgress:
        """Polls so far, the provider's last answer, and when the next poll is due."""
        return PollingProgress(self.polls, self.last_status, self.next_poll_at)
