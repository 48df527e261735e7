"""``GET /api/v1/stream``: the graph's changes as Server-Sent Events.

Flows in: ``filter`` (a selecting Gremlin query: ``G.V()``/``G.E()`` with Has-family steps),
``since`` (a time: replay from then) or the ``Last-Event-ID`` header (continue after it).
Flows out: ``sse.run``'s events — ``Sync``, Skydive's ``NodeAdded``/``…Updated``/``…Deleted``
and ``EdgeAdded``/…, ``Alert`` — each with an id; heartbeats as comments; ``Resync`` when
the client fell behind. Malformed parameters are a 400 before the stream starts; a point
the store no longer keeps is a 410; too many streams for one token a 429.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header, Query
from fastapi.responses import Response
from sse_starlette import EventSourceResponse

from gateway import auth, events, sse, times
from gateway.deps import PrincipalDep, StateDep
from gateway.responses import error
from gateway.state import AppState
from topolog.core import query

router = APIRouter(prefix="/api/v1", tags=["streams"])

MAX_FILTER_CHARS = 4096
#: A send to a client waiting longer than this ends its stream (it stopped reading).
SEND_TIMEOUT_S = 30.0

Filter = Annotated[
    str | None,
    Query(
        description="Gremlin selection, e.g. G.V().Has('K8s.Namespace', 'default')",
        max_length=MAX_FILTER_CHARS,
    ),
]
Since = Annotated[str | None, Query(description="Replay every change from this time")]
LastEventId = Annotated[str | None, Header(alias="Last-Event-ID")]


class BadRequest(ValueError):
    pass


def element_filter(text: str | None) -> query.ElementFilter | None:
    if text is None or not text.strip():
        return None
    try:
        parsed = query.parse(text)
    except query.QueryError as exc:
        raise BadRequest(f"filter: {exc}") from exc
    flt = query.element_filter(parsed)
    if flt is None:
        raise BadRequest(
            "filter: a stream filter only selects: G.V() or G.E() followed by Has-family steps"
        )
    return flt


async def open_stream(
    state: AppState,
    principal: auth.Principal,
    *,
    filter_text: str | None,
    since: str | None,
    last_event_id: str | None,
    alerts_only: bool,
    endpoint: str,
) -> Response:
    try:
        flt = element_filter(filter_text)
        cursor = events.parse_cursor(last_event_id) if last_event_id else None
        since_ms = times.to_ms(times.parse(since, now=time.time())) if since else None
    except ValueError as exc:
        return error(str(exc))
    if not state.hub.ready:
        return error("the live graph is still loading", status=503)
    if state.streams[principal.name] >= state.settings.sse_max_connections:
        return error("too many open streams for this token", status=429)
    vis = events.Visibility(principal.scope, flt, alerts_only=alerts_only)
    state.streams[principal.name] += 1
    try:
        plan = await sse.prepare(
            state.backend,
            state.hub,
            vis,
            limit=state.settings.sse_queue_size,
            # Last-Event-ID wins: a reconnecting client continues where it was.
            cursor=cursor,
            since_ms=since_ms if cursor is None else None,
        )
    except sse.StreamError as exc:
        _release(state, principal)
        return error(str(exc), status=410 if exc.gone else 400)
    except BaseException:
        _release(state, principal)
        raise

    async def body() -> AsyncIterator[bytes]:
        state.metrics.streams.labels(endpoint).inc()
        try:
            async for chunk in sse.run(plan, state.backend, on_resync=state.metrics.resyncs.inc):
                yield chunk
        finally:
            state.metrics.streams.labels(endpoint).dec()
            _release(state, principal)

    # The chunks are SSE bytes already (``gateway.wire``: encoded once per group of
    # subscribers, a whole queued batch per chunk); sse-starlette sends them as they are
    # and owns the stream's life: heartbeats, send timeout, disconnect, shutdown.
    return EventSourceResponse(body(), ping=state.settings.sse_ping_s, send_timeout=SEND_TIMEOUT_S)


def _release(state: AppState, principal: auth.Principal) -> None:
    state.streams[principal.name] -= 1
    if state.streams[principal.name] <= 0:
        del state.streams[principal.name]


@router.get(
    "/stream",
    summary="Graph changes as Server-Sent Events (sync or replay, then live)",
    response_class=EventSourceResponse,
)
async def stream(
    state: StateDep,
    principal: PrincipalDep,
    filter: Filter = None,
    since: Since = None,
    last_event_id: LastEventId = None,
) -> Response:
    return await open_stream(
        state,
        principal,
        filter_text=filter,
        since=since,
        last_event_id=last_event_id,
        alerts_only=False,
        endpoint="stream",
    )
