"""The determinism guard's checks: workflow code that reads the world fails at the call, naming it.

A workflow must do the same thing on every replay, so its code may not read the wall clock, the
process's randomness or the file system, nor start threads or processes: each gives another
answer (or does the deed again) when the history is replayed after a crash. The guard makes
such a call fail at once, with the call, the workflow's line and what to use instead, rather
than as a ``NondeterminismError`` at some later replay, or never in a test.

How it stays cheap. The patches are installed once per process and stay: module functions
(``time.time``, ``random.random``, ``uuid.uuid4``...) are replaced by wrappers (:mod:`._guard`,
with the first guarded engine), the ``datetime`` classes' ``now``/``utcnow``/``today`` by guarded
classmethods (in the type itself, so ``from datetime import datetime`` is covered too:
:mod:`._guard_datetime`), and the entry points of files, sockets, processes and threads by
wrappers (``open``, ``os.listdir``, ``socket.socket.__init__``, ``subprocess.Popen.__init__``,
``threading.Thread.start``...). No audit hook (:pep:`578`): it would see more, but it is called
for every audited event of the process, several per activity on the engine's hot path, which
cost more than the whole guard. Every check asks one question first: is the running event loop
a guarded workflow's? That is the workflow task in progress - workflow code runs only while its
instance's loop is the running loop, and activities, the engine, the test and pytest never do -
so turning the guard on or off costs nothing per task: it is an attribute of each workflow's
loop (``determinism_guard``), set when the instance is made. Only then does a wrapper call this
module, with the key of its call (``"time.time"``, ``"builtins.open"``), under which the tables
below keep what the refusal says.

Whose call it is. During a workflow task, the standard library, installed packages and this
package still use these functions for their own purposes (``logging`` timestamps its records,
``uuid4`` reads ``os.urandom``), which is no workflow's decision:

- a clock, randomness or uuid call is refused only when its immediate caller is workflow code;
- a file, socket, process or thread is refused when the first frame outside the standard library
  and installed packages is workflow code (``Path.read_text`` and ``requests.get`` open their
  files and sockets for the workflow), unless infrastructure is on the way: imports, tracebacks,
  ``logging``, ``warnings``, time zones (``zoneinfo``).

"Workflow code" is any file outside the standard library, installed packages and
pytest_durable, and the running workflow's own top-level package even when it is installed.
Functions bound by ``from time import time`` before the patches were installed escape them,
except in modules imported since pytest loaded the plugin: those names are pointed at the
wrappers when the patches go in (:func:`._guard._rebind`).

This module is loaded by the first guarded engine, or by the first call a wrapper checks during
a guarded workflow task if that comes first; a run that never makes a guarded engine never loads
it (nor :mod:`sysconfig`, nor the errors).
"""

from __future__ import annotations

import functools
import os
import sys
import sysconfig
from collections.abc import Callable
from types import FrameType
from typing import Any, Final

from ._guard import _FUNCTIONS
from .errors import NondeterministicCallError


class _Call:
    """A guarded call: what the message calls it, why it is refused, what to use instead.

    A plain class: a dataclass or named tuple would compile its generated methods when made.
    """

    __slots__ = ("alternative", "what", "why")

    def __init__(self, what: str, why: str, alternative: str) -> None:
        self.what = what
        self.why = why
        self.alternative = alternative


_CLOCK: Final = (
    "its value differs on every run and on every replay, so a decision taken on it is not "
    "deterministic"
)
_RESULT: Final = _CLOCK.replace("its value", "its result")
_NOW: Final = "workflow.now() (the workflow task's time, from history)"
_WORKFLOW_TIME: Final = "workflow.now() or workflow.time_ns() (the workflow task's time)"
_RANDOM: Final = "workflow.random() (seeded per run, the same on every replay)"

#: What each call refused to workflow code that makes it itself is, by its wrapper's key.
_CALLS: Final[dict[str, _Call]] = {
    "time.time": _Call("time.time()", _CLOCK, _NOW),
    "time.time_ns": _Call("time.time_ns()", _CLOCK, _WORKFLOW_TIME),
    "time.monotonic": _Call("time.monotonic()", _CLOCK, _WORKFLOW_TIME),
    "time.monotonic_ns": _Call("time.monotonic_ns()", _CLOCK, _WORKFLOW_TIME),
    "time.perf_counter": _Call("time.perf_counter()", _CLOCK, _WORKFLOW_TIME),
    "time.perf_counter_ns": _Call("time.perf_counter_ns()", _CLOCK, _WORKFLOW_TIME),
    "time.sleep": _Call(
        "time.sleep()",
        "it blocks the workflow task on real time, which does not pass in workflow time",
        "await workflow.sleep(...) or asyncio.sleep(...) (a durable timer)",
    ),
    **{
        f"random.{name}": _Call(f"random.{name}()", _RESULT, _RANDOM)
        for name in _FUNCTIONS["random"]
    },
    "uuid.uuid1": _Call("uuid.uuid1()", _CLOCK.replace("its value", "it"), "workflow.uuid4()"),
    "uuid.uuid4": _Call("uuid.uuid4()", _CLOCK.replace("its value", "it"), "workflow.uuid4()"),
    "os.urandom": _Call("os.urandom()", _RESULT, "workflow.random()"),
    **{
        f"secrets.{name}": _Call(
            f"secrets.{name}()", _RESULT, f"{_RANDOM}, or an activity for a real secret"
        )
        for name in _FUNCTIONS["secrets"]
    },
    "datetime.now": _Call("datetime.now()", _CLOCK, _NOW),
    "datetime.utcnow": _Call("datetime.utcnow()", _CLOCK, _NOW),
    "date.today": _Call("date.today()", _CLOCK, "workflow.now().date()"),
    "random.Random": _Call(
        "random.Random() without a seed",
        "it is seeded from the operating system's randomness, differently on every run and on "
        "every replay",
        f"{_RANDOM}, or random.Random(seed) with a seed from it",
    ),
    "the wall clock": _Call(
        "the wall clock (time.localtime(), time.strftime()...)", _CLOCK, _NOW
    ),
}


