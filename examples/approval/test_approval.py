"""Tests for human approval: signals before the timeout, rejection, escalation and expiry.

These tests use the plugin's ``durable_env`` fixture: a fresh environment per test, whose
virtual clock starts at 2000-01-01 00:00 UTC.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from pytest_durable import (
    DurableEnvironment,
    MockActivity,
    Replayer,
    WorkflowBlockedError,
    WorkflowNotRunningError,
)

from .workflows import (
    ApprovalResult,
    ApprovalStatus,
    ExpenseApproval,
    ExpenseRequest,
    escalate,
    notify_requester,
    request_approval,
)

REQUEST = ExpenseRequest("exp-314", "sam", 45_000, "conference ticket")
HOUR = timedelta(hours=1)


# The fixture mocks every outgoing message for every test, so a test that never escalates
# leaves the escalate mock unused on purpose: no warning for it (see docs/testing.md).
pytestmark = pytest.mark.filterwarnings("ignore::pytest_durable.UnusedMockWarning")


@pytest.fixture
def messages(durable_env: DurableEnvironment) -> dict[str, MockActivity]:
    """Every outgoing message is mocked; tests inspect who was told what, and when."""
    return {
        "request_approval": durable_env.mock_activity(request_approval),
        "escalate": durable_env.mock_activity(escalate),
        "notify_requester": durable_env.mock_activity(notify_requester),
    }


def test_approved_by_signal_before_the_timeout(
    durable_env: DurableEnvironment, messages: dict[str, MockActivity]
) -> None:
    t0 = durable_env.now()
    handle = durable_env.start(ExpenseApproval.run, REQUEST, id="approval-exp-314")
    messages["request_approval"].assert_called_once_with("exp-314", "team-lead", 45_000)
    assert handle.query(ExpenseApproval.current_status) == "pending"

    durable_env.sleep(5 * HOUR)
    handle.signal(ExpenseApproval.approve, "dana")

    assert handle.result() == ApprovalResult(
        "exp-314", ApprovalStatus.APPROVED, decided_by="dana", decided_at=t0 + 5 * HOUR
    )
    assert handle.query(ExpenseApproval.current_status) == "approved"
    messages["notify_requester"].assert_called_once_with("exp-314", "sam", "approved")
    assert messages["notify_requester"].calls[0].time == t0 + 5 * HOUR
    messages["escalate"].assert_not_called()


def test_rejected_with_a_reason(
    durable_env: DurableEnvironment, messages: dict[str, MockActivity]
) -> None:
    handle = durable_env.start(ExpenseApproval.run, REQUEST)
    durable_env.sleep(30 * HOUR)

    handle.signal(ExpenseApproval.reject, "dana", "no travel budget this quarter")

    result = handle.result()
    assert (result.status, result.decided_by, result.reason) == (
        ApprovalStatus.REJECTED,
        "dana",
        "no travel budget this quarter",
    )
    messages["notify_requester"].assert_called_once_with("exp-314", "sam", "rejected")
    messages["escalate"].assert_not_called()


def test_no_answer_in_48_hours_escalates_and_the_query_shows_it(
    durable_env: DurableEnvironment, messages: dict[str, MockActivity]
) -> None:
    t0 = durable_env.now()
    handle = durable_env.start(ExpenseApproval.run, REQUEST)

    durable_env.sleep(47 * HOUR + timedelta(minutes=59))
    assert handle.query(ExpenseApproval.current_status) == "pending"
    messages["escalate"].assert_not_called()

    durable_env.sleep(timedelta(minutes=1))
    assert handle.query(ExpenseApproval.current_status) == "escalated"
    messages["escalate"].assert_called_once_with("exp-314", "head-of-finance", 48)
    assert messages["escalate"].calls[0].time == t0 + 48 * HOUR

    durable_env.sleep(2 * HOUR)
    handle.signal(ExpenseApproval.approve, "maria")
    result = handle.result()
    assert (result.status, result.decided_by, result.decided_at) == (
        ApprovalStatus.APPROVED,
        "maria",
        t0 + 50 * HOUR,
    )


def test_a_request_nobody_answers_expires_after_72_hours(
    durable_env: DurableEnvironment, messages: dict[str, MockActivity]
) -> None:
    t0 = durable_env.now()

    result = durable_env.run(ExpenseApproval.run, REQUEST).result()

    assert result == ApprovalResult("exp-314", ApprovalStatus.EXPIRED, None, t0 + 72 * HOUR)
    assert messages["escalate"].calls[0].time == t0 + 48 * HOUR
    messages["notify_requester"].assert_called_once_with("exp-314", "sam", "expired")
    assert durable_env.now() == t0 + 72 * HOUR


@pytest.mark.parametrize(
    ("amount_cents", "approver"),
    [(999_999, "team-lead"), (1_000_000, "finance"), (2_500_000, "finance")],
)
def test_large_amounts_go_to_finance(
    durable_env: DurableEnvironment,
    messages: dict[str, MockActivity],
    amount_cents: int,
    approver: str,
) -> None:
    request = ExpenseRequest("exp-1", "sam", amount_cents, "laptops")
    durable_env.start(ExpenseApproval.run, request)

    messages["request_approval"].assert_called_once_with("exp-1", approver, amount_cents)


def test_nobody_approves_their_own_request(
    durable_env: DurableEnvironment, messages: dict[str, MockActivity]
) -> None:
    handle = durable_env.start(ExpenseApproval.run, REQUEST)

    handle.signal(ExpenseApproval.approve, "sam")

    assert handle.query(ExpenseApproval.current_status) == "pending"
    assert handle.query(ExpenseApproval.ignored_signals) == ["sam: cannot decide their own request"]
    handle.signal(ExpenseApproval.approve, "dana")
    assert handle.result().decided_by == "dana"


def test_the_first_decision_stands(
    durable_env: DurableEnvironment, messages: dict[str, MockActivity]
) -> None:
    # The rejection arrives while the requester is still being told of the approval.
    messages["notify_requester"] = durable_env.mock_activity(
        notify_requester, delay=timedelta(seconds=5)
    )
    handle = durable_env.start(ExpenseApproval.run, REQUEST)
    handle.signal(ExpenseApproval.approve, "dana")
    handle.signal(ExpenseApproval.reject, "lee", "too late")

    assert handle.result().status is ApprovalStatus.APPROVED
    assert handle.query(ExpenseApproval.ignored_signals) == ["lee: already approved"]
    with pytest.raises(WorkflowNotRunningError):
        handle.signal(ExpenseApproval.reject, "lee", "really too late")


def test_waiting_for_time_is_a_clear_error_without_auto_skip() -> None:
    # With auto_skip off only env.sleep moves time, so waiting for a result that needs time
    # to pass fails fast instead of hanging the test.
    with DurableEnvironment(auto_skip=False) as env:
        env.mock_activity(request_approval)
        handle = env.start(ExpenseApproval.run, REQUEST)
        with pytest.raises(WorkflowBlockedError, match=r"advance time with env\.sleep"):
            handle.result()


def test_the_escalation_history_replays_strictly(
    durable_env: DurableEnvironment, messages: dict[str, MockActivity]
) -> None:
    handle = durable_env.start(ExpenseApproval.run, REQUEST)
    durable_env.sleep(60 * HOUR)
    handle.signal(ExpenseApproval.reject, "maria", "duplicate of exp-271")
    handle.result()

    kinds = [type(event).__name__ for event in handle.history]
    assert kinds.count("WorkflowExecutionSignaled") == 1
    assert kinds.count("TimerFired") == 1  # the 48 h timer fired; the 24 h one was cancelled
    assert kinds.count("TimerCanceled") == 1
    result = Replayer(workflows=[ExpenseApproval], strict=True).replay(handle.history)
    assert result.divergences == ()
