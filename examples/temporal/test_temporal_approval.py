"""The temporalio approval workflow: signals, queries, reminders and expiry in virtual time."""

from __future__ import annotations

from datetime import timedelta

import pytest
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ApplicationError

from pytest_durable import DurableEnvironment

from .workflows import Expense, ExpenseApproval, pay, remind

EXPENSE = Expense("exp-7", 420, "grace")
DAY = timedelta(days=1)


def test_an_approval_on_the_second_day_pays_after_one_reminder(
    durable_env: DurableEnvironment,
) -> None:
    reminders = durable_env.mock_activity(remind)
    durable_env.mock_activity(pay, returns="payment-exp-7")
    handle = durable_env.start(ExpenseApproval.run, EXPENSE)
    assert handle.query(ExpenseApproval.current_status) == "waiting"
    durable_env.sleep(DAY + timedelta(hours=3))
    assert [call.args for call in reminders.calls] == [("grace", "exp-7")]
    handle.signal(ExpenseApproval.decide, "approved")
    assert handle.result() == "payment-exp-7"
    assert handle.query(ExpenseApproval.current_status) == "paid"


def test_a_rejection_pays_nothing(durable_env: DurableEnvironment) -> None:
    payments = durable_env.mock_activity(pay)
    handle = durable_env.start(ExpenseApproval.run, EXPENSE)
    handle.signal("decide", "rejected")
    assert handle.result() == "rejected"
    assert not payments.calls


def test_three_silent_days_expire_after_three_reminders(durable_env: DurableEnvironment) -> None:
    reminders = durable_env.mock_activity(remind)
    handle = durable_env.start(ExpenseApproval.run, EXPENSE)
    with pytest.raises(WorkflowFailureError) as caught:
        handle.result()
    assert isinstance(caught.value.cause, ApplicationError)
    assert caught.value.cause.type == "Expired"
    assert len(reminders.calls) == 3
    assert durable_env.now() - handle.history.events[0].time == 3 * DAY
    assert handle.query(ExpenseApproval.current_status) == "expired"
