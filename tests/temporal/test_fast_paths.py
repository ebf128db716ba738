"""The front-end's shortcuts give exactly what temporalio's own machinery would give."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import threading
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.api.common.v1 import RetryPolicy as ProtoRetryPolicy
from temporalio.common import RetryPolicy
from temporalio.converter import (
    DataConverter,
    DefaultPayloadConverter,
    JSONPlainPayloadConverter,
    JSONTypeConverter,
)

from pytest_durable.temporal._activity import _LoopEvent
from pytest_durable.temporal._convert import (
    SCALARS,
    fill_payload,
    is_plain,
    plain_args,
    retry_policy,
    to_payload,
    to_payloads,
    to_value,
    to_values,
)

DEFAULT = DataConverter.default.payload_converter

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(),
)
hints = st.sampled_from([None, Any, int, float, str, bool, type(None), list[int], int | None])


@given(st.lists(st.tuples(scalars, hints), max_size=4))
def test_plain_args_are_what_the_default_converter_decodes(pairs: list[tuple[Any, Any]]) -> None:
    values = [value for value, _ in pairs]
    types = [hint for _, hint in pairs]
    fast = plain_args(values, types)
    if fast is None:
        return  # the converter is asked: nothing to compare
    slow = DEFAULT.from_payloads(to_payloads(values), types)
    assert fast == slow
    assert [type(v) for v in fast] == [type(v) for v in slow]


@given(scalars)
def test_scalars_are_their_own_payloads_round_trip(value: Any) -> None:
    assert type(value) in SCALARS
    (back,) = to_values(DEFAULT.to_payloads([value]))
    assert back == value and type(back) is type(value)


def test_a_hint_that_would_convert_the_value_sends_it_to_the_converter() -> None:
    assert plain_args([1, "a"], [int, str]) == [1, "a"]
    assert plain_args([1], [float]) is None  # value_to_type makes it 1.0
    assert plain_args([True], [int]) is None  # and this 1
    assert plain_args([None], [int | None]) is None
    assert plain_args([[1]], None) is None  # a list is the activity's own copy
    assert plain_args([1], [int, str]) is None  # a missing argument: temporalio says what
    assert plain_args([1, "b"], [int]) == [1, "b"]  # no hint for the rest


def test_only_temporalios_default_payload_converter_as_it_comes_is_plain() -> None:
    assert is_plain(DEFAULT)
    assert is_plain(DefaultPayloadConverter())

    class Custom(DefaultPayloadConverter):
        pass

    assert not is_plain(Custom())
    assert not is_plain(DataConverter(payload_converter_class=Custom).payload_converter)

    class Never(JSONTypeConverter):
        def to_typed_value(self, hint: type, value: Any) -> Any:
            return JSONTypeConverter.Unhandled

    with_types = DefaultPayloadConverter()
    with_types._set_converters(
        *list(with_types.converters.values())[:-1],
        JSONPlainPayloadConverter(custom_type_converters=[Never()]),
    )
    assert not is_plain(with_types)
    reordered = DefaultPayloadConverter()
    reordered._set_converters(*reversed(list(reordered.converters.values())))
    assert not is_plain(reordered)


@dataclasses.dataclass
class _Box:
    n: int


def test_a_dataclass_argument_is_decoded_by_the_converter() -> None:
    assert plain_args([{"n": 1}], [_Box]) is None


def test_a_loop_event_waits_on_the_loop_and_in_threads() -> None:
    asyncio.run(_waits_on_the_loop_and_in_threads())


async def _waits_on_the_loop_and_in_threads() -> None:
    event = _LoopEvent()
    assert not event.is_set()
    waiter = asyncio.ensure_future(event.wait())
    seen: list[bool] = []
    thread = threading.Thread(target=lambda: (event.wait_sync(5), seen.append(event.is_set())))
    thread.start()
    await asyncio.sleep(0)
    while event.thread_event is None:  # the thread made its event and waits on it
        await asyncio.sleep(0.001)
    second = asyncio.ensure_future(event.wait())  # a second waiter shares the first's event
    await asyncio.sleep(0)
    event.set()
    await asyncio.wait_for(asyncio.gather(waiter, second), 5)
    thread.join(5)
    assert seen == [True] and event.is_set()
    event.wait_sync(5)  # a later waiter in a thread sees the event set


def test_a_loop_event_set_before_anyone_waits_is_seen_by_later_waiters() -> None:
    event = _LoopEvent()
    event.set()
    asyncio.run(asyncio.wait_for(event.wait(), 5))
    event.wait_sync(0)
    assert event.thread_event is not None and event.thread_event.is_set()


def test_a_loop_event_wait_sync_times_out_while_unset() -> None:
    event = _LoopEvent()
    event.wait_sync(0.001)
    assert not event.is_set()


@pytest.mark.parametrize("value", [0, -3, 2.5, "x", True, None])
def test_the_scalar_types_are_exact(value: Any) -> None:
    assert type(value) in SCALARS


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)


@given(json_values)
def test_payloads_are_written_and_read_as_json_dumps_and_loads_do(value: Any) -> None:
    payload = to_payload(value)
    if value is None:
        assert payload == Payload(metadata={"encoding": b"binary/null"})
        return
    expected = json.dumps(value, separators=(",", ":"), sort_keys=True).encode()
    assert payload.data == expected
    assert dict(payload.metadata) == {"encoding": b"json/plain"}
    assert to_value(payload) == json.loads(expected)


@pytest.mark.parametrize("data", [b"0", b"7", b"123456789012345678901234567890", b"-4", b"1.5"])
def test_numbers_read_as_json_reads_them(data: bytes) -> None:
    value = to_value(Payload(metadata={"encoding": b"json/plain"}, data=data))
    assert value == json.loads(data) and type(value) is type(json.loads(data))


def test_a_number_with_a_leading_zero_is_invalid_json_as_before() -> None:
    with pytest.raises(json.JSONDecodeError):
        to_value(Payload(metadata={"encoding": b"json/plain"}, data=b"07"))


def test_a_field_filled_in_place_equals_the_payload_copied_in() -> None:
    raw = to_value(Payload(metadata={"encoding": b"binary/custom", "k": b"v"}, data=b"\x00"))
    for value in (None, 3, "é", [1, {"a": None}], raw):
        filled = Payloads()
        fill_payload(filled.payloads.add(), value)
        assert filled.payloads[0] == to_payload(value)


def _proto(policy: RetryPolicy) -> ProtoRetryPolicy:
    proto = ProtoRetryPolicy()
    policy.apply_to_proto(proto)
    return proto


def test_the_same_retry_policy_message_gives_the_same_policy() -> None:
    first = _proto(RetryPolicy(initial_interval=timedelta(seconds=2), maximum_attempts=3))
    policy = retry_policy(first, True)
    assert policy is retry_policy(_proto(RetryPolicy.from_proto(first)), True)
    assert policy is not None and policy.maximum_attempts == 3
    assert policy.initial_interval == timedelta(seconds=2)
    assert retry_policy(first, False) is None
    # Many distinct policies do not grow the cache without bound; each stays right.
    for attempts in range(1, 300):
        other = retry_policy(_proto(RetryPolicy(maximum_attempts=attempts)), True)
        assert other is not None and other.maximum_attempts == attempts
    again = retry_policy(first, True)
    assert again == policy
