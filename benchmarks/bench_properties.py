"""The property runner on the order saga: examples per second, against the 300/s target.

``check_workflow(OrderSaga.run, ...)`` draws fault plans over the saga's five activities (failed,
hung, lost, duplicated and slow attempts, up to three per plan, and a worker crash), and for each
one runs the saga in a fresh environment, replays its history and checks an invariant (every
completed forward step is compensated when the order fails). Generation, run, replay and
invariant are all inside the timed call. CPU time, best of N: the figure least disturbed by the
other processes of a shared machine.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from _harness import Row, Timing, main, measure, repeats
from hypothesis import given, settings

from examples.order_saga.workflows import (
    Order,
    OrderSaga,
    charge_payment,
    refund_payment,
    release_inventory,
    reserve_inventory,
    ship_order,
)
from pytest_durable import DurableEnvironment, FaultPlan
from pytest_durable.strategies import fault_plans
from pytest_durable.testing import assert_compensations, check_workflow

EXAMPLES = 200
ORDER = Order("o-1", "cus-1", "KB-1", 1, 4200, "1 Main St")
ACTIVITIES = [charge_payment, reserve_inventory, ship_order, refund_payment, release_inventory]
UNDO = {charge_payment: refund_payment, reserve_inventory: release_inventory}
PLANS = fault_plans(activities=ACTIVITIES, max_faults=3, crash_points=12)


def _base() -> DurableEnvironment:
    env = DurableEnvironment(start_time=datetime(2030, 1, 1, tzinfo=UTC))
    for fn, value in (
        (charge_payment, "ch_1"),
        (reserve_inventory, "res_1"),
        (ship_order, "TRK-1"),
        (refund_payment, None),
        (release_inventory, None),
    ):
        env.mock_activity(fn, returns=value)
    return env


def compensated(handle: Any) -> None:
    """A completed order compensated nothing; a failed one undid every step that completed."""
    if handle.status == "completed":
        assert handle.result().tracking_number == "TRK-1"
    else:
        assert_compensations(handle, UNDO)


def _check(env: DurableEnvironment) -> int:
    report = check_workflow(
        OrderSaga.run, [ORDER], plans=PLANS, invariant=compensated, env=env, max_examples=EXAMPLES
    )
    return report.plans


def _drawn() -> list[FaultPlan]:
    """The plans Hypothesis draws, drawn alone (an empty ``@given`` test over the strategy)."""
    plans: list[FaultPlan] = []

    @settings(max_examples=EXAMPLES, deadline=None, database=None)
    @given(plan=PLANS)
    def draw(plan: FaultPlan) -> None:
        plans.append(plan)

    draw()
    return plans


def _rate(name: str, examples: int, timing: Timing, detail: str) -> Row:
    return Row(
        benchmark=name,
        value=examples / timing.median,
        unit="examples/s",
        best=examples / timing.best,
        detail=detail,
    )


def collect(quick: bool) -> list[Row]:
    ran: list[int] = []
    timing = measure(
        lambda env: ran.append(_check(env)),
        setup=_base,
        teardown=DurableEnvironment.close,
        repeat=repeats(quick, 7),
        clock=time.process_time,
    )
    examples = min(ran)
    best = examples / timing.best
    median = examples / timing.median
    plans = _drawn()
    generation = measure(lambda _: _drawn(), repeat=repeats(quick, 7), clock=time.process_time)
    runs = measure(
        lambda env: check_workflow(
            OrderSaga.run, [ORDER], plans=plans, invariant=compensated, env=env
        ),
        setup=_base,
        teardown=DurableEnvironment.close,
        repeat=repeats(quick, 7),
        clock=time.process_time,
    )
    return [
        Row(
            benchmark=f"property runner on the order saga ({examples} examples of fault plans)",
            value=median,
            unit="examples/s",
            best=best,
            target="> 300 examples/s",
            ok=best > 300,
            detail=f"CPU time; generation, run, replay and invariant; {len(timing.runs)} "
            "repetitions, the target read on the best",
        ),
        _rate(
            "- of which: Hypothesis drawing the plans alone (an empty `@given` test)",
            len(plans),
            generation,
            "informational; CPU time",
        ),
        _rate(
            "- of which: the runs alone (the same plans as a list: run, replay, invariant)",
            len(plans),
            runs,
            "informational; CPU time",
        ),
    ]


if __name__ == "__main__":
    main(__doc__.splitlines()[0], collect)
