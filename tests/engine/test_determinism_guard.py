"""The determinism guard: workflow code's clock, randomness, uuid, thread and I/O calls fail at
the call, naming it, its line and the alternative; activities, the test's code, libraries and
asyncio are untouched; the off-switches work; replay-every-task and crashes are guarded too."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import email.utils
import linecache
import logging
import os
import random
import secrets
import socket
import subprocess
import sys
import threading
import time
import traceback
import uuid
import zoneinfo
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from socket import socket as imported_socket
from types import SimpleNamespace
from typing import Any
from uuid import uuid4 as imported_uuid4

import pytest

from pytest_durable import (
    DurableEnvironment,
    NondeterminismError,
    NondeterministicCallError,
    Replayer,
    WorkflowFailureError,
    activity,
    workflow,
)
from pytest_durable import _guard as guard
from pytest_durable import _guard_checks as checks
from pytest_durable import _guard_datetime as guard_datetime

HERE = os.path.relpath(__file__)

# These tests call datetime.utcnow() on purpose; Python 3.12 deprecates it, and the suite turns
# warnings into errors.
pytestmark = pytest.mark.filterwarnings(
    "ignore:datetime.datetime.utcnow\\(\\) is deprecated:DeprecationWarning"
)


def _where(fn: Callable[..., Any]) -> str:
    """Where the one-line body of ``fn`` is, as the guard names it."""
    return f"{HERE}:{fn.__code__.co_firstlineno + 1} in {fn.__name__}"


# --- what workflow code may not call: one function per call, the call on its body's line ------


def _time_time() -> object:
    return time.time()


def _time_time_ns() -> object:
    return time.time_ns()


def _time_monotonic() -> object:
    return time.monotonic()


def _time_monotonic_ns() -> object:
    return time.monotonic_ns()


def _time_perf_counter() -> object:
    return time.perf_counter()


def _time_sleep() -> object:
    return time.sleep(0)


def _datetime_now() -> object:
    return datetime.now(dt.UTC)


def _datetime_utcnow() -> object:
    return dt.datetime.utcnow()


def _date_today() -> object:
    return date.today()


def _datetime_today() -> object:
    return datetime.today()


def _random_random() -> object:
    return random.random()


def _random_randint() -> object:
    return random.randint(1, 6)


def _random_choice() -> object:
    return random.choice("abc")


def _random_shuffle() -> object:
    return random.shuffle([1, 2, 3])


def _unseeded_random() -> object:
    return random.Random().random()


def _system_random() -> object:
    return random.SystemRandom()


def _uuid_uuid1() -> object:
    return uuid.uuid1()


def _uuid_uuid4() -> object:
    return uuid.uuid4()


def _imported_uuid4() -> object:
    return imported_uuid4()  # bound by `from uuid import uuid4` at this module's import


def _os_urandom() -> object:
    return os.urandom(4)


def _secrets_token_hex() -> object:
    return secrets.token_hex(4)


def _secrets_choice() -> object:
    return secrets.choice("abc")


CLOCK = "use workflow.now()"
RANDOM = "use workflow.random()"

CALLS: dict[str, tuple[Callable[[], object], str, str]] = {
    "time.time": (_time_time, "time.time()", CLOCK),
    "time.time_ns": (_time_time_ns, "time.time_ns()", CLOCK),
    "time.monotonic": (_time_monotonic, "time.monotonic()", CLOCK),
    "time.monotonic_ns": (_time_monotonic_ns, "time.monotonic_ns()", CLOCK),
    "time.perf_counter": (_time_perf_counter, "time.perf_counter()", CLOCK),
    "time.sleep": (_time_sleep, "time.sleep()", "use await workflow.sleep(...)"),
    "datetime.now": (_datetime_now, "datetime.now()", CLOCK),
    "datetime.utcnow": (_datetime_utcnow, "datetime.utcnow()", CLOCK),
    "date.today": (_date_today, "date.today()", "use workflow.now().date()"),
    "datetime.today": (_datetime_today, "date.today()", "use workflow.now().date()"),
    "random.random": (_random_random, "random.random()", RANDOM),
    "random.randint": (_random_randint, "random.randint()", RANDOM),
    "random.choice": (_random_choice, "random.choice()", RANDOM),
    "random.shuffle": (_random_shuffle, "random.shuffle()", RANDOM),
    "random.Random()": (_unseeded_random, "random.Random() without a seed", RANDOM),
    "random.SystemRandom()": (_system_random, "random.Random() without a seed", RANDOM),
    "uuid.uuid1": (_uuid_uuid1, "uuid.uuid1()", "use workflow.uuid4()"),
    "uuid.uuid4": (_uuid_uuid4, "uuid.uuid4()", "use workflow.uuid4()"),
    "from uuid import uuid4": (_imported_uuid4, "uuid.uuid4()", "use workflow.uuid4()"),
    "os.urandom": (_os_urandom, "os.urandom()", RANDOM),
    "secrets.token_hex": (_secrets_token_hex, "secrets.token_hex()", RANDOM),
    "secrets.choice": (_secrets_choice, "secrets.choice()", RANDOM),
}


def _open_file() -> object:
    return open(__file__, encoding="utf-8").close()


def _read_path() -> object:
    return Path(__file__).read_text(encoding="utf-8")


def _list_folder() -> object:
    return os.listdir(os.path.dirname(__file__))


def _make_socket() -> object:
    return socket.socket(socket.AF_INET, socket.SOCK_STREAM).close()


def _make_imported_socket() -> object:
    return imported_socket().close()


def _connect() -> object:
    return socket.create_connection(("localhost", 9), timeout=1)


def _look_up_host() -> object:
    return socket.getaddrinfo("localhost", 80)


def _run_process() -> object:
    return subprocess.run(["true"], check=False)


def _os_system() -> object:
    return os.system("true")


def _start_thread() -> object:
    return threading.Thread(target=lambda: None).start()


EFFECTS: dict[str, tuple[Callable[[], object], str]] = {
    "open": (_open_file, "opened a file (open("),
    "Path.read_text": (_read_path, "opened a file (open("),
    "os.listdir": (_list_folder, "listed a folder (os.listdir("),
    "socket": (_make_socket, "made a socket (socket.socket()"),
    "from socket import socket": (_make_imported_socket, "made a socket (socket.socket()"),
    "create_connection": (_connect, "looked up a host name (socket.getaddrinfo('localhost', 9)"),
    "getaddrinfo": (_look_up_host, "looked up a host name (socket.getaddrinfo('localhost', 80)"),
    "subprocess.run": (_run_process, "started a process (subprocess.Popen(['true'])"),
    "os.system": (_os_system, "started a process (os.system('true')"),
    "thread": (_start_thread, "started a thread (threading.Thread.start()"),
}

ALL: dict[str, Callable[[], object]] = {
    **{name: fn for name, (fn, _, _) in CALLS.items()},
    **{name: fn for name, (fn, _) in EFFECTS.items()},
}


@workflow.defn
class Calls:
    """Calls what it is told by name, after a timer (so in its second workflow task)."""

    @workflow.run
    async def run(self, name: str) -> str:
        await workflow.sleep(timedelta(minutes=1))
        ALL[name]()
        return "done"


def _refusal(env: DurableEnvironment, name: str) -> NondeterministicCallError:
    with pytest.raises(WorkflowFailureError) as info:
        env.run(Calls.run, name).result()
    cause = info.value.cause
    assert isinstance(cause, NondeterministicCallError), cause
    return cause


@pytest.mark.parametrize("name", CALLS)
def test_each_call_fails_naming_itself_its_line_and_the_alternative(
    env: DurableEnvironment, name: str
) -> None:
    fn, call, alternative = CALLS[name]
    cause = _refusal(env, name)
    assert cause.call == call
    assert cause.location == _where(fn)
    assert str(cause).startswith(f"workflow code called {call} at {_where(fn)}: ")
    assert f"Instead, {alternative}" in str(cause)
    assert "--durable-determinism-guard=off" in str(cause)
    assert isinstance(cause, NondeterminismError)


@pytest.mark.parametrize("name", EFFECTS)
def test_each_effect_fails_naming_itself_and_the_workflow_line(
    env: DurableEnvironment, name: str
) -> None:
    fn, described = EFFECTS[name]
    cause = _refusal(env, name)
    # Through pathlib and subprocess too: the line named is the workflow's, not the library's.
    assert cause.location == _where(fn)
    assert str(cause).startswith(f"workflow code {described}")
    assert f" at {_where(fn)}: " in str(cause)
    assert "Instead, use an activity (workflow.execute_activity)" in str(cause) or (
        "asyncio tasks" in str(cause)
    )


@workflow.defn
class Swallows:
    @workflow.run
    async def run(self) -> str:
        with contextlib.suppress(Exception):  # exactly what the guard must survive
            random.random()
        await workflow.sleep(timedelta(hours=1))
        return "went on"


def test_catching_the_error_does_not_save_the_run(env: DurableEnvironment) -> None:
    handle = env.start(Swallows.run)
    with pytest.raises(WorkflowFailureError) as info:
        handle.result()
    assert isinstance(info.value.cause, NondeterministicCallError)
    assert handle.status == "failed"
    # It failed in the first task: the timer after the swallowed call was never started.
    assert env.now() == env.run(Quick.run).result()


@workflow.defn
class Quick:
    @workflow.run
    async def run(self) -> datetime:
        return workflow.now()


# --- what is not guarded ---------------------------------------------------------------------


def _everything_outside_a_workflow() -> None:
    """Every guarded call, from code that is not a workflow's."""
    for name, fn in ALL.items():
        if name not in ("getaddrinfo", "create_connection", "subprocess.run", "os.system"):
            fn()
    socket.socket().close()


