"""An SSE response over pre-encoded chunks: one send per chunk, a shared shutdown watch.

Flows in: an async iterator of SSE bytes (``wire``), the heartbeat interval and the send
timeout. Flows out: a ``200 text/event-stream`` response whose body is the chunks, with a
comment (``: ping - <time>``) once ``ping_s`` seconds passed without a chunk.

The stream ends when the iterator ends (the body is then closed), when the client
disconnects, when one send has been waiting longer than ``send_timeout_s`` (a client that
stopped reading), or when the server shuts down (uvicorn's exit signal, as sse-starlette
detects it), so open streams never hold up a shutdown; the iterator is closed in every
case, so its cleanup runs. A chunk costs one ``send``: no cancel scope, timer or lock per
chunk (sse-starlette's per-message path was most of the fan-out's CPU). The timeout and
the heartbeat are checked by one watcher per stream that wakes every few seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import weakref
from collections.abc import AsyncIterator
from datetime import UTC, datetime

from sse_starlette.sse import AppStatus
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from gateway import wire

#: How often the shared watcher looks at the server's exit flag (seconds).
SHUTDOWN_POLL_S = 0.5
#: How long a stream ended by a shutdown may take to send the end of its body.
SHUTDOWN_END_S = 1.0


class EventStream(Response):
    media_type = "text/event-stream"

    def __init__(
        self,
        chunks: AsyncIterator[bytes],
        *,
        ping_s: float,
        send_timeout_s: float = 30.0,
        status_code: int = 200,
    ) -> None:
        self.status_code = status_code
        self.background = None
        self._chunks = chunks
        self._ping_s = ping_s
        self._send_timeout_s = send_timeout_s
        #: Loop time the pending send started (None: not sending), and of the last send.
        self._sending: float | None = None
        self._last = 0.0
        self.init_headers(
            {"Cache-Control": "no-store", "Connection": "keep-alive", "X-Accel-Buffering": "no"}
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )
        if scope.get("method") == "HEAD":
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            await _close(self._chunks)
            return
        loop = asyncio.get_running_loop()
        self._last = loop.time()
        writer = asyncio.ensure_future(self._write(send, loop))
        exiting = asyncio.ensure_future(_until_exit(loop))
        watchers = [
            asyncio.ensure_future(_disconnected(receive)),
            asyncio.ensure_future(self._watch(send, loop)),
            exiting,
        ]
        done: set[asyncio.Future[None]] = set()
        try:
            done, _ = await asyncio.wait([writer, *watchers], return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (writer, *watchers):
                task.cancel()
            await asyncio.gather(writer, *watchers, return_exceptions=True)
            await _close(self._chunks)
        if writer in done and writer.exception() is not None:
            raise writer.exception()  # type: ignore[misc]
        if exiting in done and writer not in done:
            # Server shutdown: end the body properly, so the client sees a finished stream
            # (and reconnects), unless it does not even read that.
            end = {"type": "http.response.body", "body": b"", "more_body": False}
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(send(end), SHUTDOWN_END_S)
        if self.background is not None:
            await self.background()

    async def _write(self, send: Send, loop: asyncio.AbstractEventLoop) -> None:
        async for chunk in self._chunks:
            await self._send(send, loop, chunk)
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def _send(self, send: Send, loop: asyncio.AbstractEventLoop, chunk: bytes) -> None:
        self._sending = loop.time()
        await send({"type": "http.response.body", "body": chunk, "more_body": True})
        self._sending = None
        self._last = loop.time()

    async def _watch(self, send: Send, loop: asyncio.AbstractEventLoop) -> None:
        """Heartbeats on an idle stream; returns (ending it) when a send is stuck."""
        tick = max(0.01, min(self._ping_s, self._send_timeout_s) / 2)
        while True:
            await asyncio.sleep(tick)
            now = loop.time()
            if self._sending is not None:
                if now - self._sending >= self._send_timeout_s:
                    return
                continue
            if now - self._last >= self._ping_s:
                ping = wire.comment(f"ping - {datetime.now(UTC)}")
                try:
                    await asyncio.wait_for(
                        self._send(send, loop, ping), timeout=self._send_timeout_s
                    )
                except TimeoutError:
                    return


async def _disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def _close(chunks: AsyncIterator[bytes]) -> None:
    aclose = getattr(chunks, "aclose", None)
    if aclose is not None:
        with contextlib.suppress(Exception):
            await aclose()


# -- server shutdown: one watcher per event loop while it has streams -----------------


class _Exit:
    def __init__(self) -> None:
        self.event = asyncio.Event()
        self.streams = 0
        self.watcher: asyncio.Task[None] | None = None


_exits: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Exit] = weakref.WeakKeyDictionary()


async def _until_exit(loop: asyncio.AbstractEventLoop) -> None:
    """Returns once the server is exiting; one watcher per loop polls for all streams."""
    state = _exits.get(loop)
    if state is None:
        state = _exits[loop] = _Exit()
    state.streams += 1
    try:
        if state.watcher is None and not state.event.is_set():
            state.watcher = loop.create_task(_watch_exit(state), name="sse-shutdown-watch")
        await state.event.wait()
    finally:
        state.streams -= 1
        if state.streams == 0 and state.event.is_set() and _exits.get(loop) is state:
            del _exits[loop]  # that server is gone; a later one on this loop starts afresh


async def _watch_exit(state: _Exit) -> None:
    try:
        while state.streams > 0:
            if _server_exiting():
                state.event.set()
                return
            await asyncio.sleep(SHUTDOWN_POLL_S)
    finally:
        state.watcher = None


def _server_exiting() -> bool:
    """uvicorn's exit flag: sse-starlette's patched handler, else the server's own."""
    if AppStatus.should_exit:
        return True
    handler = signal.getsignal(signal.SIGTERM)
    server = getattr(handler, "__self__", None)
    return bool(getattr(server, "should_exit", False))
