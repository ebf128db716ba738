"""Replay: ``Replayer(workflows=[W]).replay(history)`` of 1,000- and 10,000-activity histories.

The histories are recorded once in a test environment (mocked activity), then replayed
repeatedly. Reported as events per second (history length / median wall time) and, for
linearity, as the ratio of the 10x longer replay's CPU time to the short one's (best of
interleaved runs; 10x or less is linear), with the per-event cost of a 50,000-activity replay
as a third point. Loading the same history from its JSON document (golden-file path) and
writing it are reported separately.
"""

from __future__ import annotations

import time

from _harness import Row, Timing, main, measure, repeats, timing_row
from _workflows import SequentialActivities, step

from pytest_durable import DurableEnvironment, History, Replayer

TEMPORAL = "2,700-5,600 events/s"


def record(n: int) -> History:
    # 50,000 activities make a 200,003-event history, past the default runaway bound.
    env = DurableEnvironment(max_history_events=None)
    env.mock_activity(step, returns=1)
    try:
        return env.run(SequentialActivities.run, n).history
    finally:
        env.close()


def collect(quick: bool) -> list[Row]:
    replayer = Replayer(workflows=[SequentialActivities])
    short, long = record(1000), record(10_000)

    def replay(history: History) -> None:
        result = replayer.replay(history)
        assert not result.divergences

    t_short = measure(lambda _: replay(short), repeat=repeats(quick, 15))
    t_long = measure(lambda _: replay(long), repeat=repeats(quick, 7, 2))
    # Linearity compares CPU time (less disturbed by other processes than wall time), short
    # and long interleaved so that both see the same conditions; best over best.
    cpu_short, cpu_long = Timing([]), Timing([])
    for _ in range(repeats(quick, 7, 2)):
        for timing, history in ((cpu_short, short), (cpu_long, long)):
            timing.runs.extend(
                measure(lambda _, h=history: replay(h), repeat=1, clock=time.process_time).runs
            )
    doc = short.to_json()
    t_json = measure(lambda _: replayer.replay(History.from_json(doc)), repeat=repeats(quick, 9))
    t_dump = measure(lambda _: short.to_json(), repeat=repeats(quick, 9))
    rate_short = len(short) / t_short.median
    rate_long = len(long) / t_long.median
    ratio = cpu_long.best / cpu_short.best
    per_event = (cpu_short.best / len(short) * 1e9, cpu_long.best / len(long) * 1e9)
    rows = []
    if not quick:
        # A third size: the per-event cost should stay flat if replay is linear.
        huge = record(50_000)
        cpu_huge = measure(lambda _: replay(huge), repeat=3, clock=time.process_time)
        rows.append(
            Row(
                benchmark=f"replay per-event CPU cost, 50,000 activities ({len(huge):,} events)",
                value=cpu_huge.best / len(huge) * 1e9,
                unit="ns",
                detail=f"informational; vs {per_event[0]:,.0f} ns at 1,000 and "
                f"{per_event[1]:,.0f} ns at 10,000 activities (CPU time, best of 3)",
            )
        )
    return [
        Row(
            benchmark=f"replay, 1,000 activities ({len(short):,} events)",
            value=rate_short,
            unit="events/s",
            best=len(short) / t_short.best,
            target="> 100,000 events/s",
            ok=rate_short > 100_000,
            reference=TEMPORAL,
            detail=f"{t_short.median * 1e3:.1f} ms per replay; median of {len(t_short.runs)}",
        ),
        Row(
            benchmark=f"replay, 10,000 activities ({len(long):,} events)",
            value=rate_long,
            unit="events/s",
            best=len(long) / t_long.best,
            target="> 100,000 events/s",
            ok=rate_long > 100_000,
            reference=TEMPORAL,
            detail=f"{t_long.median * 1e3:.0f} ms per replay; median of {len(t_long.runs)}",
        ),
        Row(
            benchmark="replay linearity: time(10x history) / time(1x)",
            value=ratio,
            unit="x",
            target="<= 10x",
            ok=ratio <= 10.0,
            detail=f"CPU time, best over best, for {len(long) / len(short):.2f}x the events: "
            f"{per_event[0]:,.0f} vs {per_event[1]:,.0f} ns per event",
        ),
        timing_row(
            f"`History.from_json` + replay, 1,000 activities ({len(doc) // 1024} KiB)",
            t_json,
            unit="ms",
            detail=f"informational; {len(short) / t_json.median:,.0f} events/s",
        ),
        timing_row(
            "`History.to_json`, 1,000 activities",
            t_dump,
            unit="ms",
            detail=f"informational; {len(short) / t_dump.median:,.0f} events/s",
        ),
        *rows,
    ]


if __name__ == "__main__":
    main(__doc__.splitlines()[0], collect)
