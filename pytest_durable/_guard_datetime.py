"""The determinism guard of ``datetime.now``/``utcnow`` and ``date.today``, and freezegun's.

Loaded with the first guarded engine, when the guard wraps the functions.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, Final

from . import _guard
from ._guard import FLAG, _patch

#: The guarded classmethods, (class, name); their call's key is ``"datetime.now"``...
_METHODS: Final = (("datetime", "now"), ("datetime", "utcnow"), ("date", "today"))


class _GuardedClassMethod(classmethod):  # type: ignore[type-arg]
    __durable_guard__ = True


def _wrap_classmethod(original: Any, key: str) -> Callable[..., Any]:
    def guarded(cls: type, *args: Any, **kwargs: Any) -> Any:
        loop = _guard._running_loop()
        if loop is not None and getattr(loop, FLAG, False):
            _guard._check_caller(key, sys._getframe(1), loop)
        return original.__get__(None, cls)(*args, **kwargs)

    guarded.__name__ = guarded.__qualname__ = original.__name__
    guarded.__doc__ = original.__doc__
    return guarded


def patch_datetime() -> None:
    """Guard ``datetime.now``/``utcnow``/``date.today`` in the classes themselves.

    The classes are immutable C types, and ``from datetime import datetime`` binds the class,
    not a module attribute: the guarded classmethod goes into the type's own dictionary (then
    the type's method cache is invalidated), where every spelling finds it and subclasses
    inherit it. Where that is impossible (not CPython), these three calls are not guarded.
    """
    import ctypes
    import datetime
    import gc

    for class_name, name in _METHODS:
        cls = getattr(datetime, class_name)
        original = cls.__dict__.get(name)
        if original is None or getattr(original, "__durable_guard__", False):
            continue
        referents = gc.get_referents(cls.__dict__)
        if len(referents) != 1 or not isinstance(referents[0], dict):
            return
        key = f"{class_name}.{name}"
        referents[0][name] = _GuardedClassMethod(_wrap_classmethod(original, key))
        ctypes.pythonapi.PyType_Modified(ctypes.py_object(cls))


def patch_freezegun() -> None:
    """Guard freezegun's stand-in classes too (``freezegun.api`` is loaded).

    While it runs, freezegun replaces every module's reference to ``datetime`` and ``date``
    with its own subclasses, whose ``now``/``utcnow``/``today`` do not call the real ones.
    """
    api = sys.modules.get("freezegun.api")
    for class_name, name in _METHODS:
        cls = getattr(api, f"Fake{class_name.capitalize()}", None)
        original = getattr(cls, "__dict__", {}).get(name)
        if isinstance(original, classmethod) and not getattr(original, "__durable_guard__", False):
            key = f"{class_name}.{name}"
            _patch(cls, name, original, _GuardedClassMethod(_wrap_classmethod(original, key)))
