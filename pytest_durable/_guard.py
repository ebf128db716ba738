"""The determinism guard: workflow code that reads the world fails at the call, naming it.

A workflow must do the same thing on every replay, so its code may not read the wall clock, the
process's randomness or the file system, nor start threads or processes: each gives another
answer (or does the deed again) when the history is replayed after a crash. The guard makes
such a call fail at once, with the call, the workflow's line and what to use instead, rather
than as a ``NondeterminismError`` at some later replay, or never in a test.

How it stays cheap. The patches are installed once per process and stay: module functions
(``time.time``, ``random.random``, ``uuid.uuid4``...) are replaced by wrappers, the
``datetime`` classes' ``now``/``utcnow``/``today`` by guarded classmethods (in the type itself,
so ``from datetime import datetime`` is covered too), and the entry points of files, sockets,
processes and threads by wrappers (``open``, ``os.listdir``, ``socket.socket.__init__``,
``subprocess.Popen.__init__``, ``threading.Thread.start``...). No audit hook (:pep:`578`): it
would see more, but it is called for every audited event of the process, several per activity
on the engine's hot path, which cost more than the whole guard. Every check asks one question
first: is the running event loop a
guarded workflow's? That is the workflow task in progress - workflow code runs only while its
instance's loop is the running loop, and activities, the engine, the test and pytest never do -
so turning the guard on or off costs nothing per task: it is an attribute of each workflow's
loop (``determinism_guard``), set when the instance is made.

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
Functions bound by ``from time import time`` before the patches were installed escape them: the
plugin installs them when pytest starts, before test modules are imported.

Nothing here imports asyncio, ctypes or the engine when the plugin installs the function
wrappers at startup; the rest waits for the first guarded engine.
"""

from __future__ import annotations

import functools
import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from types import FrameType

#: The attribute of a workflow's event loop saying that its code is guarded.
FLAG: Final = "determinism_guard"

_CLOCK: Final = (
    "its value differs on every run and on every replay, so a decision taken on it is not "
    "deterministic"
)
_EFFECT: Final = (
    "it would happen again on every replay, and what it returns is not in the history"
)


class _Call:
    """A guarded function: what the message calls it, why it is refused, what to use.

    A plain class rather than a dataclass or named tuple: the tables below are made when pytest
    starts, and those would compile their generated methods then, in every run.
    """

    __slots__ = ("alternative", "what", "why")

    def __init__(self, what: str, why: str, alternative: str) -> None:
        self.what = what
        self.why = why
        self.alternative = alternative


_NOW: Final = "workflow.now() (the workflow task's time, from history)"
_WORKFLOW_TIME: Final = "workflow.now() or workflow.time_ns() (the workflow task's time)"
_RANDOM: Final = "workflow.random() (seeded per run, the same on every replay)"
_ACTIVITY: Final = "an activity (workflow.execute_activity), whose result history records"

_FUNCTIONS: Final[dict[str, dict[str, _Call]]] = {
    "time": {
        "time": _Call("time.time()", _CLOCK, _NOW),
        "time_ns": _Call("time.time_ns()", _CLOCK, _WORKFLOW_TIME),
        "monotonic": _Call("time.monotonic()", _CLOCK, _WORKFLOW_TIME),
        "monotonic_ns": _Call("time.monotonic_ns()", _CLOCK, _WORKFLOW_TIME),
        "perf_counter": _Call("time.perf_counter()", _CLOCK, _WORKFLOW_TIME),
        "perf_counter_ns": _Call("time.perf_counter_ns()", _CLOCK, _WORKFLOW_TIME),
        "sleep": _Call(
            "time.sleep()",
            "it blocks the workflow task on real time, which does not pass in workflow time",
            "await workflow.sleep(...) or asyncio.sleep(...) (a durable timer)",
        ),
    },
    "random": {
        name: _Call(f"random.{name}()", _CLOCK.replace("its value", "its result"), _RANDOM)
        for name in (
            "betavariate",
            "binomialvariate",
            "choice",
            "choices",
            "expovariate",
            "gammavariate",
            "gauss",
            "getrandbits",
            "lognormvariate",
            "normalvariate",
            "paretovariate",
            "randbytes",
            "randint",
            "random",
            "randrange",
            "sample",
            "shuffle",
            "triangular",
            "uniform",
            "vonmisesvariate",
            "weibullvariate",
        )
    },
    "uuid": {
        "uuid1": _Call("uuid.uuid1()", _CLOCK.replace("its value", "it"), "workflow.uuid4()"),
        "uuid4": _Call("uuid.uuid4()", _CLOCK.replace("its value", "it"), "workflow.uuid4()"),
    },
    "os": {
        "urandom": _Call(
            "os.urandom()", _CLOCK.replace("its value", "its result"), "workflow.random()"
        ),
    },
    "secrets": {
        name: _Call(
            f"secrets.{name}()",
            _CLOCK.replace("its value", "its result"),
            f"{_RANDOM}, or an activity for a real secret",
        )
        for name in ("choice", "randbelow", "randbits", "token_bytes", "token_hex",
                     "token_urlsafe")
    },
}

