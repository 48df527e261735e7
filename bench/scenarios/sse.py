"""A minimal Server-Sent Events client for loopback benchmarks (many at once, cheaply).

Flows in: the gateway's host/port, a request path, and a callback.
Flows out: ``(event name, data bytes, arrival time)`` per event to the callback, until
cancelled. HTTP/1.0 keeps the body unchunked (the server closes the connection at the
end), so the stream is plain ``field: value`` lines.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import Callable
from urllib.parse import quote

OnEvent = Callable[[str, bytes, float], None]

_SEQ = re.compile(rb'"bench-seq":\s*"(\d+)"')


def probe_seq(data: bytes) -> int | None:
    """The ``bench-seq`` label carried by an event's data, if any."""
    found = _SEQ.search(data)
    return int(found.group(1)) if found else None


def stream_path(filter_text: str) -> str:
    return f"/api/v1/stream?filter={quote(filter_text)}"


async def subscribe(host: str, port: int, path: str, on_event: OnEvent) -> None:
    """Read one stream until cancelled or closed by the server."""
    reader, writer = await asyncio.open_connection(host, port, limit=64 * 1024 * 1024)
    try:
        head = f"GET {path} HTTP/1.0\r\nHost: {host}:{port}\r\nAccept: text/event-stream\r\n"
        writer.write(f"{head}\r\n".encode())
        await writer.drain()
        status = await reader.readline()
        if b" 200 " not in status:
            raise RuntimeError(f"stream refused: {status!r} {await reader.read(500)!r}")
        while (await reader.readline()).strip():
            pass  # headers
        name, data = "message", bytearray()
        while line := await reader.readline():
            line = line.rstrip(b"\r\n")
            if not line:
                if data:
                    on_event(name, bytes(data), time.perf_counter())
                name, data = "message", bytearray()
            elif line.startswith(b"event:"):
                name = line[6:].strip().decode()
            elif line.startswith(b"data:"):
                if data:
                    data += b"\n"
                data += line[5:].lstrip(b" ")
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()
