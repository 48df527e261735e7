"""The SSE response: chunks as sent, heartbeats when idle, and every way a stream ends
closes its source (so the hub drops the subscriber)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from gateway import eventstream
from gateway.eventstream import EventStream

SCOPE: dict[str, Any] = {"type": "http", "method": "GET"}


class Source:
    """Yields the given chunks, then waits forever; records that it was closed."""

    def __init__(self, *chunks: bytes, end: bool = False) -> None:
        self.chunks = chunks
        self.end = end
        self.closed = False

    async def __call__(self) -> AsyncIterator[bytes]:
        try:
            for chunk in self.chunks:
                yield chunk
            if not self.end:
                await asyncio.Event().wait()
        finally:
            self.closed = True


class Client:
    def __init__(self, *, stall_after: int | None = None) -> None:
        self.messages: list[dict[str, Any]] = []
        self.gone = asyncio.Event()
        self.stall_after = stall_after

    async def receive(self) -> dict[str, Any]:
        await self.gone.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: dict[str, Any]) -> None:
        bodies = [m for m in self.messages if m["type"] == "http.response.body"]
        if self.stall_after is not None and len(bodies) >= self.stall_after:
            await asyncio.Event().wait()  # a client that stopped reading
        self.messages.append(message)

    @property
    def body(self) -> bytes:
        return b"".join(m.get("body", b"") for m in self.messages[1:])


async def test_chunks_go_out_as_they_are_and_the_end_closes_the_body() -> None:
    source, client = Source(b"id: 1\r\nevent: Sync\r\ndata: {}\r\n\r\n", b"x", end=True), Client()
    response = EventStream(source(), ping_s=60)
    await asyncio.wait_for(response(SCOPE, client.receive, client.send), 5)
    start = client.messages[0]
    assert (start["type"], start["status"]) == ("http.response.start", 200)
    headers = dict(start["headers"])
    assert headers[b"content-type"] == b"text/event-stream; charset=utf-8"
    assert headers[b"cache-control"] == b"no-store"
    assert client.body == b"id: 1\r\nevent: Sync\r\ndata: {}\r\n\r\nx"
    assert client.messages[-1] == {"type": "http.response.body", "body": b"", "more_body": False}
    assert source.closed


async def test_an_idle_stream_gets_heartbeats_and_a_disconnect_closes_its_source() -> None:
    source, client = Source(b"first"), Client()
    task = asyncio.create_task(
        EventStream(source(), ping_s=0.05)(SCOPE, client.receive, client.send)
    )
    for _ in range(200):
        if b": ping - " in client.body:
            break
        await asyncio.sleep(0.01)
    assert client.body.startswith(b"first: ping - ")
    assert client.body.endswith(b"\r\n\r\n")
    client.gone.set()
    await asyncio.wait_for(task, 5)
    assert source.closed


async def test_a_client_that_stops_reading_is_dropped_after_the_send_timeout() -> None:
    source, client = Source(b"a", b"b"), Client(stall_after=1)
    response = EventStream(source(), ping_s=60, send_timeout_s=0.1)
    await asyncio.wait_for(response(SCOPE, client.receive, client.send), 5)
    assert client.body == b"a"
    assert source.closed


async def test_server_shutdown_ends_every_open_stream(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(eventstream, "SHUTDOWN_POLL_S", 0.01)
    exiting = False
    monkeypatch.setattr(eventstream, "_server_exiting", lambda: exiting)
    sources = [Source(b"a"), Source(b"b")]
    clients = [Client(), Client()]
    tasks = [
        asyncio.create_task(EventStream(s(), ping_s=60)(SCOPE, c.receive, c.send))
        for s, c in zip(sources, clients, strict=True)
    ]
    await asyncio.sleep(0.05)
    assert not any(t.done() for t in tasks)
    exiting = True
    await asyncio.wait_for(asyncio.gather(*tasks), 5)
    assert all(s.closed for s in sources)
    # Each body is ended properly (a finished response, not a broken connection).
    end = {"type": "http.response.body", "body": b"", "more_body": False}
    assert all(c.messages[-1] == end for c in clients)
    # The next server on this loop starts with open streams again.
    exiting = False
    client = Client()
    later = asyncio.create_task(
        EventStream(Source()(), ping_s=60)(SCOPE, client.receive, client.send)
    )
    await asyncio.sleep(0.05)
    assert not later.done()
    client.gone.set()
    await asyncio.wait_for(later, 5)


async def test_a_failing_source_fails_the_response_after_closing() -> None:
    async def broken() -> AsyncIterator[bytes]:
        yield b"a"
        raise RuntimeError("boom")

    client = Client()
    with pytest.raises(RuntimeError, match="boom"):
        await asyncio.wait_for(
            EventStream(broken(), ping_s=60)(SCOPE, client.receive, client.send), 5
        )
    assert client.body == b"a"