_DATETIME_METHODS: Final = (
    ("datetime", "now", _Call("datetime.now()", _CLOCK, _NOW)),
    ("datetime", "utcnow", _Call("datetime.utcnow()", _CLOCK, _NOW)),
    ("date", "today", _Call("date.today()", _CLOCK, "workflow.now().date()")),
)



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

#: I/O functions (module, name) refused to workflow code, however deep in libraries it calls
#: them; methods (``socket.socket.__init__``) cover every name their class is imported by.
_EFFECTS: Final[dict[tuple[str, str], _Effect]] = {
    ("builtins", "open"): _Effect(_FILES, "open", _path_and_mode),
    ("io", "open"): _Effect(_FILES, "open", _path_and_mode),
    ("os", "open"): _Effect(_FILES, "os.open", _first),
    ("os", "listdir"): _Effect("listed a folder", "os.listdir", _first),
    ("os", "scandir"): _Effect("listed a folder", "os.scandir", _first),
    ("os", "mkdir"): _Effect(_FOLDERS, "os.mkdir", _first),
    ("os", "remove"): _Effect(_FOLDERS, "os.remove", _first),
    ("os", "unlink"): _Effect(_FOLDERS, "os.unlink", _first),
    ("os", "rename"): _Effect(_FOLDERS, "os.rename", _first),
    ("os", "replace"): _Effect(_FOLDERS, "os.replace", _first),
    ("os", "rmdir"): _Effect(_FOLDERS, "os.rmdir", _first),
    ("os", "system"): _Effect(_PROCESSES, "os.system", _first),
    ("os", "execv"): _Effect(_PROCESSES, "os.execv", _first),
    ("os", "execve"): _Effect(_PROCESSES, "os.execve", _first),
    ("os", "posix_spawn"): _Effect(_PROCESSES, "os.posix_spawn", _first),
    ("os", "spawnv"): _Effect(_PROCESSES, "os.spawnv", _first),
    ("os", "fork"): _Effect(_PROCESSES, "os.fork", _none),
    ("socket", "getaddrinfo"): _Effect(_NAMES, "socket.getaddrinfo", lambda a, k: a[:2]),
    ("socket", "gethostbyname"): _Effect(_NAMES, "socket.gethostbyname", _first),
    ("socket", "gethostbyaddr"): _Effect(_NAMES, "socket.gethostbyaddr", _first),
}
_METHODS: Final[dict[tuple[str, str, str], _Effect]] = {
    ("socket", "socket", "__init__"): _Effect("made a socket", "socket.socket", _none),
    ("subprocess", "Popen", "__init__"): _Effect(
        _PROCESSES, "subprocess.Popen", lambda a, k: a[1:2] or (k.get("args"),)
    ),
    ("threading", "Thread", "start"): _Effect("started a thread", "threading.Thread.start", _none),
}
_THREADS: Final = (
    "workflow code runs on its workflow's own loop, one task at a time; a thread runs "
    "outside it, at no deterministic point"
)
_THREAD_ALTERNATIVE: Final = (
    "asyncio tasks (asyncio.gather, asyncio.create_task) for concurrency, an activity for "
    "blocking work"
)


# --- is a guarded workflow task running? ---------------------------------------------------


def _no_loop() -> Any:
    return None


#: asyncio's ``_get_running_loop`` once asyncio is loaded (before it, no loop can run).
_running_loop: Callable[[], Any] = _no_loop