@activity.defn
async def busy_async() -> str:
    _everything_outside_a_workflow()
    await asyncio.sleep(0.01)  # the host loop's own clock
    return "async"


@activity.defn
def busy_sync() -> str:
    _everything_outside_a_workflow()
    return "sync"


@workflow.defn
class UsesActivities:
    @workflow.run
    async def run(self) -> list[str]:
        options: dict[str, Any] = {"start_to_close_timeout": timedelta(seconds=10)}
        first = await workflow.execute_activity(busy_async, **options)
        second = await workflow.execute_activity(busy_sync, **options)
        third = await workflow.execute_local_activity(busy_sync, **options)
        return [first, second, third]


def test_activities_and_local_activities_are_not_guarded(env: DurableEnvironment) -> None:
    assert env.run(UsesActivities.run).result() == ["async", "sync", "sync"]


def test_the_tests_own_code_is_not_guarded(env: DurableEnvironment) -> None:
    handle = env.start(Calls.run, "time.time")
    _everything_outside_a_workflow()  # between drives, with a workflow waiting on its timer
    with pytest.raises(WorkflowFailureError):
        handle.result()
    _everything_outside_a_workflow()


@workflow.defn
class UsesLibraries:
    @workflow.run
    async def run(self) -> str:
        # The standard library's own use of the clock, files and randomness: logging stamps
        # its records, formatdate reads time.time(), tracebacks read source files, zoneinfo
        # its database, an import its module.
        logging.getLogger("tests.guard").warning("standard logging in a workflow")
        workflow.logger.info("the workflow logger")
        stamp = email.utils.formatdate(0)
        stack = traceback.format_stack()
        paris = workflow.now().astimezone(zoneinfo.ZoneInfo("Europe/Paris"))
        import tests.engine._guard_lazy_import as lazy

        linecache.clearcache()  # so that reading source lines opens the file again
        assert linecache.getlines(lazy.__file__)

        seeded = random.Random(workflow.random().getrandbits(64)).random()  # deterministic
        assert 0 <= seeded < 1
        # asyncio's machinery on the workflow's own loop.
        await asyncio.wait_for(workflow.sleep(timedelta(seconds=1)), timeout=60)
        async with asyncio.timeout(60):
            await asyncio.gather(workflow.sleep(1), workflow.sleep(2))
        return f"{stamp[:3]} {len(stack) > 0} {paris.tzname()} {lazy.VALUE}"


