"""Whose call is it: the determinism guard's check of a guarded call, and its refusal.

:mod:`._guard` installs the wrappers when pytest starts; this module is loaded by the first call
a wrapper makes during a guarded workflow task, so a run that never starts a workflow never
loads it (nor :mod:`sysconfig`, nor the errors).
"""

from __future__ import annotations

import functools
import os
import sys
import sysconfig
from types import FrameType
from typing import Any, Final

from ._guard import _ACTIVITY, _EFFECT, _THREAD_ALTERNATIVE, _THREADS, _Call, _Effect
from .errors import NondeterministicCallError


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


def check_caller(call: _Call, frame: FrameType, loop: Any) -> None:
    """Refuse ``call`` if workflow code made it itself (see the module docstring)."""
    if _is_workflow_code(frame.f_code.co_filename, loop):
        _refuse(f"called {call.what}", call, frame, loop)


def check_effect(
    effect: _Effect,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    frame: FrameType | None,
    loop: Any,
) -> None:
    """Refuse an effect that workflow code asked for, directly or through libraries."""
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