def guarded_loop() -> Any:
    """The running loop when it is a guarded workflow's, else None."""
    loop = _running_loop()
    if loop is not None and getattr(loop, FLAG, False):
        return loop
    return None


# --- installing ----------------------------------------------------------------------------

_lock = threading.Lock()
_installed_late = False
#: Whether the ``time`` functions and ``datetime.now`` may be wrapped (None: not decided yet).
_clock_patchable: bool | None = None
#: Every module whose functions or classes the guard wraps.
_MODULES: Final = frozenset(
    [
        *_FUNCTIONS,
        *(module for module, _ in _EFFECTS),
        *(module for module, _, _ in _METHODS),
        "random",
        "freezegun.api",
    ]
)
#: Which of :data:`_MODULES` were loaded when :func:`install_functions` last ran.
_scanned: frozenset[str] = frozenset()
_CLOCK_NAMES: Final = tuple(_FUNCTIONS["time"])
#: ``time``'s clock functions as :func:`install_functions` left them (all guard wrappers).
_clock_wrappers: tuple[Any, ...] = ()


def install_functions() -> None:
    """Wrap the guarded functions of the modules already imported (idempotent, cheap).

    The plugin calls this when pytest starts, so that test and workflow modules imported later
    bind the wrappers even with ``from uuid import uuid4``; a module imported after it (say
    ``secrets``) is wrapped by the next :func:`install`.
    """
    global _clock_patchable, _scanned, _clock_wrappers
    with _lock:
        _scanned = frozenset(sys.modules.keys() & _MODULES)
        if _clock_patchable is None:
            _clock_patchable = _make_way_for_time_machine()
        for module_name, calls in _FUNCTIONS.items():
            module = sys.modules.get(module_name)
            if module is None or (module_name == "time" and not _clock_patchable):
                continue
            for name, call in calls.items():
                current = getattr(module, name, None)
                if current is not None and not getattr(current, "__durable_guard__", False):
                    _patch(module, name, current, _wrap_function(current, call))
        if _clock_patchable:
            _clock_wrappers = tuple(map(sys.modules["time"].__dict__.get, _CLOCK_NAMES))
            _patch_freezegun()
        _patch_random_class()
        for (module_name, name), effect in _EFFECTS.items():
            module = sys.modules.get(module_name)
            current = getattr(module, name, None)
            if current is not None and not getattr(current, "__durable_guard__", False):
                _patch(module, name, current, _wrap_effect(current, effect))
        for (module_name, class_name, name), effect in _METHODS.items():
            cls = getattr(sys.modules.get(module_name), class_name, None)
            if cls is None:  # its module is not loaded yet (None has an __init__ too)
                continue
            current = getattr(cls, name, None)
            if current is not None and not getattr(current, "__durable_guard__", False):
                _patch(cls, name, current, _wrap_effect(current, effect))


#: Every patch in place: (id of its owner, name) -> (owner, what was there, the replacement).
_patches: dict[tuple[int, str], tuple[Any, Any, Any]] = {}


def _patch(owner: Any, name: str, original: Any, replacement: Any) -> None:
    if not _patches:
        import atexit

        atexit.register(_unpatch)
    _patches[id(owner), name] = (owner, original, replacement)
    setattr(owner, name, replacement)


def _unpatch() -> None:
    """At exit, put back what the guard replaced (where it is still the guard's).

    Nothing runs a workflow then. A module holding a function of this one keeps this module's
    globals alive into the interpreter's teardown, which then takes its garbage collections over
    them again and again: two milliseconds of every pytest run, for nothing.
    """
    with _lock:
        for (_, name), (owner, original, replacement) in _patches.items():
            if getattr(owner, "__dict__", {}).get(name) is replacement:
                setattr(owner, name, original)
        _patches.clear()


def install() -> None:
    """Install every patch of the guard in this process (idempotent).

    Engines with the guard on call this when they are made; it also wraps again a function
    someone put back meanwhile (freezegun restores ``time.time`` when it stops).
    """
    if _installed_late and _up_to_date():
        return
    install_functions()
    if not _installed_late:
        _install_the_rest()