def test_libraries_and_asyncio_called_by_workflow_code_are_not_guarded(
    env: DurableEnvironment,
) -> None:
    sys.modules.pop("tests.engine._guard_lazy_import", None)
    assert env.run(UsesLibraries.run).result() == "Thu True CET lazy"


@workflow.defn
class Queried:
    def __init__(self) -> None:
        self.asked = 0

    @workflow.run
    async def run(self) -> str:
        await workflow.wait_condition(lambda: self.asked > 0)
        return "answered"

    @workflow.signal
    def ask(self) -> None:
        self.asked += 1

    @workflow.query
    def clock(self) -> float:
        return time.time()


def test_a_query_that_calls_the_clock_fails_the_query_not_the_run(
    env: DurableEnvironment,
) -> None:
    handle = env.start(Queried.run)
    with pytest.raises(NondeterministicCallError, match=r"called time\.time\(\) at .* in clock"):
        handle.query(Queried.clock)
    handle.signal(Queried.ask)
    assert handle.result() == "answered"


@pytest.mark.parametrize("backend", ["time-machine", "freezegun"])
def test_the_patched_wall_clock_is_guarded_in_workflows_and_virtual_elsewhere(
    make_env: Callable[..., DurableEnvironment], backend: str
) -> None:
    env = make_env(patch_time=backend)
    for name in ("time.time", "datetime.now", "datetime.utcnow", "date.today"):
        assert _refusal(env, name).call == CALLS[name][1]
    assert datetime.now(dt.UTC) == env.now()  # the test's own code reads virtual time
    assert env.run(UsesActivities.run).result() == ["async", "sync", "sync"]


