"""Request limits: bodies over ``max_bytes`` (413), and stream parameters that fail
FastAPI's validation (400, like every other malformed stream parameter).

Flows in: every HTTP request. Flows out: the request unchanged, or a 413
``{"error": ..., "position": null}`` before the app reads more than ``max_bytes``.

A declared ``Content-Length`` over the limit is refused before any byte is read; a
chunked (or lying) body is counted as it arrives and refused at the first chunk past the
limit, so a client cannot make the gateway buffer an unbounded body. No endpoint takes
more than a Gremlin query (``querying.MAX_QUERY_CHARS``) in its body.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.exception_handlers import request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.responses import error


class BodyTooLarge(Exception):
    pass


class BodyLimit:
    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await self._refuse(scope, receive, send)
            return
        received = 0
        started = False

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge
            return message

        async def tracked(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted, tracked)
        except BodyTooLarge:
            if started:
                raise
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response: Any = error(f"request body over {self.max_bytes} bytes", status=413)
        await response(scope, receive, send)


#: Routes that open an SSE stream: their malformed parameters are a 400 (docs/api.md).
STREAM_PATHS = ("/api/v1/stream", "/api/v1/alerts")


async def validation_error(request: Request, exc: Exception) -> Response:
    """A 400 for a stream's parameters (e.g. a filter over its length); FastAPI's 422
    elsewhere."""
    assert isinstance(exc, RequestValidationError)
    if request.url.path in STREAM_PATHS:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg')}" for e in exc.errors()
        )
        return error(problems or "malformed parameters")
    return await request_validation_exception_handler(request, exc)
