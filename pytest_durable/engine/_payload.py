"""JSON payloads: encode arguments and results to plain JSON values, decode them by type hint."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import inspect
import sys
import types
import typing
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..errors import PayloadError

_SCALARS = (str, int, float, bool, type(None))
#: Types whose values are their own JSON: ``encode`` returns them as they are.
PLAIN_JSON = frozenset((str, int, bool, type(None)))


def encode(value: Any, *, where: str) -> Any:
    """Turn ``value`` into a JSON value (dict, list, str, number, bool, None).

    Supports dataclasses, pydantic models, enums, datetimes, dates, timedeltas, UUIDs, tuples,
    sets and mappings with string keys. ``where`` names the value in error messages.
    """
    if type(value) in _SCALARS:
        if type(value) is float and (value != value or value in (float("inf"), float("-inf"))):
            raise PayloadError(f"{where} is {value!r}, which JSON cannot represent")
        return value
    if isinstance(value, enum.Enum):
        return encode(value.value, where=where)
    if isinstance(value, list | tuple):
        return [encode(v, where=f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if isinstance(k, enum.Enum):
                k = k.value
            if not isinstance(k, str):
                raise PayloadError(
                    f"{where} has a key {k!r} of type {type(k).__name__}; JSON object keys "
                    "must be strings"
                )
            out[k] = encode(v, where=f"{where}[{k!r}]")
        return out
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: encode(getattr(value, f.name), where=f"{where}.{f.name}")
            for f in dataclasses.fields(value)
        }
    dump = getattr(value, "model_dump", None)
    if dump is not None and callable(dump):
        return dump(mode="json")
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, set | frozenset):
        return [encode(v, where=f"{where}[{i}]") for i, v in enumerate(sorted(value, key=repr))]
    raise PayloadError(
        f"{where} is a {type(value).__qualname__}, which cannot be serialised to JSON. "
        "Payloads must be JSON values, dataclasses, pydantic models or enums."
    )


def encode_args(args: Sequence[Any], names: Sequence[str], *, owner: str) -> list[Any]:
    """Encode positional arguments, naming ``owner`` and each argument in errors."""
    encoded = []
    for i, arg in enumerate(args):
        if type(arg) in _SCALARS and type(arg) is not float:
            encoded.append(arg)
            continue
        name = names[i] if i < len(names) else f"#{i}"
        encoded.append(encode(arg, where=f"argument {name!r} of {owner}"))
    return encoded


def decode(value: Any, hint: Any) -> Any:
    """Decode a JSON value into ``hint`` (a type or type hint); ``Any``/missing hint: as is."""
    if hint is None or hint is Any or hint is inspect.Parameter.empty or value is None:
        return value
    if hint in _SCALARS:
        if hint is float and type(value) is int:
            return float(value)
        return value
    origin = typing.get_origin(hint)
    if origin is not None:
        args = typing.get_args(hint)
        if origin in (typing.Union, types.UnionType):
            for arg in args:
                if arg is type(None):
                    continue
                try:
                    return decode(value, arg)
                except (PayloadError, TypeError, ValueError):
                    continue
            return value
        if origin in (list, Sequence, set, frozenset, typing.get_origin(list[int])) and args:
            items = [decode(v, args[0]) for v in value]
            return origin(items) if origin in (set, frozenset) else items
        if origin is tuple and args:
            if len(args) == 2 and args[1] is Ellipsis:
                return tuple(decode(v, args[0]) for v in value)
            return tuple(decode(v, a) for v, a in zip(value, args, strict=False))
        if origin is dict and len(args) == 2:
            # Keys are JSON strings; enum keys were encoded by value and decode back.
            return {decode(k, args[0]): decode(v, args[1]) for k, v in value.items()}
        if origin is typing.Literal:
            return value
        return value
    if not isinstance(hint, type):
        return value
    if issubclass(hint, enum.Enum):
        return hint(value)
    if dataclasses.is_dataclass(hint):
        if not isinstance(value, dict):
            raise PayloadError(f"cannot decode {value!r} as {hint.__qualname__}: not an object")
        field_hints = _hints(hint)
        kwargs = {}
        for f in dataclasses.fields(hint):
            if f.name in value:
                kwargs[f.name] = decode(value[f.name], field_hints.get(f.name))
        return hint(**kwargs)
    validate = getattr(hint, "model_validate", None)
    if validate is not None:
        return validate(value)
    if issubclass(hint, dt.datetime):
        return dt.datetime.fromisoformat(value)
    if issubclass(hint, dt.date):
        return dt.date.fromisoformat(value)
    if issubclass(hint, dt.time):
        return dt.time.fromisoformat(value)
    if issubclass(hint, dt.timedelta):
        return dt.timedelta(seconds=value)
    if issubclass(hint, uuid.UUID):
        return uuid.UUID(value)
    if hint in (tuple, set, frozenset):
        return hint(value)
    return value


_HINTS_CACHE: dict[Any, dict[str, Any]] = {}


def _hints(obj: Any, localns: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Resolved type hints of ``obj``; ``localns`` resolves names local to where it was defined.

    With ``localns``, the dataclasses the hints mention are resolved in it too (and cached), so
    a dataclass defined in a test function next to its workflow decodes, nested fields included.
    """
    cached = _HINTS_CACHE.get(obj)
    if cached is None:
        cached = _resolve_hints(obj, localns)
        _HINTS_CACHE[obj] = cached
        if localns:
            for hint in cached.values():
                _prime(hint, localns)
    return cached


