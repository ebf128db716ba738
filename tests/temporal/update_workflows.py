"""Temporal SDK workflows with updates, written as Temporal users write them."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.exceptions import ApplicationError


@dataclass
class Item:
    sku: str
    quantity: int


@dataclass
class Receipt:
    lines: list[str] = field(default_factory=list)
    total: int = 0


@activity.defn
async def price_of(sku: str) -> int:
    return {"apple": 3, "pear": 5}.get(sku, 100)


@workflow.defn
class Cart:
    """Items are added by update (validated, priced by an activity); checkout is a signal."""

    @workflow.init
    def __init__(self, owner: str) -> None:
        self.owner = owner
        self.receipt = Receipt()
        self.checked_out = False

    @workflow.run
    async def run(self, owner: str) -> Receipt:
        await workflow.wait_condition(lambda: self.checked_out and workflow.all_handlers_finished())
        return self.receipt

    @workflow.update
    async def add(self, item: Item) -> int:
        price = await workflow.execute_activity(
            price_of, item.sku, start_to_close_timeout=timedelta(seconds=5)
        )
        if price >= 100:
            raise ApplicationError(f"{item.sku} is not sold here", item.sku, type="NotSold")
        await workflow.sleep(timedelta(minutes=1))  # the handler is still running a minute
        self.receipt.lines.append(f"{self.owner}: {item.quantity} x {item.sku}")
        self.receipt.total += price * item.quantity
        return self.receipt.total

    @add.validator
    def validate_add(self, item: Item) -> None:
        if item.quantity <= 0:
            raise ValueError(f"quantity must be positive, got {item.quantity}")
        if self.checked_out:
            raise ApplicationError("the cart is checked out", type="CheckedOut")

    @workflow.update
    def total(self) -> int:
        return self.receipt.total

    @workflow.signal
    def checkout(self) -> None:
        self.checked_out = True

    @workflow.query
    def lines(self) -> list[str]:
        return list(self.receipt.lines)


@workflow.defn
class Impatient:
    """Completes without waiting for its update handlers."""

    def __init__(self) -> None:
        self.go = False

    @workflow.run
    async def run(self) -> str:
        await workflow.wait_condition(lambda: self.go)
        return "done"

    @workflow.update(unfinished_policy=workflow.HandlerUnfinishedPolicy.ABANDON)
    async def slow(self) -> str:
        self.go = True
        await asyncio.sleep(3600)
        return "never"


@workflow.defn
class Buggy:
    """An update handler with a bug (not a Temporal failure)."""

    @workflow.run
    async def run(self) -> None:
        await workflow.wait_condition(lambda: False)

    @workflow.update
    def broken(self) -> None:
        raise KeyError("no such thing")
