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


def split_events(buffer: bytes) -> tuple[list[tuple[str, bytes]], bytes]:
    """The complete events in ``buffer`` as (name, data), and the incomplete rest.

    Lines end in CRLF or LF; an event ends at a blank line; comments (heartbeats) and
    events without data are skipped; several ``data`` lines join with a newline.
    """
    text = buffer.replace(b"\r\n", b"\n")
    end = text.rfind(b"\n\n")
    if end < 0:
        return [], buffer
    out: list[tuple[str, bytes]] = []
    for block in text[:end].split(b"\n\n"):
        name, data = "message", bytearray()
        for line in block.split(b"\n"):
            if line.startswith(b"event:"):
                name = line[6:].strip().decode()
            elif line.startswith(b"data:"):
                if data:
                    data += b"\n"
                data += line[5:].lstrip(b" ")
        if data:
            out.append((name, bytes(data)))
    return out, text[end + 2 :]


async def subscribe(host: str, port: int, path: str, on_event: OnEvent) -> None:
    """Read one stream until cancelled or closed by the server (whole chunks at a time:
    this process reads a thousand streams on the cores the gateway uses)."""
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
        rest = b""
        while chunk := await reader.read(1 << 20):
            at = time.perf_counter()
            found, rest = split_events(rest + chunk)
            for name, data in found:
                on_event(name, data, at)
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()
