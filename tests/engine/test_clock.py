"""The clocks and the host loop, driven directly (no environment around them)."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
from collections.abc import Iterator
from datetime import timedelta

import pytest

from pytest_durable import activity, workflow
from pytest_durable.engine import Engine, LoopIdle, RealClock, VirtualClock, VirtualTimeLoop
from pytest_durable.engine._definitions import activity_definition, workflow_definition
from pytest_durable.engine._payload import decode

S = 1_000_000_000
START = 1_000 * S


def test_virtual_timers_fire_in_time_order_then_in_creation_order() -> None:
    clock = VirtualClock(START)
    fired: list[str] = []
    loop = clock.new_event_loop()  # the host loop owns the timers; the clock tells the time
    try:
        clock.call_at(loop, START + 2 * S, fired.append, "b")
        clock.call_at(loop, START + 1 * S, fired.append, "a1")
        cancelled = clock.call_at(loop, START + 1 * S, fired.append, "gone")
        clock.call_at(loop, START + 1 * S, fired.append, "a2")
        cancelled.cancel()
        assert clock.pending_timers == 3
        assert clock.next_due_ns() == START + S
        clock.fire_due()
        assert fired == []  # nothing is due before time moves
        clock.advance_to(START + S)
        clock.fire_due()
        assert fired == ["a1", "a2"]
        assert clock.next_due_ns() == START + 2 * S
        clock.advance_to(START + 5 * S)
        clock.fire_due()
        assert fired == ["a1", "a2", "b"]
        assert clock.next_due_ns() is None and clock.pending_timers == 0
    finally:
        loop.close()


def test_virtual_time_never_moves_backwards_and_tells_its_observers() -> None:
    clock = VirtualClock(START)
    moves: list[int] = []
    clock.on_advance.append(moves.append)
    clock.advance_to(START + 3)
    clock.advance_to(START + 1)  # ignored
    clock.advance_to(START + 3)  # no move, no notice
    assert clock.now_ns() == START + 3
    assert moves == [START + 3]


@pytest.fixture
def loop() -> Iterator[VirtualTimeLoop]:
    loop = VirtualClock(START).new_event_loop()
    yield loop
    loop.close()


def test_the_host_loop_jumps_over_sleeps_and_interleaves_both_kinds_of_timer(
    loop: VirtualTimeLoop,
) -> None:
    clock = loop.clock
    order: list[tuple[str, float]] = []
    clock.call_at(loop, START + 90 * S, lambda: order.append(("clock", loop.time())))

    async def sleeper() -> None:
        await asyncio.sleep(60)
        order.append(("asyncio", loop.time()))
        await asyncio.sleep(3600)
        order.append(("asyncio", loop.time()))

    loop.run_until_complete(sleeper())
    assert order == [("asyncio", 60.0), ("clock", 90.0), ("asyncio", 3660.0)]
    assert clock.now_ns() == START + 3660 * S


def test_the_host_loop_refuses_to_jump_past_its_limits(loop: VirtualTimeLoop) -> None:
    clock = loop.clock
    clock.call_at(loop, START + 10 * S, lambda: None)
    loop.jump_limit_ns = START + 4 * S
    with pytest.raises(LoopIdle) as idle:
        loop.run_until_complete(asyncio.sleep(100))
    assert not idle.value.blocked_forever
    assert clock.now_ns() == START + 4 * S  # jumped up to the limit, no further
    loop.jump_limit_ns = None
    loop.time_bound_ns = START + 5 * S
    with pytest.raises(LoopIdle) as bounded:
        loop.run_until_complete(asyncio.sleep(100))
    assert bounded.value.bound_reached


def test_the_host_loop_reports_when_nothing_could_ever_wake_it(loop: VirtualTimeLoop) -> None:
    future = loop.create_future()
    with pytest.raises(LoopIdle) as idle:
        loop.run_until_complete(future)
    assert idle.value.blocked_forever


def test_a_settling_loop_stops_as_soon_as_it_would_wait(loop: VirtualTimeLoop) -> None:
    loop.settling = True
    ran: list[str] = []
    loop.call_soon(ran.append, "now")
    with pytest.raises(LoopIdle):
        loop.run_until_complete(asyncio.sleep(1))
    assert ran == ["now"]
    assert loop.clock.now_ns() == START


@activity.defn
async def greet(name: str) -> str:
    await asyncio.sleep(0.01)
    return f"hello {name}"


@workflow.defn
class RealTime:
    @workflow.run
    async def run(self, name: str) -> str:
        await workflow.sleep(timedelta(milliseconds=20))
        return await workflow.execute_activity(
            greet, name, start_to_close_timeout=timedelta(seconds=5)
        )


def test_a_workflow_runs_on_the_real_clock_with_an_ordinary_event_loop() -> None:
    clock = RealClock()
    loop = clock.new_event_loop()
    try:
        assert type(loop) is not VirtualTimeLoop
        definition = workflow_definition(RealTime)
        greeting = activity_definition(greet)
        assert definition is not None and greeting is not None
        engine = Engine(
            clock=clock,
            loop=loop,
            workflows={definition.name: definition},
            activities={greeting.name: greeting},
        )
        before = clock.now_ns()
        execution = engine.start_workflow(definition, ["real"], workflow_id="real")
        loop.run_until_complete(asyncio.wait_for(execution.done, timeout=30))
        run = execution.current
        assert run.status == "completed"
        assert decode(run.result, str) == "hello real"
        history = engine.history(run)
        fired = next(e for e in history if e.kind == "TimerFired")
        started = next(e for e in history if e.kind == "TimerStarted")
        # Real time passed: the timer fired no earlier than it was due.
        assert fired.time_ns - started.time_ns >= 20_000_000
        assert history[0].time_ns >= before
        engine.close()
    finally:
        loop.close()


def _open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


needs_proc = pytest.mark.skipif(
    not os.path.isdir("/proc/self/fd"), reason="counts descriptors in /proc/self/fd (Linux)"
)


@needs_proc
def test_the_host_loop_opens_descriptors_only_once_it_may_wait_for_real() -> None:
    before = _open_descriptors()
    loop = VirtualClock(START).new_event_loop()
    try:
        # Virtual waits need no selector and no self-pipe: none is opened for them.
        loop.run_until_complete(asyncio.sleep(60))
        assert _open_descriptors() == before
        assert not loop.real_work_in_flight()
        # A thread hands its result back through the self-pipe, which a waiting loop watches.
        assert loop.run_until_complete(asyncio.to_thread(sum, [1, 2])) == 3
        assert _open_descriptors() == before + 3  # the selector and the pipe's two ends
        assert not loop.real_work_in_flight()  # the loop's own pipe is not real work
        loop.run_until_complete(asyncio.sleep(60))
        assert loop.clock.now_ns() == START + 120 * S  # and time still jumps
        # A descriptor watched for reading, then for writing too, then for neither.
        ours, theirs = socket.socketpair()
        with ours, theirs:
            loop.add_reader(ours, print)
            loop.add_writer(ours, print)
            assert len(loop._selector.get_map()) == 2  # the pipe and the socket
            assert loop.remove_writer(ours) and loop.remove_reader(ours)
            assert len(loop._selector.get_map()) == 1
    finally:
        loop.close()
    assert _open_descriptors() == before


@needs_proc
def test_a_closed_host_loop_opens_nothing_and_one_never_used_closes_cleanly() -> None:
    before = _open_descriptors()
    unused = VirtualClock(START).new_event_loop()
    unused.close()
    unused.close()  # closing twice is harmless, as for any asyncio loop
    with pytest.raises(RuntimeError, match="closed"):
        unused.run_in_executor(None, sum, [1])
    assert _open_descriptors() == before
    loop = VirtualClock(START).new_event_loop()
    try:
        # Nothing was ever watched: the selector answers as an empty one would.
        assert len(loop._selector.get_map()) == 0
        with pytest.raises(KeyError):
            loop._selector.unregister(0)
        with pytest.raises(KeyError):
            loop._selector.modify(0, 1)
        assert loop.remove_reader(0) is False
    finally:
        loop.close()


def test_a_signal_handler_on_the_host_loop_gets_the_self_pipe_it_wakes_through() -> None:
    loop = VirtualClock(START).new_event_loop()
    caught: list[str] = []
    try:
        loop.add_signal_handler(signal.SIGUSR1, caught.append, "usr1")
        signal.raise_signal(signal.SIGUSR1)
        loop.run_until_complete(asyncio.sleep(0))
        assert caught == ["usr1"]
        assert loop.remove_signal_handler(signal.SIGUSR1)
    finally:
        loop.close()
