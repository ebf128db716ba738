"""Record the replay corpus: ``python tests/histories/record_corpus.py`` (then review and commit).

Each scenario runs a workflow of ``corpus_workflows`` with mock activities, on a fixed clock
and seed, and saves every run it produced (children and continued runs included) under
``corpus/``, named ``<scenario>--<workflow id>--<n>.json``. Together they hold every kind of
history event (``tests/plugin/test_recorded_histories.py`` checks that they still do).
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from corpus_workflows import (
    Dispatch,
    Fulfilment,
    Hold,
    Purchase,
    Subscription,
    Triage,
    charge,
    notify,
    reserve,
)

from pytest_durable import (
    HANG,
    ApplicationError,
    Delay,
    DurableEnvironment,
    WorkflowFailureError,
)

CORPUS = Path(__file__).parent / "corpus"
START = datetime(2030, 1, 1, tzinfo=UTC)


def order(env: DurableEnvironment) -> None:
    env.mock_activity(reserve, returns="res-1")
    env.mock_activity(charge, outcomes=[ConnectionError("gateway down"), "ch-1"])
    # The activity is called three times: declined, too slow (5 s timeout), never answers.
    env.mock_activity(
        notify,
        outcomes=[
            ApplicationError("declined", type="Declined"),
            Delay(timedelta(seconds=10), None),
            HANG,
        ],
    )
    handle = env.start(Purchase.run, "o-1", 12_500, id="order-1")
    env.sleep(timedelta(hours=3))
    handle.signal(Purchase.approve, "dana")
    handle.result()


def fulfilment(env: DurableEnvironment) -> None:
    env.run(Fulfilment.run, "o-2", id="fulfil-1")


def subscription(env: DurableEnvironment) -> None:
    env.mock_activity(charge, returns="ch-sub")
    env.run(Subscription.run, 1, 3, id="sub-1")


def hold(env: DurableEnvironment) -> None:
    env.mock_activity(notify, returns=None)
    handle = env.start(Hold.run, "seat 12A", id="hold-1")
    env.sleep(timedelta(days=1))
    handle.execute_update(Hold.extend, 30)
    env.sleep(timedelta(days=1))
    handle.cancel("changed plans")
    env.settle()


def dispatch(env: DurableEnvironment) -> None:
    handle = env.start(Dispatch.run, "crate", id="dispatch-1")
    env.sleep(timedelta(days=1))
    env.get_handle("dispatch-child").terminate("lost in transit", reason="operator")
    env.sleep(timedelta(days=1))
    handle.terminate(reason="order withdrawn")
    env.settle()


def triage(env: DurableEnvironment) -> None:
    env.run(
        Triage.run,
        "printer on fire",
        id="ticket-1",
        memo={"source": "email", "reporter": "dana"},
        search_attributes={"Priority": 3, "Queue": "it"},
    )


SCENARIOS: dict[str, Callable[[DurableEnvironment], None]] = {
    "order": order,
    "fulfilment": fulfilment,
    "subscription": subscription,
    "hold": hold,
    "dispatch": dispatch,
    "triage": triage,
}


def record(folder: Path = CORPUS) -> list[Path]:
    """Run every scenario and write its histories; returns the files written."""
    written = []
    for name, scenario in SCENARIOS.items():
        with DurableEnvironment(start_time=START, seed=0) as env:
            with contextlib.suppress(WorkflowFailureError):  # failed runs are corpus too
                scenario(env)
            counts: dict[str, int] = {}
            for history in env.histories():
                counts[history.workflow_id] = counts.get(history.workflow_id, 0) + 1
                path = folder / f"{name}--{history.workflow_id}--{counts[history.workflow_id]}.json"
                written.append(history.save(path))
    return written


if __name__ == "__main__":
    for path in record():
        print(path)
