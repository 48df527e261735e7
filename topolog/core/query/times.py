"""Time arguments of ``G.At(t[, d])``: instants and durations, without a clock.

Flows in: a literal from the query (epoch seconds, an RFC 3339 or RFC 1123 date string,
a relative Go-style duration such as ``'-1m'`` or ``'-2h30m'``, or NOW).
Flows out: ``ast.Instant`` (absolute, or an offset from the ``now`` the caller passes at
evaluation time) and durations in seconds. Raises ``ValueError`` with a readable
message; parser.py attaches the column.
"""

from __future__ import annotations

import datetime
import email.utils
import math
import re

from topolog.core.query import ast

_UNITS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "μs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
_DURATION = re.compile(r"[+-]?(?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+|[+-]?0")

_EPOCH = re.compile(r"\d{1,12}(?:\.\d*)?")

INSTANT_HELP = "epoch seconds, an RFC 3339 date, a relative duration like '-1m', or NOW"


def duration(text: str) -> float:
    """Go ``time.ParseDuration`` syntax → seconds (signed). ``'-2h30m'`` → -9000.0."""
    text = text.strip()
    if len(text) > 64 or not _DURATION.fullmatch(text):
        raise ValueError(f"{text[:64]!r} is not a duration like '90s', '1m' or '2h30m'")
    sign = -1.0 if text.startswith("-") else 1.0
    total = sum(float(n) * _UNITS[unit] for n, unit in _PART.findall(text))
    if not math.isfinite(total):
        raise ValueError(f"the duration {text!r} is out of range")
    return sign * total


def instant(value: str | int | float) -> ast.Instant:
    """An ``At`` time argument → ``Instant``."""
    if isinstance(value, bool):
        raise ValueError(f"expected a time: {INSTANT_HELP}")
    if isinstance(value, int | float):
        return ast.Instant(absolute=float(value))
    text = value.strip()
    if text.lower() == "now":
        return ast.Instant()
    if _EPOCH.fullmatch(text):
        return ast.Instant(absolute=float(text))
    try:
        return ast.Instant(offset=duration(text))
    except ValueError:
        pass
    when = _date(text)
    if when is None:
        raise ValueError(f"{value[:64]!r} is not a time: expected {INSTANT_HELP}")
    return ast.Instant(absolute=when)


def _date(text: str) -> float | None:
    parsed: datetime.datetime | None = None
    try:
        parsed = datetime.datetime.fromisoformat(text)
    except ValueError:
        try:
            parsed = email.utils.parsedate_to_datetime(text)  # RFC 1123, Skydive's format
        except (ValueError, TypeError, IndexError, OverflowError):
            return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=datetime.UTC)
    try:
        return parsed.timestamp()
    except (OverflowError, ValueError, OSError):
        return None
