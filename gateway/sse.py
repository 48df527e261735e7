"""One SSE stream: an initial sync or a replay, then the hub's live batches.

Flows in: the subscriber's ``Visibility`` and where it starts — nothing (a sync of the
live graph), a ``Cursor`` (``Last-Event-ID``: continue right after it), or a time
(``since``: the graph then, then every change after it).
Flows out: ``ServerSentEvent``s, each with an ``id`` (see ``events``), ending with a
``Resync`` event when the client fell behind or its point in the feed was trimmed.

No gap, no duplicate: the stream subscribes to the hub first (revision ``H``), replays
revisions up to ``H`` from a private mirror, then takes the hub's batches (> ``H``).
``prepare`` does everything that can fail because of the request before the response
starts, so those failures are HTTP errors, not a broken stream.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import orjson
from sse_starlette import ServerSentEvent

from gateway import events, replay
from gateway.backend import Backend, FeedGap, OutsideHotWindow
from gateway.hub import Hub, Overflow, Subscription
from gateway.mirror import Mirror


class StreamError(ValueError):
    """The request asks for a point of the stream that cannot be served (HTTP 400/410)."""

    def __init__(self, message: str, *, gone: bool = False) -> None:
        super().__init__(message)
        self.gone = gone


@dataclass(slots=True)
class Plan:
    sub: Subscription
    #: The sync event to send first, with its id.
    initial: tuple[events.Event, str] | None = None
    #: Private mirror to replay from, up to ``sub.start``.
    mirror: Mirror | None = None
    #: Events of this revision up to this index were seen already.
    skip: events.Cursor | None = None


async def prepare(
    backend: Backend,
    hub: Hub,
    vis: events.Visibility,
    *,
    limit: int,
    cursor: events.Cursor | None = None,
    since_ms: int | None = None,
) -> Plan:
    sub = hub.subscribe(vis, limit=limit)
    try:
        return await _plan(backend, hub, sub, cursor, since_ms)
    except BaseException:
        sub.close()
        raise


async def _plan(
    backend: Backend,
    hub: Hub,
    sub: Subscription,
    cursor: events.Cursor | None,
    since_ms: int | None,
) -> Plan:
    head = sub.start
    try:
        if cursor is not None:
            if cursor.revision > head:
                raise StreamError(f"event id {cursor} is ahead of the stream (revision {head})")
            if cursor.index is None:
                if cursor.revision == head:
                    return Plan(sub)
                return Plan(sub, mirror=await replay.mirror_at_revision(backend, cursor.revision))
            mirror = await replay.mirror_at_revision(backend, cursor.revision - 1)
            return Plan(sub, mirror=mirror, skip=cursor)
        if since_ms is not None:
            mirror = await replay.mirror_at_time(backend, since_ms)
            if mirror.revision > head:
                # Changes newer than the hub: let the hub deliver them.
                mirror = hub.mirror.copy()
            initial = events.sync(mirror, sub.vis)
            return Plan(sub, initial=(initial, str(mirror.revision)), mirror=mirror)
    except FeedGap as exc:
        raise StreamError(
            f"that point of the stream was trimmed ({exc}); resync", gone=True
        ) from exc
    except OutsideHotWindow as exc:
        raise StreamError(f"{exc}; ask for a later time", gone=True) from exc
    return Plan(sub, initial=(hub.sync(sub.vis), str(head)))


def encode(event: events.Event, event_id: str | None) -> ServerSentEvent:
    return ServerSentEvent(data=orjson.dumps(event.data).decode(), event=event.name, id=event_id)


def resync(reason: str) -> ServerSentEvent:
    return ServerSentEvent(data=orjson.dumps({"reason": reason}).decode(), event=events.RESYNC)


def _batch(
    revision: int, batch: list[events.Event], skip: events.Cursor | None
) -> list[ServerSentEvent]:
    first = 0
    if skip is not None and skip.revision == revision and skip.index is not None:
        first = skip.index + 1
    return [encode(e, f"{revision}.{i}") for i, e in enumerate(batch) if i >= first]


async def run(plan: Plan, backend: Backend) -> AsyncIterator[ServerSentEvent]:
    """The stream's events; closes the subscription however it ends."""
    sub = plan.sub
    try:
        if plan.initial is not None:
            event, event_id = plan.initial
            yield encode(event, event_id)
        if plan.mirror is not None:
            mirror = plan.mirror
            try:
                async for entry in replay.entries(backend, mirror.revision, sub.start):
                    batch = events.render(mirror.apply(entry), sub.vis)
                    for sse_event in _batch(entry.revision, batch, plan.skip):
                        yield sse_event
            except FeedGap as exc:
                yield resync(f"the stream's past was trimmed: {exc}")
                return
        while True:
            try:
                revision, batch = await sub.get()
            except Overflow:
                yield resync("the client fell behind; reconnect without Last-Event-ID")
                return
            for sse_event in _batch(revision, batch, plan.skip):
                yield sse_event
    finally:
        sub.close()
