"""Time arguments of the REST API (``at``, ``since``, ``from``, ``to``).

Flows in: the text of a query parameter and the request's ``now`` (epoch seconds).
Flows out: epoch seconds. Same syntax as ``G.At``: epoch seconds, an RFC 3339 date, a
relative duration like ``-1h``, or ``now``. ``ValueError`` (→ 400) otherwise.
"""

from __future__ import annotations

from topolog.core.query import times


def parse(text: str, *, now: float) -> float:
    return times.instant(text).resolve(now)


def to_ms(seconds: float) -> int:
    return round(seconds * 1000)
