"""Our history's JSON values and failures convert to temporalio's protobufs and back, losslessly."""

from __future__ import annotations

from typing import Any

import pytest
from temporalio.api.common.v1 import Payload
from temporalio.converter import DataConverter

from pytest_durable.temporal._convert import (
    RAW_PAYLOAD,
    from_failure,
    payloads_message,
    to_failure,
    to_payload,
    to_value,
)


@pytest.mark.parametrize(
    "value", [None, 0, 1.5, "text", [1, "two", None], {"b": 1, "a": [True, False]}]
)
def test_json_values_round_trip(value: Any) -> None:
    assert to_value(to_payload(value)) == value


def test_temporalios_payloads_of_json_values_read_as_the_value() -> None:
    converter = DataConverter.default.payload_converter
    (payload,) = converter.to_payloads([{"order_id": "o-1", "amount": 3}])
    assert to_value(payload) == {"order_id": "o-1", "amount": 3}
    assert converter.from_payloads([to_payload(to_value(payload))]) == [
        {"order_id": "o-1", "amount": 3}
    ]


def test_a_payload_that_is_not_json_is_kept_verbatim() -> None:
    converter = DataConverter.default.payload_converter
    (payload,) = converter.to_payloads([b"\x00\xffraw"])
    value = to_value(payload)
    assert set(value) == {RAW_PAYLOAD}
    assert to_payload(value) == payload
    assert converter.from_payloads([to_payload(value)]) == [b"\x00\xffraw"]


def test_a_json_payload_with_extra_metadata_is_kept_verbatim() -> None:
    payload = Payload(metadata={"encoding": b"json/plain", "codec": b"x"}, data=b"1")
    assert to_payload(to_value(payload)) == payload


FAILURES: list[dict[str, Any]] = [
    {
        "class": "ApplicationError",
        "message": "boom",
        "type": "Boom",
        "non_retryable": True,
        "details": [1, {"k": "v"}],
        "next_retry_delay_ns": 3_000_000_000,
    },
    {
        "class": "ApplicationError",
        "message": "untyped",
        "type": None,
        "non_retryable": False,
        "details": [],
    },
    {
        "class": "TimeoutError",
        "message": "activity StartToClose timeout",
        "timeout_type": "START_TO_CLOSE",
        "last_heartbeat_details": [7],
    },
    {"class": "CancelledError", "message": "cancelled", "details": ["why"]},
    {"class": "TerminatedError", "message": "terminated"},
    {
        "class": "ActivityError",
        "message": "Activity task failed",
        "activity_type": "charge",
        "activity_id": "1",
        "scheduled_event_id": 5,
        "retry_state": "MAXIMUM_ATTEMPTS_REACHED",
        "cause": {
            "class": "ApplicationError",
            "message": "down",
            "type": "ConnectionError",
            "non_retryable": False,
            "details": [],
        },
    },
    {
        "class": "ChildWorkflowError",
        "message": "Child Workflow execution failed",
        "workflow_type": "Child",
        "workflow_id": "child-1",
        "run_id": "r1",
        "retry_state": "NON_RETRYABLE_FAILURE",
        "cause": {
            "class": "TimeoutError",
            "message": "t",
            "timeout_type": None,
            "last_heartbeat_details": [],
        },
    },
]


@pytest.mark.parametrize("failure", FAILURES, ids=lambda f: str(f["class"]))
def test_failures_round_trip(failure: dict[str, Any]) -> None:
    assert from_failure(to_failure(failure)) == failure


def test_failures_become_temporalios_exceptions_with_their_fields() -> None:
    converter = DataConverter.default
    error = converter.failure_converter.from_failure(
        to_failure(FAILURES[5]), converter.payload_converter
    )
    assert type(error).__name__ == "ActivityError"
    assert error.cause is not None and type(error.cause).__name__ == "ApplicationError"


def test_an_unknown_failure_class_becomes_an_application_error_of_that_type() -> None:
    data = from_failure(to_failure({"class": "SomethingElse", "message": "m"}))
    assert (data["class"], data["type"]) == ("ApplicationError", "SomethingElse")


def test_payloads_message_holds_each_value() -> None:
    message = payloads_message([1, "a"])
    assert [to_value(p) for p in message.payloads] == [1, "a"]
