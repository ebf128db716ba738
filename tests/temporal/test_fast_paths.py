"""The front-end's shortcuts give exactly what temporalio's own machinery would give."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from temporalio.converter import (
    DataConverter,
    DefaultPayloadConverter,
    JSONPlainPayloadConverter,
    JSONTypeConverter,
)

from pytest_durable.temporal._activity import _LoopEvent
from pytest_durable.temporal._convert import (
    SCALARS,
    is_plain,
    plain_args,
    to_payloads,
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
    event.set()
    await asyncio.wait_for(waiter, 5)
    thread.join(5)
    assert seen == [True] and event.is_set()


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
