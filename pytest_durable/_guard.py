"""The determinism guard's wrappers: workflow code that reads the world fails at the call.

The first guarded engine wraps the guarded functions (clocks, randomness, files, processes,
threads...), and points the names that modules imported since pytest started bound to them
(``from uuid import uuid4`` in a workflow or test module) at the wrappers: a pytest run that
never makes an engine pays nothing for the guard. Outside a guarded workflow task a wrapper costs
one question (is the running loop a guarded workflow's?). What is refused, why, and the
``datetime`` classes' guard load with the first guarded engine: see :mod:`._guard_checks`.
"""

from __future__ import annotations

import functools
import sys
import threading
from collections.abc import Callable
from types import ModuleType
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from types import FrameType

#: The attribute of a workflow's event loop saying that its code is guarded.
FLAG: Final = "determinism_guard"

#: Functions refused when workflow code calls them itself, by module. A wrapper knows its call by
#: the dotted name (``"time.time"``), under which :mod:`._guard_checks` keeps its message.
_FUNCTIONS: Final = {
    "time": (
        "time",
        "time_ns",
        "monotonic",
        "monotonic_ns",
        "perf_counter",
        "perf_counter_ns",
        "sleep",
    ),
    "random": (
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
    ),
    "uuid": ("uuid1", "uuid4"),
    "os": ("urandom",),
    "secrets": ("choice", "randbelow", "randbits", "token_bytes", "token_hex", "token_urlsafe"),
}
#: I/O functions refused to workflow code however deep in libraries it calls them, by module.
_EFFECTS: Final = {
    "builtins": ("open",),
    "io": ("open",),
    "os": (
        "open",
        "listdir",
        "scandir",
        "mkdir",
        "remove",
        "unlink",
        "rename",
        "replace",
        "rmdir",
        "system",
        "execv",
        "execve",
        "posix_spawn",
        "spawnv",
        "fork",
    ),
    "socket": ("getaddrinfo", "gethostbyname", "gethostbyaddr"),
}
#: I/O methods, module -> (class, name): they cover every name their class is imported by.
_METHODS: Final = {
    "socket": ("socket", "__init__"),
    "subprocess": ("Popen", "__init__"),
    "threading": ("Thread", "start"),
}


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
_MODULES: Final = frozenset([*_FUNCTIONS, *_EFFECTS, *_METHODS, "freezegun.api"])
#: Which of :data:`_MODULES` were loaded when :func:`install_functions` last ran.
_scanned: frozenset[str] = frozenset()
_CLOCK_NAMES: Final = _FUNCTIONS["time"]
#: ``time``'s clock functions as :func:`install_functions` left them (all guard wrappers).
_clock_wrappers: tuple[Any, ...] = ()


def install_functions() -> None:
    """Wrap the guarded functions of the modules already imported (idempotent, cheap).

    Modules imported later bind the wrappers even with ``from uuid import uuid4``; those
    imported since pytest started that bound an original are pointed at its wrapper
    (:func:`_rebind`). A guarded module imported later (say ``secrets``) is wrapped by the next
    :func:`install`.
    """
    global _clock_patchable, _scanned, _clock_wrappers
    with _lock:
        patched = len(_patches)
        _scanned = frozenset(sys.modules.keys() & _MODULES)
        if _clock_patchable is None:
            _clock_patchable = _make_way_for_time_machine()
        for module_name, names in _FUNCTIONS.items():
            if module_name != "time" or _clock_patchable:
                _wrap_all(sys.modules.get(module_name), module_name, names, _wrap_function)
        if _clock_patchable:
            _clock_wrappers = tuple(map(sys.modules["time"].__dict__.get, _CLOCK_NAMES))
            if "freezegun.api" in sys.modules:
                from ._guard_datetime import patch_freezegun

                patch_freezegun()
        _patch_random_class()
        for module_name, names in _EFFECTS.items():
            _wrap_all(sys.modules.get(module_name), module_name, names, _wrap_effect)
        for module_name, (class_name, name) in _METHODS.items():
            cls = getattr(sys.modules.get(module_name), class_name, None)
            _wrap_all(cls, f"{module_name}.{class_name}", (name,), _wrap_effect)
        if len(_patches) > patched:
            _rebind()


