"""Replay-every-task mode (``replay_every_task=True``): a daily timer for half a year, a year and
two years.

Times ``env.run(workflow)`` plus ``.result()`` on a fresh environment (created untimed) with
``replay_every_task=True``, the mode ``--durable-replay-every-task`` turns on. Replaying the
whole history before every task made the mode quadratic in the history's length; it now
replays before tasks 1, 2, 4, 8... and once at the close, so the cost grows with the history:
doubling the days should about double the time, not quadruple it.
"""

from __future__ import annotations

from _harness import Row, main, measure, repeats, timing_row
from _workflows import SequentialTimers

from pytest_durable import DurableEnvironment

DAY = 86_400.0


def _replaying() -> DurableEnvironment:
    return DurableEnvironment(replay_every_task=True)


def _timed(days: int, *, repeat: int):
    def body(env: DurableEnvironment) -> None:
        assert env.run(SequentialTimers.run, days, DAY).result() == days

    return measure(body, setup=_replaying, teardown=DurableEnvironment.close, repeat=repeat)


def collect(quick: bool) -> list[Row]:
    rows = []
    for days, reference in ((180, "1.6 s"), (365, "6.8 s"), (730, "26 s")):
        rows.append(
            timing_row(
                f"replay every task: a daily timer for {days} days",
                _timed(days, repeat=repeats(quick, 5)),
                target_s=days / 365,
                reference=f"{reference} when every task replayed the whole history",
            )
        )
    return rows


if __name__ == "__main__":
    main(__doc__.splitlines()[0], collect)
