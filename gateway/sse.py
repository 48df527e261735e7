"""One SSE stream: an initial sync or a replay, then the hub's live batches.

Flows in: the subscriber's ``Visibility`` and where it starts — nothing (a sync of the
live graph), a ``Cursor`` (``Last-Event-ID``: continue right after it), or a time
(``since``: the graph then, then every change after it).
Flows out: chunks of SSE bytes (``wire``), each event with an ``id`` (see ``events``),
ending with a ``Resync`` event when the client fell behind or its point in the feed was
trimmed. Live batches arrive already encoded by the hub (once per filter, shared by every
stream with that filter); whatever queued up while the client was being written to goes
out as one chunk.

No gap, no duplicate: the stream subscribes to the hub first (revision ``H``), replays
revisions up to ``H`` from a private mirror, then takes the hub's batches (> ``H``).
``prepare`` does everything that can fail because of the request before the response
starts, so those failures are HTTP errors, not a broken stream.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from gateway import events, replay, wire
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
    #: The sync event to send first, encoded with its id.
    initial: bytes | None = None
    #: Private mirror to replay from, up to ``sub.start``.
    mirror: Mirror | None = None
    #: Events of this revision up to this index were seen already.
    skip: events.Cursor | None = None
    #: The history tag of the event ids (the hub's when the stream subscribed).
    history: str = ""


async def prepare(
    backend: Backend,
    hub: Hub,
    vis: events.Visibility,
    *,
    limit: int,
    cursor: events.Cursor | None = None,
    since_ms: int | None = None,
) -> Plan:
    await hub.live_mirror()
    sub = hub.subscribe(vis, limit=limit)  # no await since live_mirror: still live
    history = hub.history  # of the ids this stream sends, as of its subscription
    try:
        plan = await _plan(backend, hub, sub, cursor, since_ms, history)
    except BaseException:
        sub.close()
        raise
    plan.history = history
    return plan


async def _plan(
    backend: Backend,
    hub: Hub,
    sub: Subscription,
    cursor: events.Cursor | None,
    since_ms: int | None,
    history: str,
) -> Plan:
    head = sub.start
    try:
        if cursor is not None:
            if cursor.history is not None and cursor.history not in hub.histories:
                # Revision numbers restart when the projection is rebuilt: continuing
                # after "r.i" of another history would skip or repeat changes.
                raise StreamError(
                    f"event id {cursor} is from another history of the graph (the"
                    " projection was rebuilt since); reconnect without Last-Event-ID",
                    gone=True,
                )
            if cursor.revision > head:
                raise StreamError(f"event id {cursor} is ahead of the stream (revision {head})")
            if cursor.index is None:
                if cursor.revision == head:
                    return Plan(sub)
                mirror = await replay.mirror_at_revision(backend, cursor.revision)
                return Plan(sub, mirror=mirror)
            mirror = await replay.mirror_at_revision(backend, cursor.revision - 1)
            return Plan(sub, mirror=mirror, skip=cursor)
        if since_ms is not None:
            mirror = await replay.mirror_at_time(backend, since_ms)
            if mirror.revision > head:
                # Changes newer than the hub: let the hub deliver them.
                mirror = hub.mirror.copy()
            initial = events.sync(mirror, sub.vis)
            at = events.Cursor(mirror.revision, history=history)
            payload = wire.event(initial.name, initial.data, str(at))
            return Plan(sub, initial=payload, mirror=mirror)
    except FeedGap as exc:
        raise StreamError(
            f"that point of the stream was trimmed ({exc}); resync", gone=True
        ) from exc
    except OutsideHotWindow as exc:
        raise StreamError(f"{exc}; ask for a later time", gone=True) from exc
    return Plan(sub, initial=hub.sync_payload(sub.vis))


def resync(reason: str) -> bytes:
    return wire.event(events.RESYNC, {"reason": reason})


def _first(revision: int, skip: events.Cursor | None) -> int:
    """Index of the first event of ``revision`` the client has not seen."""
    if skip is not None and skip.revision == revision and skip.index is not None:
        return skip.index + 1
    return 0


async def run(
    plan: Plan, backend: Backend, *, on_resync: Callable[[], None] | None = None
) -> AsyncIterator[bytes]:
    """The stream's chunks; closes the subscription however it ends. ``on_resync`` is
    called when the stream ends with a ``Resync`` event."""
    sub = plan.sub
    try:
        if plan.initial is not None:
            yield plan.initial
        if plan.mirror is not None:
            mirror = plan.mirror
            try:
                async for entry in replay.entries(backend, mirror.revision, sub.start):
                    needs = functools.partial(events.needs_neighbourhood, sub.vis)
                    batch = events.render(mirror.apply(entry, needs), sub.vis)
                    first = _first(entry.revision, plan.skip)
                    if len(batch) > first:
                        yield wire.batch(entry.revision, batch, first, history=plan.history)
            except FeedGap as exc:
                if on_resync is not None:
                    on_resync()
                yield resync(f"the stream's past was trimmed: {exc}")
                return
        # Live batches are all after ``sub.start`` >= any resume point: nothing to skip.
        while True:
            try:
                batches = await sub.get()
            except Overflow:
                if on_resync is not None:
                    on_resync()
                yield resync("the client fell behind; reconnect without Last-Event-ID")
                return
            yield batches[0].payload if len(batches) == 1 else b"".join(b.payload for b in batches)
    finally:
        sub.close()
