"""Checks at the boundary: argument counts and payload types, raised at the caller's line.

A wrong call is reported where it was made (the workflow's ``execute_activity`` line, the
test's ``start`` or ``signal``), not later inside the engine. Type checks compare values with the
type hints the JSON conversion decodes by; they are deliberately shallow and lenient: a hint
they cannot judge (a protocol, a type variable, an unresolved name) accepts anything.
"""

from __future__ import annotations

import dataclasses
import enum
import types
import typing
from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import InvalidArgumentError, PayloadError
from ._payload import Signature


def _plural(count: int) -> str:
    return "argument" if count == 1 else "arguments"


def check_arity(
    signature: Signature, args: Sequence[Any], *, owner: str, where: str = ""
) -> None:
    """Raise :class:`InvalidArgumentError` unless ``args`` fit ``signature``'s parameters.

    ``owner`` names the callee (``activity 'charge'``); ``where`` is appended to the message
    (`` at wf.py:12``).
    """
    if arity_fits(signature, len(args)):
        return
    count = len(args)
    names = signature.names
    if count < signature.required:
        missing = ", ".join(repr(n) for n in names[count : signature.required])
        problem = f"is missing {_plural(signature.required - count)} {missing}"
    else:
        problem = f"got {count} {_plural(count)}"
    takes = len(names)
    shape = ", ".join(names)
    raise InvalidArgumentError(
        f"{owner} takes {takes} {_plural(takes)} ({shape}) but the call{where} {problem}: "
        f"{tuple(args)!r}. Pass one value per parameter, in order."
    )


def arity_fits(signature: Signature, count: int) -> bool:
    """Whether ``count`` positional arguments fit ``signature`` (see :func:`check_arity`)."""
    return signature.required <= count and (count <= len(signature.names) or signature.has_varargs)


def types_conform(signature: Signature, args: Sequence[Any]) -> bool:
    """Whether every argument matches its parameter's type hint (see :func:`check_types`)."""
    return all(conforms(v, h) for v, h in zip(args, signature.arg_hints, strict=False))


def check_types(
    signature: Signature, args: Sequence[Any], *, owner: str, where: str = ""
) -> None:
    """Raise :class:`PayloadError` when an argument does not match its parameter's type hint."""
    for index, (value, hint) in enumerate(zip(args, signature.arg_hints, strict=False)):
        if not conforms(value, hint):
            name = signature.names[index]
            raise PayloadError(
                f"argument {name!r} of {owner}{where} is {_show(value)}, but its type hint is "
                f"{_hint_name(hint)}. Check the order and types of the arguments (or turn "
                "these checks off with check_types=False)."
            )


def check_value(value: Any, hint: Any, *, what: str) -> None:
    """Raise :class:`PayloadError` when ``value`` does not match ``hint`` (e.g. a mock's result)."""
    if not conforms(value, hint):
        raise PayloadError(
            f"{what} is {_show(value)}, but the declared type is {_hint_name(hint)} (turn "
            "these checks off with check_types=False)"
        )


def _show(value: Any) -> str:
    text = repr(value)
    if len(text) > 60:
        text = text[:59] + "…"
    return f"{text} ({type(value).__qualname__})"


def _hint_name(hint: Any) -> str:
    if isinstance(hint, type):
        return hint.__qualname__
    return str(hint).replace("typing.", "")


_NUMBERS = (int, float)


def conforms(value: Any, hint: Any) -> bool:
    """Whether ``value`` may stand for ``hint``; True whenever the hint cannot be judged.

    JSON shapes are accepted where the conversion decodes them (a dict for a dataclass or a
    pydantic model, a string for a datetime, a list for a tuple), since a value may arrive
    already encoded.
    """
    # The common case first: no typing machinery for an int or a str.
    if hint is int or hint is str or hint is bool or hint is bytes:
        return isinstance(value, hint)
    if hint is float:
        return isinstance(value, _NUMBERS)
    if hint is None or hint is Any or isinstance(hint, str | typing.TypeVar):
        return True
    if hint is type(None):
        return value is None
    origin = typing.get_origin(hint)
    if origin is not None:
        return _conforms_generic(value, origin, typing.get_args(hint))
    if not isinstance(hint, type):
        return True
    if issubclass(hint, enum.Enum):
        if isinstance(value, hint):
            return True
        return any(member.value == value for member in hint)
    if dataclasses.is_dataclass(hint) or hasattr(hint, "model_validate"):
        return isinstance(value, (hint, Mapping))
    if hint in (list, tuple, set, frozenset):
        return isinstance(value, list | tuple | set | frozenset)
    if hint is dict:
        return isinstance(value, Mapping)
    if getattr(hint, "_is_protocol", False):
        return True
    try:
        if isinstance(value, hint):
            return True
    except TypeError:
        return True
    # Encoded forms the conversion decodes: ISO strings for dates, seconds for timedeltas...
    return isinstance(value, str | int | float) and hint.__module__ in ("datetime", "uuid")


def _conforms_generic(value: Any, origin: Any, args: tuple[Any, ...]) -> bool:
    if origin in (typing.Union, types.UnionType):
        return any(conforms(value, arg) for arg in args)
    if origin is typing.Literal:
        return value in args
    if origin is typing.Annotated:
        return conforms(value, args[0]) if args else True
    if origin in (list, set, frozenset, Sequence) or (
        isinstance(origin, type) and issubclass(origin, Sequence | set | frozenset)
        and origin not in (tuple, str, bytes)
    ):
        if not isinstance(value, list | tuple | set | frozenset):
            return False
        return not args or all(conforms(v, args[0]) for v in value)
    if origin is tuple:
        if not isinstance(value, list | tuple):
            return False
        if len(args) == 2 and args[1] is Ellipsis:
            return all(conforms(v, args[0]) for v in value)
        if args == ((),):
            return len(value) == 0
        if not args:
            return True
        return len(value) == len(args) and all(
            conforms(v, a) for v, a in zip(value, args, strict=True)
        )
    if origin in (dict, Mapping) or (isinstance(origin, type) and issubclass(origin, Mapping)):
        if not isinstance(value, Mapping):
            return False
        if len(args) != 2:
            return True
        return all(conforms(v, args[1]) for v in value.values())
    return True