@workflow.defn
class ReadsLocalTime:
    @workflow.run
    async def run(self) -> int:
        return time.localtime().tm_year  # LOCALTIME


def test_time_machine_reports_reads_no_wrapper_sees(
    make_env: Callable[..., DurableEnvironment],
) -> None:
    env = make_env(patch_time="time-machine")
    with pytest.raises(WorkflowFailureError) as info:
        env.run(ReadsLocalTime.run).result()
    cause = info.value.cause
    assert isinstance(cause, NondeterministicCallError)
    assert str(cause).startswith("workflow code called the wall clock (time.localtime()")
    lines = Path(__file__).read_text(encoding="utf-8").splitlines()
    line = next(i for i, text in enumerate(lines, 1) if text.endswith("# LOCALTIME"))
    assert cause.location == f"{HERE}:{line} in run"


@workflow.defn
class WaitsOnConditions:
    @workflow.run
    async def run(self, read_the_clock: bool) -> str:
        # A condition function is workflow code: workflow.now() works there...
        await workflow.wait_condition(lambda: workflow.now().year > 2000)
        if read_the_clock:
            # ... and the guard checks it.
            await workflow.wait_condition(lambda: time.time() > 0)  # CONDITION
        return "waited"


def test_condition_functions_are_workflow_code(env: DurableEnvironment) -> None:
    assert env.run(WaitsOnConditions.run, False).result() == "waited"
    with pytest.raises(WorkflowFailureError) as info:
        env.run(WaitsOnConditions.run, True).result()
    cause = info.value.cause
    assert isinstance(cause, NondeterministicCallError)
    lines = Path(__file__).read_text(encoding="utf-8").splitlines()
    line = next(i for i, text in enumerate(lines, 1) if text.endswith("# CONDITION"))
    assert cause.location == f"{HERE}:{line} in <lambda>"


# --- off-switches, replay, crashes ---------------------------------------------------------


def test_the_environment_argument_turns_it_off(
    make_env: Callable[..., DurableEnvironment],
) -> None:
    env = make_env(determinism_guard=False)
    assert env.engine.determinism_guard is False
    for name in CALLS:
        assert env.run(Calls.run, name).result() == "done"
    # Guarded and unguarded environments coexist: the switch is each workflow's.
    guarded = make_env()
    assert _refusal(guarded, "time.time").call == "time.time()"
    assert env.run(Calls.run, "time.time").result() == "done"


def test_bad_argument_is_refused(make_env: Callable[..., DurableEnvironment]) -> None:
    with pytest.raises(ValueError, match="determinism_guard must be True or False, got 'off'"):
        make_env(determinism_guard="off")


def test_the_replayer_guards_and_can_be_told_not_to(
    make_env: Callable[..., DurableEnvironment],
) -> None:
    history = make_env(determinism_guard=False).run(Calls.run, "uuid.uuid4").history
    # The replay finds the code failing where history says it completed, and says why.
    with pytest.raises(NondeterminismError, match=r"raised NondeterministicCallError: .*uuid4"):
        Replayer(workflows=[Calls]).replay(history)
    Replayer(workflows=[Calls], determinism_guard=False).replay(history)


@pytest.mark.parametrize("name", ["datetime.now", "open"])
def test_replay_every_task_is_guarded(
    make_env: Callable[..., DurableEnvironment], name: str
) -> None:
    env = make_env(replay_every_task=True)
    cause = _refusal(env, name)
    assert cause.location == _where(ALL[name])


@workflow.defn
class WaitsThenCalls:
    def __init__(self) -> None:
        self.go = False

    @workflow.run
    async def run(self) -> str:
        await workflow.wait_condition(lambda: self.go)
        return str(uuid.uuid4())

    @workflow.signal
    def proceed(self) -> None:
        self.go = True