class _Effect:
    """A guarded I/O function: what the message says it did, and how it shows the call."""

    __slots__ = ("did", "shown", "what")

    def __init__(
        self,
        did: str,
        what: str,
        shown: Callable[[tuple[Any, ...], dict[str, Any]], tuple[Any, ...]],
    ) -> None:
        self.did = did
        self.what = what
        self.shown = shown


def _first(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
    return args[:1]


def _none(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
    return ()


def _path_and_mode(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
    return (*args[:1], args[1] if len(args) > 1 else kwargs.get("mode", "r"))


_FILES: Final = "opened a file"
_FOLDERS: Final = "changed the file system"
_PROCESSES: Final = "started a process"
_NAMES: Final = "looked up a host name"

#: What each I/O function or method refused to workflow code did, by its wrapper's key.
_EFFECTS: Final[dict[str, _Effect]] = {
    "builtins.open": _Effect(_FILES, "open", _path_and_mode),
    "io.open": _Effect(_FILES, "open", _path_and_mode),
    "os.open": _Effect(_FILES, "os.open", _first),
    "os.listdir": _Effect("listed a folder", "os.listdir", _first),
    "os.scandir": _Effect("listed a folder", "os.scandir", _first),
    "os.mkdir": _Effect(_FOLDERS, "os.mkdir", _first),
    "os.remove": _Effect(_FOLDERS, "os.remove", _first),
    "os.unlink": _Effect(_FOLDERS, "os.unlink", _first),
    "os.rename": _Effect(_FOLDERS, "os.rename", _first),
    "os.replace": _Effect(_FOLDERS, "os.replace", _first),
    "os.rmdir": _Effect(_FOLDERS, "os.rmdir", _first),
    "os.system": _Effect(_PROCESSES, "os.system", _first),
    "os.execv": _Effect(_PROCESSES, "os.execv", _first),
    "os.execve": _Effect(_PROCESSES, "os.execve", _first),
    "os.posix_spawn": _Effect(_PROCESSES, "os.posix_spawn", _first),
    "os.spawnv": _Effect(_PROCESSES, "os.spawnv", _first),
    "os.fork": _Effect(_PROCESSES, "os.fork", _none),
    "socket.getaddrinfo": _Effect(_NAMES, "socket.getaddrinfo", lambda a, k: a[:2]),
    "socket.gethostbyname": _Effect(_NAMES, "socket.gethostbyname", _first),
    "socket.gethostbyaddr": _Effect(_NAMES, "socket.gethostbyaddr", _first),
    "socket.socket.__init__": _Effect("made a socket", "socket.socket", _none),
    "subprocess.Popen.__init__": _Effect(
        _PROCESSES, "subprocess.Popen", lambda a, k: a[1:2] or (k.get("args"),)
    ),
    "threading.Thread.start": _Effect("started a thread", "threading.Thread.start", _none),
}
_EFFECT: Final = (
    "it would happen again on every replay, and what it returns is not in the history"
)
_ACTIVITY: Final = "an activity (workflow.execute_activity), whose result history records"
_THREADS: Final = (
    "workflow code runs on its workflow's own loop, one task at a time; a thread runs "
    "outside it, at no deterministic point"
)
_THREAD_ALTERNATIVE: Final = (
    "asyncio tasks (asyncio.gather, asyncio.create_task) for concurrency, an activity for "
    "blocking work"
)


def _reads_time_zones(args: tuple[Any, ...]) -> bool:
    """Whether an ``open`` reads the time zone database (``ZoneInfo("Europe/Paris")``).

    zoneinfo opens it from C, with no frame of its own to recognise it by; converting a
    workflow time to a zone is what deterministic code does.
    """
    zoneinfo = sys.modules.get("zoneinfo")
    if zoneinfo is None or not args or not isinstance(args[0], str):
        return False
    return args[0].startswith(tuple(os.path.join(path, "") for path in zoneinfo.TZPATH))


# --- whose call is it? ---------------------------------------------------------------------

_USER, _LIBRARY, _INFRASTRUCTURE, _DURABLE = range(4)

_PACKAGE_DIR: Final = os.path.dirname(os.path.abspath(__file__)) + os.sep
_PATHS: Final = sysconfig.get_paths()
_INSTALLED: Final = tuple(
    sorted({os.path.join(_PATHS[key], "") for key in ("purelib", "platlib") if key in _PATHS})
)
_STDLIB: Final = tuple(
    sorted({os.path.join(_PATHS[key], "") for key in ("stdlib", "platstdlib") if key in _PATHS})
)
#: Standard modules whose file reads serve the interpreter, not the workflow's decisions.
_INFRASTRUCTURE_MODULES: Final = frozenset(
    {
        "codecs",
        "encodings",
        "importlib",
        "inspect",
        "linecache",
        "logging",
        "pkgutil",
        "tokenize",
        "traceback",
        "warnings",
        "zipimport",
        "zoneinfo",
    }
)


@functools.lru_cache(maxsize=1024)
def _kind(filename: str) -> int:
    """Who a source file belongs to: workflow code, a library, infrastructure, this package."""
    if filename.startswith(_PACKAGE_DIR):
        return _DURABLE
    if filename.startswith("<frozen "):
        module = filename[len("<frozen ") : -1]
        top = module.split(".")[0]
        return _INFRASTRUCTURE if top in _INFRASTRUCTURE_MODULES else _LIBRARY
    if filename.startswith(_INSTALLED):
        return _LIBRARY
    for prefix in _STDLIB:
        if filename.startswith(prefix):
            top = filename[len(prefix) :].split(os.sep)[0].removesuffix(".py")
            return _INFRASTRUCTURE if top in _INFRASTRUCTURE_MODULES else _LIBRARY
    return _USER


def is_workflow_file(filename: str) -> bool:
    """Whether a source file is workflow code whichever workflow runs.

    That is a file outside the standard library, installed packages and this package.
    """
    return _kind(filename) == _USER


def _is_workflow_code(filename: str, loop: Any) -> bool:
    kind = _kind(filename)
    if kind == _USER:
        return True
    return kind == _LIBRARY and filename.startswith(_own_roots(loop))


def _own_roots(loop: Any) -> tuple[str, ...]:
    """The running workflow's own top-level package folder, for a project installed as such."""
    instance = getattr(loop, "instance", None)
    definition = getattr(instance, "definition", None)
    cls = getattr(definition, "cls", None)
    if cls is None:
        return ()
    return _package_root(cls.__module__.split(".")[0])


@functools.lru_cache(maxsize=64)
def _package_root(top: str) -> tuple[str, ...]:
    module = sys.modules.get(top)
    filename = getattr(module, "__file__", None)
    if not filename or not filename.startswith(_INSTALLED):
        return ()
    if os.path.basename(filename) == "__init__.py":
        return (os.path.join(os.path.dirname(filename), ""),)
    return (filename,)


def check_caller(key: str, frame: FrameType, loop: Any) -> None:
    """Refuse the call named ``key`` if workflow code made it itself (see the module docstring)."""
    if _is_workflow_code(frame.f_code.co_filename, loop):
        call = _CALLS[key]
        _refuse(f"called {call.what}", call, frame, loop)


def check_effect(
    key: str,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    frame: FrameType | None,
    loop: Any,
) -> None:
    """Refuse the effect named ``key`` if workflow code asked for it, directly or not."""
    effect = _EFFECTS[key]
    if effect.what == "open" and _reads_time_zones(args):
        return
    while frame is not None:
        filename = frame.f_code.co_filename
        kind = _kind(filename)
        if kind == _USER or (kind == _LIBRARY and filename.startswith(_own_roots(loop))):
            shown = effect.shown(args, kwargs)
            shown = tuple(os.fsdecode(a) if isinstance(a, bytes) else a for a in shown)
            what = f"{effect.what}({', '.join(repr(a) for a in shown)})"
            why, alternative = _EFFECT, _ACTIVITY
            if effect.what == "threading.Thread.start":
                why, alternative = _THREADS, _THREAD_ALTERNATIVE
            _refuse(f"{effect.did} ({what})", _Call(what, why, alternative), frame, loop)
        if kind != _LIBRARY:
            return  # this package's own work, or infrastructure on the way
        frame = frame.f_back


def _refuse(did: str, call: _Call, frame: FrameType, loop: Any) -> None:
    from .engine._location import display_path

    code = frame.f_code
    where = f"{display_path(code.co_filename)}:{frame.f_lineno} in {code.co_name}"
    error = NondeterministicCallError(
        f"workflow code {did} at {where}: {call.why}. Instead, use {call.alternative}. (To "
        "allow it, turn the determinism guard off: determinism_guard=False on the environment "
        "or the durable marker, or --durable-determinism-guard=off.)",
        call=call.what,
        alternative=call.alternative,
        location=where,
    )
    report = getattr(loop, "report_guard_error", None)
    if report is not None:
        report(error)
    raise error