def _rebind() -> None:
    """Point names bound to a guarded function since pytest started at its wrapper.

    That is ``from uuid import uuid4`` in a test or workflow module imported before the first
    guarded engine: modules of workflow code (:func:`._guard_checks.is_workflow_file`, files
    outside the standard library, installed packages and this package) loaded since the plugin
    was. Libraries keep what they hold (a clock kept on purpose, freezegun's real functions),
    except a guarded workflow's own package (:func:`guard_workflow_package`); other names bound
    before the plugin loaded, or outside pytest before the first engine, escape the guard, as
    any reference to the original held elsewhere does.
    """
    before = getattr(sys.modules.get("pytest_durable.plugin"), "MODULES_AT_START", None)
    if before is None:
        return
    from ._guard_checks import is_workflow_file

    wrappers = _wrappers_by_original()
    for name in sys.modules.keys() - before:
        module = sys.modules.get(name)
        if isinstance(module, ModuleType):
            filename = module.__dict__.get("__file__")
            if isinstance(filename, str) and is_workflow_file(filename):
                _rebind_names(module.__dict__, wrappers)


#: The top-level packages whose workflows ran guarded (their modules' names rebound once).
_workflow_packages: set[str] = set()


def guard_workflow_package(module_name: str) -> None:
    """Point the names a guarded workflow's own package bound to guarded functions at wrappers.

    The guard counts the running workflow's top-level package as workflow code even when it is
    installed (:mod:`._guard_checks`), where :func:`_rebind` leaves installed packages alone: the
    engine calls this when it makes a guarded workflow instance, which rebinds once per package.
    """
    top = module_name.partition(".")[0]
    if top in _workflow_packages or not _patches:
        return
    _workflow_packages.add(top)
    if top == __name__.partition(".")[0]:  # this package's own workflows
        return
    prefix = top + "."
    with _lock:
        wrappers = _wrappers_by_original()
        for name, module in list(sys.modules.items()):
            if (name == top or name.startswith(prefix)) and isinstance(module, ModuleType):
                _rebind_names(module.__dict__, wrappers)


def _wrappers_by_original() -> dict[int, Any]:
    """The wrapper of each module function the guard replaced, by the original's id."""
    return {
        id(original): wrapper
        for owner, original, wrapper in _patches.values()
        if isinstance(owner, ModuleType)
    }


def _rebind_names(namespace: dict[str, Any], wrappers: dict[int, Any]) -> None:
    for key, value in list(namespace.items()):
        wrapper = wrappers.get(id(value))
        if wrapper is not None:
            namespace[key] = wrapper


def _wrap_all(
    owner: Any,
    prefix: str,
    names: tuple[str, ...],
    wrap: Callable[[Callable[..., Any], str], Callable[..., Any]],
) -> None:
    """Wrap ``owner``'s functions ``names`` not wrapped yet (none if ``owner`` is not loaded)."""
    if owner is None:  # (None has an __init__ too)
        return
    for name in names:
        current = getattr(owner, name, None)
        if current is not None and not getattr(current, "__durable_guard__", False):
            _patch(owner, name, current, wrap(current, f"{prefix}.{name}"))


#: Every patch in place: (id of its owner, name) -> (owner, what was there, the replacement).
_patches: dict[tuple[int, str], tuple[Any, Any, Any]] = {}


def _patch(owner: Any, name: str, original: Any, replacement: Any) -> None:
    if not _patches:
        import atexit

        atexit.register(_unpatch)
    _patches[id(owner), name] = (owner, original, replacement)
    setattr(owner, name, replacement)


def _unpatch() -> None:
    """At exit, put back what the guard replaced (where it is still the guard's)."""
    # Nothing runs a workflow then. A module holding a function of this one keeps this module's
    # globals alive into the interpreter's teardown, which then takes its garbage collections
    # over them again and again: two milliseconds of every pytest run, for nothing.
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
    """Whether :func:`install_functions` would change nothing now, checked cheaply."""
    # That is so when no guarded module was imported since its last scan and the clocks, the
    # only functions put back behind the guard's back (by freezegun when it stops), are still
    # wrapped. Engines are made by the thousand in a suite: this keeps the full scan out of
    # each, and itself costs no Python-level loop (``sys.modules`` holds a thousand modules in
    # a suite: the intersection looks each guarded name up in it, never the other way round).
    if sys.modules.keys() & _MODULES != _scanned:
        return False
    # A clock put back (freezegun stopping) is no longer the wrapper installed in its place.
    clocks = sys.modules["time"].__dict__
    return not _clock_patchable or tuple(map(clocks.get, _CLOCK_NAMES)) == _clock_wrappers


