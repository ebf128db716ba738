"""Payloads: dataclasses, pydantic models, enums, datetimes and more round-trip as JSON."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pydantic
import pytest

from pytest_durable import DurableEnvironment, History, activity, workflow
from pytest_durable.engine import events as ev
from pytest_durable.engine._payload import decode, encode

TIMEOUT = timedelta(seconds=10)


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"


class Priority(enum.IntEnum):
    LOW = 1
    HIGH = 2


@dataclass(frozen=True)
class Address:
    street: str
    city: str


@dataclass
class Order:
    id: str
    amount: float
    color: Color
    placed: dt.datetime
    ship_to: Address
    tags: list[str] = field(default_factory=list)
    priority: Priority = Priority.LOW
    gift: Address | None = None


class Customer(pydantic.BaseModel):
    name: str
    since: dt.date
    favourite: Color
    addresses: list[Address]


class Receipt(pydantic.BaseModel):
    order_id: str
    customer: Customer
    charged_at: dt.datetime
    took: dt.timedelta
    reference: uuid.UUID


PLACED = dt.datetime(2029, 12, 31, 23, 59, 59, 123456, tzinfo=dt.UTC)
ORDER = Order(
    id="o-1",
    amount=12.5,
    color=Color.GREEN,
    placed=PLACED,
    ship_to=Address("1 Main St", "Springfield"),
    tags=["fragile"],
    priority=Priority.HIGH,
    gift=Address("2 Side St", "Shelbyville"),
)
CUSTOMER = Customer(
    name="Dana",
    since=dt.date(2020, 2, 29),
    favourite=Color.RED,
    addresses=[Address("1 Main St", "Springfield")],
)

received: list[Any] = []


@activity.defn
async def bill(order: Order, customer: Customer) -> Receipt:
    received.append((order, customer))
    return Receipt(
        order_id=order.id,
        customer=customer,
        charged_at=PLACED + timedelta(minutes=1),
        took=timedelta(seconds=1, microseconds=250),
        reference=uuid.UUID(int=7),
    )


@activity.defn
def classify(colors: list[Color], counts: dict[str, Priority]) -> dict[str, Any]:
    received.append((colors, counts))
    return {"n": len(colors), "top": max(counts.values())}


@workflow.defn
class Shop:
    @workflow.run
    async def run(self, order: Order, customer: Customer) -> Receipt:
        assert isinstance(order, Order) and isinstance(order.ship_to, Address)
        assert isinstance(customer, Customer)
        receipt: Receipt = await workflow.execute_activity(
            bill, order, customer, start_to_close_timeout=TIMEOUT
        )
        assert isinstance(receipt, Receipt)
        assert isinstance(receipt.customer.addresses[0], Address)
        return receipt


def test_dataclasses_and_models_round_trip(env: DurableEnvironment) -> None:
    received.clear()
    handle = env.run(Shop, ORDER, CUSTOMER)
    receipt = handle.result()
    assert isinstance(receipt, Receipt)
    assert receipt == Receipt(
        order_id="o-1",
        customer=CUSTOMER,
        charged_at=PLACED + timedelta(minutes=1),
        took=timedelta(seconds=1, microseconds=250),
        reference=uuid.UUID(int=7),
    )
    ((order, customer),) = received
    assert order == ORDER  # every nested type restored: enums, datetimes, dataclasses
    assert type(order.color) is Color and type(order.priority) is Priority
    assert customer == CUSTOMER


def test_history_holds_plain_json(env: DurableEnvironment) -> None:
    handle = env.run(Shop, ORDER, CUSTOMER)
    started = handle.history.started
    assert started.input[0] == {
        "id": "o-1",
        "amount": 12.5,
        "color": "green",
        "placed": "2029-12-31T23:59:59.123456+00:00",
        "ship_to": {"street": "1 Main St", "city": "Springfield"},
        "tags": ["fragile"],
        "priority": 2,
        "gift": {"street": "2 Side St", "city": "Shelbyville"},
    }
    assert started.input[1]["since"] == "2020-02-29"
    completed = handle.history.of_kind(ev.ActivityTaskCompleted)[0]
    assert isinstance(completed, ev.ActivityTaskCompleted)
    assert completed.result["took"] in ("PT1.00025S", 1.00025)
    # The whole history survives its JSON document, and replays to the same typed values.
    assert History.from_json(handle.history.to_json()) == handle.history


def test_enums_in_collections_and_sync_activities(env: DurableEnvironment) -> None:
    received.clear()

    @workflow.defn
    class Classify:
        @workflow.run
        async def run(self) -> dict[str, Any]:
            result: dict[str, Any] = await workflow.execute_activity(
                classify,
                [Color.RED, Color.GREEN],
                {"a": Priority.LOW, "b": Priority.HIGH},
                start_to_close_timeout=TIMEOUT,
            )
            return result

    assert env.run(Classify).result() == {"n": 2, "top": 2}
    ((colors, counts),) = received
    assert colors == [Color.RED, Color.GREEN]
    assert all(type(c) is Color for c in colors)
    assert counts == {"a": Priority.LOW, "b": Priority.HIGH}
    assert all(type(p) is Priority for p in counts.values())


def test_optional_fields_and_defaults(env: DurableEnvironment) -> None:
    received.clear()
    plain = Order(
        id="o-2",
        amount=3,  # an int where a float is declared
        color=Color.RED,
        placed=PLACED,
        ship_to=Address("x", "y"),
    )
    env.run(Shop, plain, CUSTOMER).result()
    ((order, _),) = received
    assert order == plain
    assert order.gift is None
    assert isinstance(order.amount, float)


# --- the codec itself ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "hint"),
    [
        (dt.datetime(2030, 1, 1, 12, 0, tzinfo=dt.UTC), dt.datetime),
        (dt.datetime(2030, 1, 1, 12, 0, 0, 1), dt.datetime),
        (dt.date(2030, 1, 1), dt.date),
        (dt.time(13, 14, 15, 16), dt.time),
        (timedelta(days=3, microseconds=7), timedelta),
        (uuid.UUID(int=99), uuid.UUID),
        ((1, "a"), tuple[int, str]),
        ((1, 2, 3), tuple[int, ...]),
        ({3, 1, 2}, set[int]),
        (frozenset({"b", "a"}), frozenset[str]),
        ({Color.RED: 1, Color.GREEN: 2}, dict[Color, int]),
        ({"k": [Address("a", "b")]}, dict[str, list[Address]]),
        ([Priority.HIGH, None], list[Priority | None]),
        (Address("a", "b"), Address | None),
        (None, Address | None),
        (CUSTOMER, Customer),
        ([[1.5]], list[list[float]]),
    ],
)
def test_encode_decode_round_trip(value: Any, hint: Any) -> None:
    encoded = encode(value, where="value")
    assert encode(encoded, where="again") == encoded  # plain JSON from here on
    decoded = decode(encoded, hint)
    assert decoded == value
    assert type(decoded) is type(value)


def test_sets_encode_in_a_stable_order() -> None:
    assert encode({3, 1, 2}, where="s") == [1, 2, 3]
    assert encode({"b", "a"}, where="s") == ["a", "b"]


def test_untyped_values_pass_through() -> None:
    assert decode({"a": [1, 2]}, None) == {"a": [1, 2]}
    assert decode({"a": [1, 2]}, Any) == {"a": [1, 2]}


def test_types_local_to_a_test_function_decode(env: DurableEnvironment) -> None:
    # Workflows and their payload types are often defined right in the test.
    @dataclass
    class Part:
        sku: str
        shade: Color

    @dataclass
    class Box:
        parts: list[Part]
        sealed: dt.datetime

    seen: list[Any] = []

    @activity.defn
    async def pack(box: Box) -> Box:
        seen.append(box)
        return box

    @workflow.defn
    class Packing:
        @workflow.run
        async def run(self, box: Box) -> Box:
            seen.append(box)
            packed: Box = await workflow.execute_activity(pack, box, start_to_close_timeout=TIMEOUT)
            seen.append(packed)
            return packed

    box = Box(parts=[Part("p-1", Color.RED)], sealed=PLACED)
    assert env.run(Packing, box).result() == box
    assert seen == [box, box, box]
    assert all(type(b) is Box and type(b.parts[0]) is Part for b in seen)


def test_one_unresolvable_annotation_does_not_hide_the_others(env: DurableEnvironment) -> None:
    seen: list[Any] = []

    @activity.defn
    async def mixed(address: Address, mystery: NoSuchType) -> None:  # type: ignore[name-defined]  # noqa: F821
        seen.append((address, mystery))

    @workflow.defn
    class Mixed:
        @workflow.run
        async def run(self) -> None:
            await workflow.execute_activity(
                mixed, Address("a", "b"), {"x": 1}, start_to_close_timeout=TIMEOUT
            )

    env.run(Mixed).result()
    assert seen == [(Address("a", "b"), {"x": 1})]  # the known hint decodes, the other is left
