"""Exact, readable renderings of epoch nanoseconds and durations, as history JSON writes them."""

from __future__ import annotations

import datetime as dt
import functools
import re

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_WHOLE_SECONDS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d")


def format_time(ns: int) -> str:
    """Render epoch nanoseconds as ISO 8601 UTC, keeping every nanosecond: ``...05.000000001Z``."""
    seconds, frac = divmod(ns, 1_000_000_000)
    text = (_EPOCH + dt.timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S")
    if frac:
        text += "." + f"{frac:09d}".rstrip("0")
    return text + "Z"


def parse_time(text: str) -> int:
    """The inverse of :func:`format_time`."""
    if not isinstance(text, str) or not text.endswith("Z"):
        raise ValueError(f"expected a UTC time like '2030-01-01T00:00:00Z', got {text!r}")
    body = text[:-1]
    frac_ns = 0
    if "." in body:
        body, frac = body.split(".", 1)
        if not frac.isdigit() or len(frac) > 9:
            raise ValueError(f"bad fractional seconds in {text!r}")
        frac_ns = int(frac.ljust(9, "0"))
    return _epoch_seconds(body) * 1_000_000_000 + frac_ns


@functools.lru_cache(maxsize=1024)
def _epoch_seconds(body: str) -> int:
    """``2030-01-01T00:00:00`` (UTC) as epoch seconds.

    Cached: a history's events share few instants, and parsing them was most of the time of
    loading a history.
    """
    if _WHOLE_SECONDS.fullmatch(body) is None:
        raise ValueError(f"expected a UTC time like '2030-01-01T00:00:00Z', got {body}Z")
    delta = dt.datetime.fromisoformat(body).replace(tzinfo=dt.UTC) - _EPOCH
    return delta.days * 86_400 + delta.seconds


def format_duration(ns: int) -> str:
    """Render nanoseconds as seconds, exactly: ``"30s"``, ``"0.25s"``, ``"1.000000001s"``."""
    sign = "-" if ns < 0 else ""
    seconds, frac = divmod(abs(ns), 1_000_000_000)
    text = f"{sign}{seconds}"
    if frac:
        text += "." + f"{frac:09d}".rstrip("0")
    return text + "s"


def parse_duration(text: str) -> int:
    """The inverse of :func:`format_duration`."""
    if not isinstance(text, str) or not text.endswith("s"):
        raise ValueError(f"expected a duration like '30s', got {text!r}")
    body = text[:-1]
    sign = 1
    if body.startswith("-"):
        sign, body = -1, body[1:]
    whole, _, frac = body.partition(".")
    if not whole.isdigit() or (frac and (not frac.isdigit() or len(frac) > 9)):
        raise ValueError(f"expected a duration like '30s', got {text!r}")
    return sign * (int(whole) * 1_000_000_000 + int(frac.ljust(9, "0") if frac else 0))