def _resolve_hints(obj: Any, localns: Mapping[str, Any] | None) -> dict[str, Any]:
    try:
        return typing.get_type_hints(obj, localns=dict(localns) if localns else None)
    except Exception:
        pass
    # Keep every annotation that resolves, rather than losing all for one unknown name.
    globalns = getattr(obj, "__globals__", None)
    if globalns is None:
        module = sys.modules.get(getattr(obj, "__module__", ""))
        globalns = vars(module) if module is not None else {}
    out: dict[str, Any] = {}
    for name, annotation in getattr(obj, "__annotations__", {}).items():
        if isinstance(annotation, str):
            try:
                annotation = eval(annotation, globalns, dict(localns or {}))
            except Exception:
                continue
        out[name] = annotation
    return out


def _prime(hint: Any, localns: Mapping[str, Any]) -> None:
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        if hint not in _HINTS_CACHE:
            _hints(hint, localns)
        return
    for arg in typing.get_args(hint):
        _prime(arg, localns)


_PLAIN_HINTS: dict[Any, type | tuple[type, ...]] = {
    int: int,
    str: str,
    bool: bool,
    bytes: bytes,
    float: (int, float),
}


#: Hints under which :func:`decode` returns a value as it is (``float`` turns an int into one);
#: None is a parameter without a hint.
_AS_IS_HINTS = (int, str, bool, bytes, None, Any)


def _plain_hint(hint: Any) -> type | tuple[type, ...] | None:
    try:
        return _PLAIN_HINTS.get(hint)
    except TypeError:  # an unhashable annotation: not a plain one
        return None


@dataclasses.dataclass(frozen=True, slots=True)
class Signature:
    """The payload-relevant shape of a callable: parameter names and type hints."""

    names: tuple[str, ...]
    arg_hints: tuple[Any, ...]
    return_hint: Any
    has_varargs: bool
    required: int = 0
    """How many of the positional parameters have no default (callers must pass them)."""
    plain_hints: tuple[type | tuple[type, ...], ...] | None = dataclasses.field(
        init=False, repr=False, compare=False
    )
    """When every hint is ``int``, ``str``, ``bool``, ``bytes`` or ``float``: what each argument
    must be an instance of (``float`` takes an ``int`` too), worked out once per definition so
    that checking a call needs no typing introspection; else None."""
    decodes_as_is: bool = dataclasses.field(init=False, repr=False, compare=False)
    """Whether decoding arguments leaves every value as it is: every hint is ``int``, ``str``,
    ``bool``, ``bytes`` or ``Any``, or missing, worked out once per definition."""

    def __post_init__(self) -> None:
        plain = tuple(_plain_hint(hint) for hint in self.arg_hints)
        object.__setattr__(
            self, "plain_hints", None if any(t is None for t in plain) else plain
        )
        object.__setattr__(
            self, "decodes_as_is", all(hint in _AS_IS_HINTS for hint in self.arg_hints)
        )

    @classmethod
    def of(
        cls,
        fn: Callable[..., Any],
        *,
        skip_self: bool = False,
        localns: Mapping[str, Any] | None = None,
    ) -> Signature:
        """Read the signature of ``fn`` (dropping ``self`` for methods).

        ``localns`` holds the names of the scope ``fn`` was defined in, for its annotations.
        """
        sig = inspect.signature(fn)
        params = list(sig.parameters.values())
        if skip_self and params:
            params = params[1:]
        hints = _hints(fn, localns)
        positional = [
            p
            for p in params
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
        return cls(
            names=tuple(p.name for p in positional),
            arg_hints=tuple(hints.get(p.name) for p in positional),
            return_hint=hints.get("return"),
            has_varargs=any(p.kind is p.VAR_POSITIONAL for p in params),
            required=sum(1 for p in positional if p.default is p.empty),
        )

    def decode_args(self, values: Sequence[Any]) -> list[Any]:
        """Decode encoded positional arguments by their hints."""
        if self.decodes_as_is:
            return list(values)  # what decode() would return for each, without a call each
        hints = self.arg_hints
        return [decode(v, hints[i] if i < len(hints) else None) for i, v in enumerate(values)]