def _up_to_date() -> bool:
    """Whether :func:`install_functions` would change nothing now, checked cheaply.

    That is so when no guarded module was imported since its last scan and the clocks, the only
    functions put back behind the guard's back (by freezegun when it stops), are still wrapped.
    Engines are made by the thousand in a suite: this keeps the full scan out of each, and
    itself costs no Python-level loop (``sys.modules`` holds a thousand modules in a suite:
    the intersection looks each guarded name up in it, never the other way round).
    """
    if sys.modules.keys() & _MODULES != _scanned:
        return False
    # A clock put back (freezegun stopping) is no longer the wrapper installed in its place.
    clocks = sys.modules["time"].__dict__
    return not _clock_patchable or tuple(map(clocks.get, _CLOCK_NAMES)) == _clock_wrappers


def _install_the_rest() -> None:
    global _installed_late, _running_loop
    with _lock:
        if _installed_late:
            return
        import asyncio

        _running_loop = asyncio.events._get_running_loop
        _patch_datetime()
        _load_checks()
        _installed_late = True


def _wrap_function(original: Callable[..., Any], call: _Call) -> Callable[..., Any]:
    @functools.wraps(original)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        loop = _running_loop()
        if loop is not None and getattr(loop, FLAG, False):
            _check_caller(call, sys._getframe(1), loop)
        return original(*args, **kwargs)

    guarded.__durable_guard__ = True  # type: ignore[attr-defined]
    return guarded


def _wrap_effect(original: Callable[..., Any], effect: _Effect) -> Callable[..., Any]:
    @functools.wraps(original)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        loop = _running_loop()
        if loop is not None and getattr(loop, FLAG, False):
            _check_effect(effect, args, kwargs, sys._getframe(1), loop)
        return original(*args, **kwargs)

    guarded.__durable_guard__ = True  # type: ignore[attr-defined]
    return guarded


def _patch_datetime() -> None:
    """Guard ``datetime.now``/``utcnow``/``date.today`` in the classes themselves.

    The classes are immutable C types, and ``from datetime import datetime`` binds the class,
    not a module attribute: the guarded classmethod goes into the type's own dictionary (then
    the type's method cache is invalidated), where every spelling finds it and subclasses
    inherit it. Where that is impossible (not CPython), these three calls are not guarded.
    """
    import ctypes
    import datetime
    import gc

    if not _clock_patchable:
        return
    for class_name, name, call in _DATETIME_METHODS:
        cls = getattr(datetime, class_name)
        original = cls.__dict__.get(name)
        if original is None or getattr(original, "__durable_guard__", False):
            continue
        referents = gc.get_referents(cls.__dict__)
        if len(referents) != 1 or not isinstance(referents[0], dict):
            return
        referents[0][name] = _GuardedClassMethod(_wrap_classmethod(original, call))
        ctypes.pythonapi.PyType_Modified(ctypes.py_object(cls))


def _make_way_for_time_machine() -> bool:
    """Whether the clocks may be guarded alongside time-machine, if it is installed.

    time-machine rewrites the C functions of ``time.time``, ``datetime.now``... in place, and
    finds them once: since 2.19 when its extension is imported, which this does now, so that it
    holds the real ones and never the guard's wrappers; before 2.19, when a travel starts (the
    wrappers by then, which it would corrupt), so the clocks are left unguarded.
    """
    import importlib.util

    spec = importlib.util.find_spec("_time_machine")
    if spec is None:
        return True
    try:
        major, minor = _time_machine_version(spec.origin)
    except (ImportError, ValueError):  # pragma: no cover - an installation without metadata
        return False
    if (major, minor) < (2, 19):  # pragma: no cover - the project's environments have 3.x
        return False
    import _time_machine  # noqa: F401 - see the docstring

    return True


def _time_machine_version(extension: str | None) -> tuple[int, int]:
    """time-machine's version, from the metadata folder beside its extension module.

    ``importlib.metadata.version`` would find it too, by reading every installed distribution's
    metadata: several milliseconds of every pytest run, where the folder beside the extension
    names the version at the cost of one directory listing.
    """
    import os

    if extension:
        folder = os.path.dirname(extension)
        for entry in os.listdir(folder):
            if entry.startswith("time_machine-") and entry.endswith(".dist-info"):
                version = entry[len("time_machine-") : -len(".dist-info")]
                major, minor = version.split(".")[:2]
                return int(major), int(minor)
    import importlib.metadata

    major, minor = importlib.metadata.version("time-machine").split(".")[:2]
    return int(major), int(minor)


