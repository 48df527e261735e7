"""The Gremlin query language, Skydive's dialect: parse once, evaluate many times.

Flows in: query text; a ``view.TimeTravel`` source of graph views (``memory.py`` here,
the Redis projection in the store); the caller's ``now`` (epoch seconds).
Flows out: Skydive-shaped results, or ``QueryError`` (→ HTTP 400) with the column.

    query = parse("G.V().Has('Type', 'secret', 'Name', 'mysql-pass').In().Has('Type', 'pod')")
    pods = evaluate(query, source=history, now=time.time())
    run("G.At('-1h').V().Count()", source=history, now=time.time())  # parse + evaluate

``element_filter(query)`` turns a pure ``G.V().Has(...)`` chain into a per-element test
(for SSE filters); it is None for anything that walks, counts or travels in time.
"""

from __future__ import annotations

from typing import Any

from topolog.core.query.ast import Direction, Kind, Query
from topolog.core.query.errors import QueryError
from topolog.core.query.evaluator import evaluate
from topolog.core.query.limits import Limits
from topolog.core.query.matching import ElementFilter, element_filter
from topolog.core.query.parser import parse
from topolog.core.query.view import GraphView, TimeTravel, is_indexed

__all__ = [
    "Direction",
    "ElementFilter",
    "GraphView",
    "Kind",
    "Limits",
    "Query",
    "QueryError",
    "TimeTravel",
    "element_filter",
    "evaluate",
    "is_indexed",
    "parse",
    "run",
]


def run(text: str, *, source: TimeTravel, now: float, limits: Limits = Limits()) -> Any:
    """Parse and evaluate ``text`` (see ``evaluate`` for the result shapes)."""
    return evaluate(parse(text), source=source, now=now, limits=limits)
