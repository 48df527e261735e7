"""The one exception the query language raises for a bad query or an exceeded limit.

Flows in: a message and, when the problem sits at a place in the query text, its
1-based column (the character offset into the text, counting from 1).
Flows out: ``QueryError``, which the gateway turns into an HTTP 400.
"""

from __future__ import annotations


class QueryError(Exception):
    """A query that cannot be parsed or evaluated within its limits.

    ``str(err)`` reads ``"column 12: unexpected ')'; expected a string, a number ..."``;
    ``message`` and ``position`` are there for callers that render them separately.
    """

    def __init__(self, message: str, position: int | None = None) -> None:
        super().__init__(message if position is None else f"column {position}: {message}")
        self.message = message
        self.position = position