def _patch_freezegun() -> None:
    """Guard freezegun's stand-in classes too, when it is loaded.

    While it runs, freezegun replaces every module's reference to ``datetime`` and ``date``
    with its own subclasses, whose ``now``/``utcnow``/``today`` do not call the real ones.
    """
    api = sys.modules.get("freezegun.api")
    for class_name, name, call in _DATETIME_METHODS:
        cls = getattr(api, f"Fake{class_name.capitalize()}", None)
        original = getattr(cls, "__dict__", {}).get(name)
        if isinstance(original, classmethod) and not getattr(original, "__durable_guard__", False):
            _patch(cls, name, original, _GuardedClassMethod(_wrap_classmethod(original, call)))


class _GuardedClassMethod(classmethod):  # type: ignore[type-arg]
    __durable_guard__ = True


_UNSEEDED: Final = _Call(
    "random.Random() without a seed",
    "it is seeded from the operating system's randomness, differently on every run and on "
    "every replay",
    f"{_RANDOM}, or random.Random(seed) with a seed from it",
)


def _patch_random_class() -> None:
    """Guard ``random.Random()`` made without a seed (``SystemRandom()`` too, a subclass)."""
    cls = getattr(sys.modules.get("random"), "Random", None)
    if cls is None:  # random is not loaded yet (and None has an __init__ too)
        return
    init = cls.__init__
    if getattr(init, "__durable_guard__", False):
        return

    @functools.wraps(init)
    def guarded_init(self: Any, x: Any = None) -> None:
        if x is None:
            loop = _running_loop()
            if loop is not None and getattr(loop, FLAG, False):
                _check_caller(_UNSEEDED, sys._getframe(1), loop)
        init(self, x)

    guarded_init.__durable_guard__ = True  # type: ignore[attr-defined]
    _patch(cls, "__init__", init, guarded_init)


def _wrap_classmethod(original: Any, call: _Call) -> Callable[..., Any]:
    def guarded(cls: type, *args: Any, **kwargs: Any) -> Any:
        loop = _running_loop()
        if loop is not None and getattr(loop, FLAG, False):
            _check_caller(call, sys._getframe(1), loop)
        return original.__get__(None, cls)(*args, **kwargs)

    guarded.__name__ = guarded.__qualname__ = original.__name__
    guarded.__doc__ = original.__doc__
    return guarded


# --- checking a call (in :mod:`._guard_checks`, loaded by the first call to check) --------------


_loading_checks = False


def _load_checks() -> bool:
    """Load the checks; False while they are loading (their module's imports call wrappers).

    The first guarded engine loads them (:func:`_install_the_rest`), outside any workflow task;
    a wrapper loads them itself only if a guarded loop runs before that.
    """
    global _check_caller, _check_effect, _loading_checks
    if _loading_checks:
        return False
    _loading_checks = True
    try:
        from . import _guard_checks
    finally:
        _loading_checks = False
    _check_caller = _guard_checks.check_caller
    _check_effect = _guard_checks.check_effect
    return True


def _first_check_caller(call: _Call, frame: FrameType, loop: Any) -> None:
    if _load_checks():
        _check_caller(call, frame, loop)


def _first_check_effect(
    effect: _Effect,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    frame: FrameType | None,
    loop: Any,
) -> None:
    if _load_checks():
        _check_effect(effect, args, kwargs, frame, loop)


#: Refuses ``call`` if workflow code made it itself (:func:`._guard_checks.check_caller`).
_check_caller: Callable[[_Call, FrameType, Any], None] = _first_check_caller
#: Refuses an effect workflow code asked for (:func:`._guard_checks.check_effect`).
_check_effect: Callable[
    [_Effect, tuple[Any, ...], dict[str, Any], FrameType | None, Any], None
] = _first_check_effect


_WALL_CLOCK: Final = _Call(
    "the wall clock (time.localtime(), time.strftime()...)", _CLOCK, _NOW
)


def check_wall_clock_read(frame: FrameType) -> None:
    """Refuse a wall-clock read by workflow code seen where the clock is read (time-machine).

    Under ``patch_time``, time-machine routes every wall-clock read through one function,
    including those no wrapper covers; ``frame`` is that read's caller.
    """
    loop = guarded_loop()
    if loop is not None:
        _check_caller(_WALL_CLOCK, frame, loop)