def test_a_workflow_rebuilt_after_a_crash_is_guarded(env: DurableEnvironment) -> None:
    handle = env.start(WaitsThenCalls.run)
    env.settle()
    assert env.crash_worker() == 1
    handle.signal(WaitsThenCalls.proceed)
    with pytest.raises(WorkflowFailureError) as info:
        handle.result()
    cause = info.value.cause
    assert isinstance(cause, NondeterministicCallError)
    assert cause.call == "uuid.uuid4()"


def test_crash_exploration_runs_guarded(env: DurableEnvironment) -> None:
    # Every crashed run is rebuilt by replay and refused at the same call, like the clean run.
    exploration = env.explore_crashes(Calls.run, "random.choice")
    assert exploration.status == "failed"
    assert "NondeterministicCallError" in exploration.outcome
    assert "called random.choice()" in exploration.outcome
    assert len(exploration.points) > 0


# --- whose code it is ------------------------------------------------------------------------


def test_installed_code_is_a_library_unless_it_is_the_workflows_own_package(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    installed = checks._INSTALLED[0]
    shop = SimpleNamespace(__file__=os.path.join(installed, "myshop", "__init__.py"))
    monkeypatch.setitem(sys.modules, "myshop", shop)
    checks._package_root.cache_clear()
    workflow_cls = type("Order", (), {"__module__": "myshop.flows"})
    loop = SimpleNamespace(instance=SimpleNamespace(definition=SimpleNamespace(cls=workflow_cls)))
    other = SimpleNamespace(instance=None)
    flows = os.path.join(installed, "myshop", "flows.py")
    library = os.path.join(installed, "somelib", "clock.py")
    assert checks._is_workflow_code(flows, loop)
    assert not checks._is_workflow_code(flows, other)
    assert not checks._is_workflow_code(library, loop)
    assert checks._is_workflow_code(__file__, other)
    assert not checks._is_workflow_code(logging.__file__, loop)
    assert not checks._is_workflow_code("<frozen importlib._bootstrap>", loop)
    # A top-level module rather than a package: only that file is the workflow's.
    single = SimpleNamespace(__file__=os.path.join(installed, "myflows.py"))
    monkeypatch.setitem(sys.modules, "myflows", single)
    flow_cls = type("Refund", (), {"__module__": "myflows"})
    loop = SimpleNamespace(instance=SimpleNamespace(definition=SimpleNamespace(cls=flow_cls)))
    assert checks._is_workflow_code(single.__file__, loop)
    assert not checks._is_workflow_code(flows, loop)
    checks._package_root.cache_clear()


def test_a_loop_of_another_kind_gets_the_error_raised_only() -> None:
    frame = sys._getframe()
    call = checks._Call("time.time()", "why", "workflow.now()")
    with pytest.raises(NondeterministicCallError, match=r"called time\.time\(\) at .* in test_a"):
        checks._refuse("called time.time()", call, frame, SimpleNamespace())


def test_installing_twice_changes_nothing() -> None:
    before = (time.time, uuid.uuid4, threading.Thread.start, dt.datetime.__dict__["now"])
    guard.install()
    guard.install()
    assert (time.time, uuid.uuid4, threading.Thread.start, dt.datetime.__dict__["now"]) == before
    assert getattr(time.time, "__durable_guard__", False)
    assert time.time.__name__ == "time"
    assert datetime.now.__name__ == "now"


def test_a_new_engine_wraps_a_clock_put_back_and_a_module_imported_since(
    monkeypatch: pytest.MonkeyPatch, make_env: Callable[..., DurableEnvironment]
) -> None:
    make_env()
    assert getattr(time.time, "__durable_guard__", False)
    # A clock put back unwrapped (freezegun does this when it stops) is wrapped again.
    monkeypatch.setattr(time, "time", time.time.__wrapped__)
    make_env()
    assert getattr(time.time, "__durable_guard__", False)
    # A guarded module imported after the last scan is wrapped by the next engine.
    monkeypatch.delitem(sys.modules, "secrets")
    make_env()
    fresh = SimpleNamespace(token_hex=secrets.token_hex.__wrapped__)
    monkeypatch.setitem(sys.modules, "secrets", fresh)
    make_env()
    assert getattr(fresh.token_hex, "__durable_guard__", False)


def test_time_machine_version_is_read_beside_its_extension() -> None:
    import importlib.metadata
    import importlib.util

    spec = importlib.util.find_spec("_time_machine")
    assert spec is not None and spec.origin is not None
    major, minor = (int(part) for part in importlib.metadata.version("time-machine").split(".")[:2])
    assert guard._time_machine_version(spec.origin) == (major, minor)
    # Without the extension's location, the installed metadata tells.
    assert guard._time_machine_version(None) == (major, minor)


def test_a_run_that_never_checks_a_call_never_loads_the_checks() -> None:
    code = (
        "import sys, pytest_durable._guard as g; g.install_functions(); "
        "import time, uuid; time.time(); uuid.uuid4(); "
        "print(sorted(m for m in sys.modules if m.startswith('pytest_durable.')), "
        "'sysconfig' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.split() == ["['pytest_durable._guard']", "False"]


def test_freezegun_loaded_before_the_guard_is_guarded_without_loading_the_checks() -> None:
    code = (
        "import sys, freezegun.api as api, pytest_durable._guard as g; g.install_functions(); "
        "print([getattr(api.FakeDatetime.__dict__[name], '__durable_guard__', False) "
        "for name in ('now', 'utcnow')], 'pytest_durable._guard_checks' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.split() == ["[True,", "True]", "False"]


def test_every_call_a_wrapper_can_check_has_its_message() -> None:
    # The wrappers, made when pytest starts, know their call by a key; the messages are in the
    # checks, loaded later: the two tables must name the same calls.
    calls = {f"{module}.{name}" for module, names in guard._FUNCTIONS.items() for name in names}
    datetime_calls = {f"{cls}.{name}" for cls, name in guard_datetime._METHODS}
    assert set(checks._CALLS) == calls | datetime_calls | {"random.Random", "the wall clock"}
    effects = {f"{module}.{name}" for module, names in guard._EFFECTS.items() for name in names}
    methods = {f"{module}.{cls}.{name}" for module, (cls, name) in guard._METHODS.items()}
    assert set(checks._EFFECTS) == effects | methods



def test_the_patches_are_put_back_at_exit_where_they_are_still_the_guards() -> None:
    code = (
        "import atexit, time, uuid, threading, pytest_durable._guard as g; g.install_functions(); "
        "before = [getattr(f, '__durable_guard__', False) for f in (time.time, uuid.uuid4)]; "
        "mine = lambda: 'mine'; uuid.uuid4 = mine; atexit._run_exitfuncs(); "
        "print(before, getattr(time.time, '__durable_guard__', False), uuid.uuid4 is mine, "
        "getattr(threading.Thread.start, '__durable_guard__', False))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.split() == ["[True,", "True]", "False", "True", "False"]


def test_a_wrapper_called_while_the_checks_load_lets_the_call_through(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    frame, loop = sys._getframe(), SimpleNamespace()
    monkeypatch.setattr(guard, "_loading_checks", True)  # the checks' own imports call wrappers
    assert guard._first_check_caller("time.time", frame, loop) is None
    assert guard._first_check_effect("os.listdir", ("x",), {}, frame, loop) is None
    monkeypatch.setattr(guard, "_loading_checks", False)
    with pytest.raises(NondeterministicCallError, match=r"called time\.time\(\) at "):
        guard._first_check_caller("time.time", frame, loop)
    with pytest.raises(NondeterministicCallError, match=r"listed a folder \(os\.listdir\('x'\)\)"):
        guard._first_check_effect("os.listdir", ("x",), {}, frame, loop)


def test_a_guarded_workflows_own_package_has_its_names_pointed_at_the_wrappers() -> None:
    # An installed workflow package that bound uuid4 before the first guarded engine (the
    # plugin's rebinding leaves installed packages alone) is rebound when its first workflow
    # instance is made: the guard counts a workflow's own package as workflow code.
    import types

    original = getattr(uuid.uuid4, "__wrapped__", uuid.uuid4)
    package, flows = types.ModuleType("shop_installed"), types.ModuleType("shop_installed.flows")
    flows.uuid4 = original  # type: ignore[attr-defined]
    sys.modules.update({"shop_installed": package, "shop_installed.flows": flows})

    @workflow.defn
    class Checkout:
        @workflow.run
        async def run(self) -> str:
            return "ok"

    Checkout.__module__ = "shop_installed.flows"
    try:
        with DurableEnvironment() as env:
            assert env.run(Checkout.run).result() == "ok"
        assert getattr(uuid.uuid4, "__durable_guard__", False)
        assert flows.uuid4 is uuid.uuid4  # type: ignore[attr-defined]
    finally:
        del sys.modules["shop_installed"], sys.modules["shop_installed.flows"]
        guard._workflow_packages.discard("shop_installed")
