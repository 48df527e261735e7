"""The live fan-out: one reader of the change feed, one bounded queue per subscriber.

Flows in: the backend's change feed from the revision of a live snapshot on.
Flows out: per subscriber, ``(revision, events)`` batches rendered for its visibility
while the hub's mirror stands at exactly that revision (``events.render``).

Guarantees: a subscriber receives every revision after ``Subscription.start`` in order,
none twice. A subscriber whose queue would exceed its bound is marked overflowed and
dropped, so one slow client never delays the others; its stream then sends ``Resync``.
When the hub itself loses the feed (the next revision was trimmed) it re-reads a
snapshot and overflows every subscriber: they all resync.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque

from gateway import events
from gateway.backend import Backend, FeedGap
from gateway.mirror import Mirror, Transition

log = logging.getLogger(__name__)

Batch = tuple[int, list[events.Event]]


#: Most Sync events kept for one revision.
_SYNC_CACHE = 64


def _visibility_key(vis: events.Visibility) -> object:
    """``vis`` itself when hashable (equal filters share), else its identity."""
    try:
        hash(vis)
    except TypeError:
        return id(vis)
    return vis


class Overflow(Exception):
    """The subscriber fell too far behind (or the hub lost the feed): resync."""


class Subscription:
    def __init__(self, hub: Hub, vis: events.Visibility, *, start: int, limit: int) -> None:
        self.hub = hub
        self.vis = vis
        #: The hub's revision when subscribing: batches come for later revisions.
        self.start = start
        self._limit = limit
        self._pending = 0
        self._queue: deque[Batch] = deque()
        self._ready = asyncio.Event()
        self.overflowed = False

    def offer(self, revision: int, batch: list[events.Event]) -> bool:
        """Queue a batch; False (and overflowed) when it would exceed the bound."""
        if self.overflowed:
            return False
        if self._pending + len(batch) > self._limit:
            self.overflowed = True
            self._ready.set()
            return False
        self._pending += len(batch)
        self._queue.append((revision, batch))
        self._ready.set()
        return True

    async def get(self) -> Batch:
        while True:
            if self._queue:
                revision, batch = self._queue.popleft()
                self._pending -= len(batch)
                return revision, batch
            if self.overflowed:
                raise Overflow()
            self._ready.clear()
            await self._ready.wait()

    def close(self) -> None:
        self.hub.unsubscribe(self)


class Hub:
    def __init__(self, backend: Backend, *, block_s: float = 5.0, retry_s: float = 1.0) -> None:
        self._backend = backend
        self._block_s = block_s
        self._retry_s = retry_s
        self._subscribers: set[Subscription] = set()
        self._task: asyncio.Task[None] | None = None
        self.mirror = Mirror()
        self.ready = False
        #: (revision, visibility) → Sync event; only entries of the current revision.
        self._syncs: dict[tuple[int, object], events.Event] = {}

    @property
    def revision(self) -> int:
        return self.mirror.revision

    async def start(self) -> None:
        """Load the live graph (retrying until the store answers), then follow the feed,
        in a background task; ``ready`` tells when subscribers can be served."""
        self._task = asyncio.create_task(self._run(), name="gateway-hub")

    async def _run(self) -> None:
        while not self.ready:
            try:
                await self._load()
                self.ready = True
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("loading the live graph failed; retrying")
                await asyncio.sleep(self._retry_s)
        await self._follow()

    async def stop(self) -> None:
        """Idempotent."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for sub in list(self._subscribers):
            sub.overflowed = True
            sub._ready.set()
        self._subscribers.clear()

    async def _load(self) -> None:
        snapshot = await self._backend.snapshot()
        self.mirror = Mirror.from_snapshot(snapshot, snapshot.revision)

    def subscribe(self, vis: events.Visibility, *, limit: int) -> Subscription:
        sub = Subscription(self, vis, start=self.mirror.revision, limit=limit)
        self._subscribers.add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        self._subscribers.discard(sub)

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    async def _follow(self) -> None:
        while True:
            try:
                entries = await self._backend.wait_after(self.mirror.revision, self._block_s)
            except asyncio.CancelledError:
                raise
            except FeedGap:
                log.warning("the change feed moved past revision %d: reloading", self.revision)
                await self._reload()
                continue
            except Exception:
                log.exception("reading the change feed failed; retrying")
                await asyncio.sleep(self._retry_s)
                continue
            try:
                for entry in entries:
                    if entry.revision > self.mirror.revision:
                        self.publish(entry.revision, self.mirror.apply(entry))
            except Exception:
                # A change the mirror cannot apply: start again from a snapshot.
                log.exception("applying the change feed failed: reloading")
                await self._reload()

    def publish(self, revision: int, transitions: list[Transition]) -> None:
        # Rendered once per distinct visibility, not once per subscriber: many streams
        # share a filter (1,000 dashboards on one namespace), and rendering is the cost.
        rendered: dict[object, list[events.Event]] = {}
        for sub in list(self._subscribers):
            key = _visibility_key(sub.vis)
            batch = rendered.get(key)
            if batch is None:
                batch = rendered[key] = events.render(transitions, sub.vis)
            if batch and not sub.offer(revision, batch):
                self._subscribers.discard(sub)

    def sync(self, vis: events.Visibility) -> events.Event:
        """The ``Sync`` event of the live graph for ``vis``, computed once per revision
        and visibility (subscribers that connect together share it)."""
        key = (self.mirror.revision, _visibility_key(vis))
        cached = self._syncs.get(key)
        if cached is None:
            if self._syncs and next(iter(self._syncs))[0] != self.mirror.revision:
                self._syncs.clear()
            if len(self._syncs) >= _SYNC_CACHE:
                self._syncs.pop(next(iter(self._syncs)))
            cached = self._syncs[key] = events.sync(self.mirror, vis)
        return cached

    async def _reload(self) -> None:
        for sub in list(self._subscribers):
            sub.overflowed = True
            sub._ready.set()
        self._subscribers.clear()
        try:
            await self._load()
        except Exception:
            log.exception("reloading the live graph failed; retrying")
            await asyncio.sleep(self._retry_s)
