"""The SSE bytes the streams send: the fields and framing clients have always received."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from sse_starlette import ServerSentEvent

from gateway import events, wire

DATA: list[Any] = [
    {"ID": "a", "Metadata": {"Name": "line\nbreak\r\nand\u2028sep", "K8s": {"Labels": {}}}},
    {"reason": "the client fell behind"},
    [],
    "text",
]


@pytest.mark.parametrize("data", DATA)
@pytest.mark.parametrize("event_id", [None, "12", "12.3"])
def test_an_event_is_framed_as_sse_starlette_framed_it(data: Any, event_id: str | None) -> None:
    before = ServerSentEvent(data=orjson.dumps(data).decode(), event="NodeAdded", id=event_id)
    assert wire.event("NodeAdded", data, event_id) == before.encode()


def test_a_batch_numbers_its_events_and_can_start_after_a_seen_one() -> None:
    batch = [events.Event("NodeAdded", {"ID": str(i)}) for i in range(3)]
    whole = wire.batch(7, batch, history="5f3a09c1")
    assert whole == b"".join(
        wire.event(e.name, e.data, f"5f3a09c1:7.{i}") for i, e in enumerate(batch)
    )
    second = wire.batch(7, batch, first=2, history="5f3a09c1")
    assert second == wire.event("NodeAdded", {"ID": "2"}, "5f3a09c1:7.2")
    assert wire.batch(7, batch, first=3, history="5f3a09c1") == b""


def test_the_encoder_serializes_one_object_once_and_tells_equal_objects_apart() -> None:
    shared = {"ID": "a"}
    encoder = wire.Encoder()
    first = encoder.data(shared)
    assert encoder.data(shared) is first
    other = {"ID": "b"}
    assert encoder.data(other) == b'{"ID":"b"}'