def _install_the_rest() -> None:
    """What only a guarded engine needs: the running loop, ``datetime``'s guard, the checks."""
    global _installed_late, _running_loop
    with _lock:
        if _installed_late:
            return
        import asyncio

        _running_loop = asyncio.events._get_running_loop
        if _clock_patchable:
            from ._guard_datetime import patch_datetime

            patch_datetime()
        _load_checks()
        _installed_late = True


def _wrap_function(original: Callable[..., Any], key: str) -> Callable[..., Any]:
    @functools.wraps(original)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        loop = _running_loop()
        if loop is not None and getattr(loop, FLAG, False):
            _check_caller(key, sys._getframe(1), loop)
        return original(*args, **kwargs)

    guarded.__durable_guard__ = True  # type: ignore[attr-defined]
    return guarded


def _wrap_effect(original: Callable[..., Any], key: str) -> Callable[..., Any]:
    @functools.wraps(original)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        loop = _running_loop()
        if loop is not None and getattr(loop, FLAG, False):
            _check_effect(key, args, kwargs, sys._getframe(1), loop)
        return original(*args, **kwargs)

    guarded.__durable_guard__ = True  # type: ignore[attr-defined]
    return guarded


def _make_way_for_time_machine() -> bool:
    """Whether the clocks may be guarded alongside time-machine, if it is installed."""
    # time-machine rewrites the C functions of ``time.time``, ``datetime.now``... in place, and
    # finds them once: since 2.19 when its extension is imported, which this does now, so that
    # it holds the real ones and never the guard's wrappers; before 2.19, when a travel starts
    # (the wrappers by then, which it would corrupt), so the clocks are left unguarded.
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
    import _time_machine  # noqa: F401 - see above

    return True


def _time_machine_version(extension: str | None) -> tuple[int, int]:
    """time-machine's version, from the metadata folder beside its extension module."""
    # (``importlib.metadata.version`` reads every installed distribution's metadata to find it.)
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
                _check_caller("random.Random", sys._getframe(1), loop)
        init(self, x)

    guarded_init.__durable_guard__ = True  # type: ignore[attr-defined]
    _patch(cls, "__init__", init, guarded_init)


# --- checking a call (in :mod:`._guard_checks`, loaded by the first call to check) --------------


_loading_checks = False


def _load_checks() -> bool:
    """Load the checks; False while they are loading (their module's imports call wrappers)."""
    # The first guarded engine loads them (:func:`_install_the_rest`), outside any workflow
    # task; a wrapper loads them itself only if a guarded loop runs before that.
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


def _first_check_caller(key: str, frame: FrameType, loop: Any) -> None:
    if _load_checks():
        _check_caller(key, frame, loop)


def _first_check_effect(
    key: str, args: tuple[Any, ...], kwargs: dict[str, Any], frame: FrameType | None, loop: Any
) -> None:
    if _load_checks():
        _check_effect(key, args, kwargs, frame, loop)


#: Refuses the call named ``key`` if workflow code made it (:func:`._guard_checks.check_caller`).
_check_caller: Callable[[str, FrameType, Any], None] = _first_check_caller
#: Refuses an effect workflow code asked for (:func:`._guard_checks.check_effect`).
_check_effect: Callable[
    [str, tuple[Any, ...], dict[str, Any], FrameType | None, Any], None
] = _first_check_effect


def check_wall_clock_read(frame: FrameType) -> None:
    """Refuse a wall-clock read by workflow code (``frame``: the read's caller).

    Under ``patch_time``, time-machine routes every wall-clock read through one function,
    including those no wrapper covers (``time.localtime()``...): it calls this.
    """
    loop = guarded_loop()
    if loop is not None:
        _check_caller("the wall clock", frame, loop)
