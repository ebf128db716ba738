"""Two workflows written against Temporal's own SDK, exactly as they ship to a Temporal cluster.

``BookTrip`` is a saga: book a car, a hotel and a flight; if a step fails, undo the steps that
succeeded, newest first. ``ExpenseApproval`` waits for a manager's decision (a signal), reminds
them after a day, and gives up after three; the decision and the payment are queryable.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

STEP = timedelta(seconds=30)


@dataclass
class Trip:
    trip_id: str
    traveller: str
    city: str


@activity.defn
async def book_car(trip: Trip) -> str:
    return f"car-{trip.trip_id}"


@activity.defn
async def book_hotel(trip: Trip) -> str:
    return f"hotel-{trip.trip_id}"


@activity.defn
async def book_flight(trip: Trip) -> str:
    return f"flight-{trip.trip_id}"


@activity.defn
async def cancel_car(booking: str) -> None:
    activity.logger.info("cancelled %s", booking)


@activity.defn
async def cancel_hotel(booking: str) -> None:
    activity.logger.info("cancelled %s", booking)


@activity.defn
async def cancel_flight(booking: str) -> None:
    activity.logger.info("cancelled %s", booking)


BOOKINGS = ((book_car, cancel_car), (book_hotel, cancel_hotel), (book_flight, cancel_flight))


@workflow.defn
class BookTrip:
    @workflow.run
    async def run(self, trip: Trip) -> list[str]:
        done: list[tuple[object, str]] = []
        try:
            for book, cancel in BOOKINGS:
                booking = await workflow.execute_activity(
                    book,
                    trip,
                    start_to_close_timeout=STEP,
                    retry_policy=RetryPolicy(
                        maximum_attempts=3, non_retryable_error_types=["SoldOut"]
                    ),
                )
                done.append((cancel, booking))
        except ActivityError:
            for cancel, booking in reversed(done):
                await workflow.execute_activity(cancel, booking, start_to_close_timeout=STEP)
            raise
        return [booking for _, booking in done]


@dataclass
class Expense:
    expense_id: str
    amount: int
    manager: str


@activity.defn
async def remind(manager: str, expense_id: str) -> None:
    activity.logger.info("reminded %s about %s", manager, expense_id)


@activity.defn
async def pay(expense: Expense) -> str:
    return f"payment-{expense.expense_id}"


@workflow.defn
class ExpenseApproval:
    def __init__(self) -> None:
        self.decision: str | None = None
        self.status = "waiting"

    @workflow.run
    async def run(self, expense: Expense) -> str:
        for _day in range(3):
            try:
                await workflow.wait_condition(
                    lambda: self.decision is not None, timeout=timedelta(days=1)
                )
                break
            except TimeoutError:
                await workflow.execute_activity(
                    remind, args=[expense.manager, expense.expense_id], start_to_close_timeout=STEP
                )
        if self.decision is None:
            self.status = "expired"
            raise ApplicationError(f"{expense.expense_id} was never decided", type="Expired")
        if self.decision == "rejected":
            self.status = "rejected"
            return "rejected"
        self.status = "paying"
        payment = await workflow.execute_activity(pay, expense, start_to_close_timeout=STEP)
        self.status = "paid"
        return payment

    @workflow.signal
    def decide(self, decision: str) -> None:
        self.decision = decision

    @workflow.query
    def current_status(self) -> str:
        return self.status
