"""The temporalio saga, tested with the plugin's fixture, mocks and virtual time.

The workflow module is byte-for-byte what runs on Temporal; only the test harness is ours.
"""

from __future__ import annotations

import itertools

import pytest
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ActivityError, ApplicationError, RetryState

from pytest_durable import DurableEnvironment

from .workflows import (
    BookTrip,
    Trip,
    book_car,
    book_flight,
    book_hotel,
    cancel_car,
    cancel_flight,
    cancel_hotel,
)

TRIP = Trip("t-1", "ada", "Lisbon")


@pytest.fixture
def env(durable_env: DurableEnvironment) -> DurableEnvironment:
    for fn in (book_car, book_hotel, book_flight, cancel_car, cancel_hotel, cancel_flight):
        durable_env.register_activity(fn)
    return durable_env


def test_every_step_books(env: DurableEnvironment) -> None:
    assert env.run(BookTrip.run, TRIP).result() == ["car-t-1", "hotel-t-1", "flight-t-1"]


def test_a_sold_out_flight_undoes_the_hotel_then_the_car(env: DurableEnvironment) -> None:
    env.mock_activity(book_flight, raises=ApplicationError("no seats", type="SoldOut"))
    undo_car = env.mock_activity(cancel_car)
    undo_hotel = env.mock_activity(cancel_hotel)
    with pytest.raises(WorkflowFailureError) as caught:
        env.run(BookTrip.run, TRIP).result()
    error = caught.value.cause
    assert isinstance(error, ActivityError) and error.activity_type == "book_flight"
    assert error.retry_state == RetryState.NON_RETRYABLE_FAILURE
    assert isinstance(error.cause, ApplicationError) and error.cause.type == "SoldOut"
    assert undo_hotel.calls[0].args == ("hotel-t-1",)
    assert undo_car.calls[0].args == ("car-t-1",)
    assert undo_hotel.calls[0].time <= undo_car.calls[0].time


def test_a_flaky_hotel_is_retried_at_temporals_backoff(env: DurableEnvironment) -> None:
    hotel = env.mock_activity(
        book_hotel, outcomes=[ConnectionError("down"), ConnectionError("down"), "hotel-late"]
    )
    assert env.run(BookTrip.run, TRIP).result()[1] == "hotel-late"
    times = [call.time for call in hotel.calls]
    gaps = [(later - earlier).total_seconds() for earlier, later in itertools.pairwise(times)]
    assert gaps == [1.0, 2.0]  # the default policy: 1 s, then doubled


def test_a_hotel_down_for_good_undoes_only_the_car(env: DurableEnvironment) -> None:
    env.mock_activity(book_hotel, raises=ConnectionError("down"))
    undo_car = env.mock_activity(cancel_car)
    undo_hotel = env.mock_activity(cancel_hotel)
    with pytest.raises(WorkflowFailureError) as caught:
        env.run(BookTrip.run, TRIP).result()
    assert caught.value.cause.retry_state == RetryState.MAXIMUM_ATTEMPTS_REACHED  # type: ignore[attr-defined]
    assert len(undo_car.calls) == 1 and not undo_hotel.calls
