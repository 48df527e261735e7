"""The Server-Sent Events wire format, encoded once and shared by every stream that sends it.

Flows in: ``events.Event`` values with their ids (``<history>:<revision>.<index>``,
``<history>:<revision>``: ``events.Cursor``).
Flows out: the bytes of the SSE fields — ``id``, ``event``, one ``data`` line of JSON — each
line ending in CRLF and each event in a blank line (what ``sse-starlette`` wrote before).
JSON never holds a raw line break (orjson escapes them), so ``data`` is always one line.

``Encoder`` memoizes the JSON of the same element object within one fan-out: the hub
renders one batch per distinct filter, and those batches often carry the same element
dicts (an upsert visible to several filters is serialized once).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from gateway.events import Event

_EOL = b"\r\n"


def event(name: str, data: Any, event_id: str | None = None) -> bytes:
    """One event's bytes; ``data`` as JSON."""
    return _frame(name, orjson.dumps(data), event_id)


def comment(text: str) -> bytes:
    """A comment line (heartbeat): clients ignore it."""
    return b": " + text.encode() + _EOL + _EOL


def _frame(name: str, data: bytes, event_id: str | None) -> bytes:
    head = b"" if event_id is None else b"id: " + event_id.encode() + _EOL
    return head + b"event: " + name.encode() + _EOL + b"data: " + data + _EOL + _EOL


class Encoder:
    """Encodes batches; the JSON of one data object (by identity) is computed once.

    Keep an encoder only as long as the objects it saw are alive and unchanged (one
    fan-out of one revision): identity is the memo key.
    """

    __slots__ = ("_json",)

    def __init__(self) -> None:
        self._json: dict[int, tuple[Any, bytes]] = {}

    def data(self, obj: Any) -> bytes:
        found = self._json.get(id(obj))
        if found is not None and found[0] is obj:
            return found[1]
        encoded = orjson.dumps(obj)
        self._json[id(obj)] = (obj, encoded)
        return encoded

    def batch(
        self, revision: int, events: Sequence[Event], first: int = 0, *, history: str
    ) -> bytes:
        """Events ``first…`` of a revision's batch, with ids
        ``<history>:<revision>.<index>``."""
        prefix = f"{history}:{revision}."
        return b"".join(
            _frame(e.name, self.data(e.data), f"{prefix}{i}")
            for i, e in enumerate(events)
            if i >= first
        )


def batch(revision: int, events: Sequence[Event], first: int = 0, *, history: str) -> bytes:
    """``Encoder().batch(...)`` for a single use."""
    return Encoder().batch(revision, events, first, history=history)
