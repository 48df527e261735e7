"""The live fan-out: one reader of the change feed, one bounded queue per subscriber.

Flows in: the backend's change feed from the revision of a live snapshot on.
Flows out: per subscriber, ``Batch`` values (a revision's events rendered for its
visibility while the hub's mirror stands at exactly that revision, ``events.render``,
and their SSE bytes, ``wire``).

Subscribers are grouped by visibility (equal filters and scopes share a group): each
revision is rendered and encoded once per group, and a group with nothing to see costs
nothing per subscriber — 1,000 streams on one filter cost one rendering and one
encoding, then one queue append each. A group with a node filter is given only the
transitions of nodes it sees (``fanout.Fanout``, which judges each node once per
revision for all groups): 100 namespace streams do not cost 100 renderings of everything.

Guarantees: a subscriber receives every revision after ``Subscription.start`` in order,
none twice. A subscriber whose queue would exceed its bound is marked overflowed and
dropped, so one slow client never delays the others; its stream then sends ``Resync``.
When the hub itself loses the feed (the next revision was trimmed) it re-reads a
snapshot and overflows every subscriber: they all resync. Until that snapshot is loaded,
``live_mirror`` waits for it: nobody gets a Sync of the mirror being replaced.

Rebuilt projection (``FeedRestarted``: a flushed Redis, ``topolog rebuild``, the projector
replacing an older layout — the projection's identity ``P epoch`` changed, or its
revision went behind the mirror's): revisions start again from 1. A rebuild from the same
graph topic passes through the same revisions with the same content, so the hub first
waits for the rebuild to reach its revision (serving its mirror as of it, as long as the
projection keeps moving, ``rebuild_wait_s``), then compares: its mirror advanced by the
rebuilt feed's entries up to the projection's revision must equal the rebuilt graph,
element for element. Then it follows the new projection on and its subscribers see
neither a gap nor a resync; otherwise (another history: several graph partitions
interleaved differently, a shorter topic, other records) it reloads, as after a gap.

Idle: with ``idle_s`` set, the hub follows the feed (and keeps its whole-graph mirror)
only while someone subscribes, and for ``idle_s`` after the last subscriber left (or
after loading). Then it drops the mirror and stops reading; ``live_mirror`` loads the
graph again before the next subscriber, who gets its Sync from it. Following a big sync
that nobody watches would otherwise cost the gateway and Redis as much CPU as the writes.

Deferred versions (``settle_quiet_s``, on by default): while nobody subscribes, the hub
reads the feed unresolved — deletes applied, upserts remembered per element
(``Mirror.defer``) — and reads the versions they name once the feed has been quiet for
``settle_quiet_s`` (in chunks, between reads of the feed), or before the next subscriber
(``live_mirror`` waits for all of them). A burst nobody watches (a cluster's first sync)
then costs the gateway and Redis only the feed's references while it runs; an element
changed several times is read once. Versions are immutable, so reading them later gives
the same mirror; one trimmed meanwhile makes the hub reload.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from dataclasses import dataclass, field

from gateway import events, wire
from gateway.backend import Backend, FeedEntry, FeedGap, FeedRestarted
from gateway.fanout import Fanout
from gateway.mirror import Mirror, Transition
from topolog import stopping, tuning

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Batch:
    """One revision's events for one visibility, and their SSE bytes (ids ``r.0``…)."""

    revision: int
    events: list[events.Event]
    payload: bytes


#: Most Sync events kept for one revision.
_SYNC_CACHE = 64
#: Deferred upserts resolved per round trip while the feed is quiet, and for a
#: subscriber waiting for them (fewer, bigger reads; the feed is followed in between).
_SETTLE_CHUNK = 20_000
_SETTLE_WAITED = 100_000
#: Most bytes of encoded Sync events kept for one revision (a whole graph's can be big;
#: the first one is kept whatever its size).
_SYNC_CACHE_BYTES = 64 * 1024 * 1024


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
    def __init__(
        self, hub: Hub, vis: events.Visibility, key: object, *, start: int, limit: int
    ) -> None:
        self.hub = hub
        self.vis = vis
        #: The group this subscriber belongs to (``_visibility_key(vis)``).
        self.key = key
        #: The hub's revision when subscribing: batches come for later revisions.
        self.start = start
        self._limit = limit
        self._pending = 0
        self._queue: deque[Batch] = deque()
        self._ready = asyncio.Event()
        self.overflowed = False

    def offer(self, batch: Batch) -> bool:
        """Queue a batch; False (and overflowed) when it would exceed the bound."""
        if self.overflowed:
            return False
        if self._pending + len(batch.events) > self._limit:
            self.overflow()
            return False
        self._pending += len(batch.events)
        self._queue.append(batch)
        self._ready.set()
        return True

    def overflow(self) -> None:
        self.overflowed = True
        self._ready.set()

    async def get(self) -> list[Batch]:
        """Every queued batch, oldest first (waiting for one); ``Overflow`` once the
        queue is empty and the subscriber was dropped."""
        while True:
            if self._queue:
                out = list(self._queue)
                self._queue.clear()
                self._pending = 0
                return out
            if self.overflowed:
                raise Overflow()
            self._ready.clear()
            await self._ready.wait()

    def close(self) -> None:
        self.hub.unsubscribe(self)


@dataclass(slots=True)
class _Group:
    vis: events.Visibility
    #: Insertion-ordered set of the group's subscribers.
    subs: dict[Subscription, None] = field(default_factory=dict)


class Hub:
    def __init__(
        self,
        backend: Backend,
        *,
        block_s: float = 5.0,
        retry_s: float = 1.0,
        idle_s: float | None = None,
        rebuild_wait_s: float = 60.0,
        settle_quiet_s: float | None = 1.0,
    ) -> None:
        self._backend = backend
        #: Seconds of a quiet feed after which deferred upserts are read (None: never
        #: defer; see the module's docstring).
        self._settle_quiet_s = settle_quiet_s
        #: ``live_mirror`` callers completing the mirror: the follower resolves at once.
        self._settling = 0
        #: When the follower last read entries (``time.monotonic``).
        self._fed_at = time.monotonic()
        self._block_s = block_s
        self._retry_s = retry_s
        #: Seconds a rebuilt projection behind the mirror may stand still before the hub
        #: gives up waiting for it to pass the mirror's revision and reloads.
        self._rebuild_wait_s = rebuild_wait_s
        #: While a rebuilt projection is behind the mirror: (its revision, when it last
        #: moved, ``time.monotonic``).
        self._behind: tuple[int, float] | None = None
        #: Seconds without subscribers after which the hub stops following (None: never).
        self._idle_s = idle_s
        #: When the hub last had a subscriber, or loaded (``time.monotonic``).
        self._idle_since = time.monotonic()
        #: Whether the mirror follows the feed (False once parked for want of subscribers).
        self.live = False
        #: Set by ``live()`` to wake the parked follower.
        self._wanted = asyncio.Event()
        self._loading = asyncio.Lock()
        #: Visibility key → the subscribers that share it.
        self._groups: dict[object, _Group] = {}
        self._count = 0
        #: How each revision reaches the groups (None: to be built for the current ones).
        self._fan: Fanout | None = None
        self._task: asyncio.Task[None] | None = None
        self.mirror = Mirror()
        #: The identity of the projection the mirror follows (``store.feed``).
        self.epoch = ""
        #: Its tag in event ids (``events.history_tag``), and the tags of the identities
        #: this mirror's history carries on: a rebuilt projection found to hold the same
        #: history (``_rebase``) adds its tag; a reload starts over with one.
        self.history = events.history_tag("")
        self.histories = frozenset({self.history})
        self.ready = False
        #: (revision, visibility) → Sync event; only entries of the current revision.
        self._syncs: dict[tuple[int, object], events.Event] = {}
        #: The same for their bytes, within ``_SYNC_CACHE_BYTES``.
        self._sync_bytes: dict[tuple[int, object], bytes] = {}

    @property
    def revision(self) -> int:
        """The mirror's revision (while not ``live``, the one it was parked at)."""
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
        await stopping.cancel_and_wait(task)
        self._drop_all()

    def _drop_all(self) -> None:
        for group in self._groups.values():
            for sub in group.subs:
                sub.overflow()
        self._groups.clear()
        self._fan = None
        self._count = 0
        self._idle_since = time.monotonic()

    async def _load(self) -> None:
        revision, nodes, edges, epoch = await self._backend.current()
        self.mirror = Mirror(revision=revision, nodes=nodes, edges=edges)
        self._follow_epoch(epoch, continues=False)
        self._behind = None
        # Syncs are cached by revision: a rebuilt projection reuses the numbers.
        self._syncs.clear()
        self._sync_bytes.clear()
        self.live = True
        self._idle_since = time.monotonic()

    async def live_mirror(self) -> None:
        """Make sure the mirror follows the feed and is complete (loading a snapshot if
        the hub was parked, reading its deferred versions otherwise); call before
        ``subscribe``, with no ``await`` in between. Raises what loading raises."""
        if self.live and not self.mirror.deferred:
            return
        async with self._loading:
            if not self.live:
                await self._load()
                self._wanted.set()
                return
            self._settling += 1
            try:
                while self.mirror.deferred:
                    if not await self._settle(_SETTLE_WAITED):
                        await self._load()  # a deferred version is gone: start afresh
            finally:
                self._settling -= 1

    def _quiet(self) -> bool:
        """Whether deferred versions wait and the feed has been quiet long enough."""
        return (
            self._settle_quiet_s is not None
            and self.mirror.deferred > 0
            and time.monotonic() - self._fed_at >= self._settle_quiet_s
        )

    def _deferring(self) -> bool:
        """Whether the follower reads the feed unresolved (nobody needs transitions)."""
        return self._settle_quiet_s is not None and not self._groups and not self._settling

    async def _settle(self, limit: int) -> bool:
        """Read and apply up to ``limit`` deferred versions; False when one of them is
        gone from the history (the mirror cannot be completed: reload)."""
        mirror = self.mirror
        if not mirror.deferred:
            return True
        wanted = mirror.deferred_wanted(limit)
        # Versions parsed by the 100,000 and kept for good: the collector would walk
        # them in young collections for nothing (in process, 1M versions: 7.4-8.2 CPU-s
        # as the gateway's collector is set, 6.2-6.4 paused and frozen at the end).
        with tuning.collector_paused(freeze=True):
            found = await self._backend.deferred_versions(wanted)
            if self.mirror is not mirror:  # reloaded or parked meanwhile
                return True
            try:
                mirror.settle(wanted, found)
            except LookupError as exc:
                log.warning("the mirror cannot be completed: %s; reloading", exc)
                return False
        return True

    def _idle(self) -> bool:
        return (
            self._idle_s is not None
            and not self._groups
            and time.monotonic() - self._idle_since >= self._idle_s
        )

    def _park(self) -> None:
        """Drop the mirror (and the Syncs made from it) until ``live_mirror``."""
        self.live = False
        self.mirror = Mirror(revision=self.mirror.revision)
        self._syncs.clear()
        self._sync_bytes.clear()
        self._wanted.clear()
        log.info("no subscribers for %.0f s: stopped following the change feed", self._idle_s)

    def subscribe(self, vis: events.Visibility, *, limit: int) -> Subscription:
        if not self.live or self.mirror.deferred:
            raise RuntimeError(
                "the hub is parked or its mirror incomplete: await live_mirror() before subscribing"
            )
        key = _visibility_key(vis)
        sub = Subscription(self, vis, key, start=self.mirror.revision, limit=limit)
        group = self._groups.get(key)
        if group is None:
            group = self._groups[key] = _Group(vis)
            self._fan = None
        group.subs[sub] = None
        self._count += 1
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        group = self._groups.get(sub.key)
        if group is None or sub not in group.subs:
            return
        del group.subs[sub]
        self._count -= 1
        if not group.subs:
            del self._groups[sub.key]
            self._fan = None
        if not self._count:
            self._idle_since = time.monotonic()

    @property
    def subscribers(self) -> int:
        return self._count

    async def _follow(self) -> None:
        while True:
            if self._idle():
                self._park()
                await self._wanted.wait()  # live_mirror() loaded a snapshot meanwhile
                continue
            deferring = self._deferring()
            timeout_s = self._block_s
            if deferring and self.mirror.deferred and self._settle_quiet_s is not None:
                # Wake when the feed will have been quiet for settle_quiet_s.
                quiet_for = time.monotonic() - self._fed_at
                timeout_s = max(0.001, min(timeout_s, self._settle_quiet_s - quiet_for))
            try:
                entries = await self._backend.wait_after(
                    self.mirror.revision, timeout_s, self.epoch, resolved=not deferring
                )
                if entries:
                    self._fed_at = time.monotonic()
                if deferring and not self._deferring():  # a subscriber is coming
                    entries = await self._backend.resolve(entries)
                    deferring = False
                if not entries and self._quiet() and not await self._settle(_SETTLE_CHUNK):
                    await self._reload()
                    continue
            except asyncio.CancelledError:
                raise
            except FeedRestarted as exc:
                await self._restarted(exc)
                continue
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
                    if entry.revision <= self.mirror.revision:
                        continue
                    if deferring:
                        self.mirror.defer(entry)
                    else:
                        self._advance(entry)
            except Exception:
                # A change the mirror cannot apply: start again from a snapshot.
                log.exception("applying the change feed failed: reloading")
                await self._reload()

    def _advance(self, entry: FeedEntry) -> None:
        """Apply one feed entry to the mirror and publish its batches."""
        if not self._groups:
            self.mirror.advance(entry)  # nobody listens: no transitions
            return
        fan = self._fanout()
        fan.next_revision()
        self.publish(entry.revision, self.mirror.apply(entry, fan.needs))

    def _fanout(self) -> Fanout:
        if self._fan is None:
            self._fan = Fanout([g.vis for g in self._groups.values()])
        return self._fan

    def publish(self, revision: int, transitions: list[Transition]) -> None:
        # Rendered and encoded once per group, not once per subscriber: many streams
        # share a filter (1,000 dashboards on one namespace), and rendering is the cost.
        # A group with a node filter renders only the transitions of nodes it sees.
        fan = self._fanout()
        encoder = wire.Encoder()
        groups = list(self._groups.values())
        for i, (group, concerning) in enumerate(
            zip(groups, fan.concerning(transitions), strict=True)
        ):
            if not concerning:
                continue
            node = fan.node_visible(i) if fan.filtered(i) else None
            rendered = events.render(concerning, group.vis, node)
            if not rendered:
                continue
            payload = encoder.batch(revision, rendered, history=self.history)
            batch = Batch(revision, rendered, payload)
            dropped = [sub for sub in group.subs if not sub.offer(batch)]
            for sub in dropped:
                self.unsubscribe(sub)

    def sync(self, vis: events.Visibility) -> events.Event:
        """The ``Sync`` event of the live graph for ``vis``, computed once per revision
        and visibility (subscribers that connect together share it). Of a complete
        mirror: after ``live_mirror`` (a deferred element would show its older version)."""
        key = (self.mirror.revision, _visibility_key(vis))
        cached = self._syncs.get(key)
        if cached is None:
            if self._syncs and next(iter(self._syncs))[0] != self.mirror.revision:
                self._syncs.clear()
            if len(self._syncs) >= _SYNC_CACHE:
                self._syncs.pop(next(iter(self._syncs)))
            cached = self._syncs[key] = events.sync(self.mirror, vis)
        return cached

    def sync_payload(self, vis: events.Visibility) -> bytes:
        """``sync(vis)`` as SSE bytes with the revision as id, encoded once per revision
        and visibility (beyond the first, while the cached ones stay under
        ``_SYNC_CACHE_BYTES``)."""
        key = (self.mirror.revision, _visibility_key(vis))
        cached = self._sync_bytes.get(key)
        if cached is not None:
            return cached
        found = self.sync(vis)
        at = events.Cursor(self.mirror.revision, history=self.history)
        payload = wire.event(found.name, found.data, str(at))
        if self._sync_bytes and next(iter(self._sync_bytes))[0] != self.mirror.revision:
            self._sync_bytes.clear()
        used = sum(len(p) for p in self._sync_bytes.values())
        if not self._sync_bytes or used + len(payload) <= _SYNC_CACHE_BYTES:
            # Always the first one: a whole big graph is the costliest to encode again.
            self._sync_bytes[key] = payload
        return payload

    async def _reload(self) -> None:
        """Drop every subscriber (their streams resync) and load the live graph again.
        Not live until loaded: ``live_mirror`` waits for it (or loads it itself), so a
        stream that reconnects at once gets its Sync from the new graph."""
        async with self._loading:
            self.live = False
            self._drop_all()
            try:
                await self._load()
                return
            except Exception:
                log.exception("reloading the live graph failed; retrying")
        while not self.live:
            await asyncio.sleep(self._retry_s)
            async with self._loading:
                if self.live:  # live_mirror() loaded it meanwhile
                    return
                try:
                    await self._load()
                except Exception:
                    log.exception("reloading the live graph failed; retrying")

    async def _restarted(self, exc: FeedRestarted) -> None:
        """The projection was rebuilt (see the module's docstring): wait while it is
        behind and moving, carry on if it reached the mirror's graph, else reload."""
        if self.mirror.revision == 0:  # nothing read yet: any projection continues it
            self._follow_epoch(exc.epoch, continues=True)
            return
        try:
            revision = await self._backend.revision()
            if revision < self.mirror.revision:
                await self._wait_behind(revision)
                return
            self._behind = None
            if await self._rebase():
                return
            log.warning(
                "the projection was rebuilt with another history than the one followed up"
                " to revision %d: reloading",
                self.mirror.revision,
            )
        except asyncio.CancelledError:
            raise
        except FeedRestarted:
            return  # rebuilt again meanwhile: judged at the next read
        except FeedGap as gap:
            log.warning("the rebuilt projection's feed cannot continue the mirror: %s", gap)
        except Exception:
            log.exception("following the rebuilt projection failed: reloading")
        await self._reload()

    async def _wait_behind(self, revision: int) -> None:
        now = time.monotonic()
        if self._behind is None or self._behind[0] != revision:
            if self._behind is None:
                log.warning(
                    "the projection was rebuilt and is at revision %d, behind the mirror's"
                    " %d: waiting for it to pass",
                    revision,
                    self.mirror.revision,
                )
            self._behind = (revision, now)
        elif now - self._behind[1] >= self._rebuild_wait_s:
            log.warning(
                "the rebuilt projection stood still at revision %d for %.0f s, behind the"
                " mirror's %d: reloading",
                revision,
                now - self._behind[1],
                self.mirror.revision,
            )
            self._behind = None
            await self._reload()
            return
        await asyncio.sleep(min(self._block_s, self._retry_s))

    async def _rebase(self) -> bool:
        """Whether the rebuilt projection (at or past the mirror's revision) continues the
        mirror: the mirror advanced by its entries after the mirror's revision equals its
        live graph. If so the mirror follows it from now on, and the entries are
        published to the subscribers like any others. A mirror with deferred versions
        does not: they were the old projection's."""
        if self.mirror.deferred:
            return False
        current = await self._backend.current()
        entries: list[FeedEntry] = []
        after = self.mirror.revision
        while after < current.revision:
            batch = await self._backend.read_after(after, 1000, current.epoch)
            batch = [e for e in batch if e.revision <= current.revision]
            if not batch:
                break
            entries += batch
            after = batch[-1].revision
        trial = self.mirror.copy()
        for entry in entries:
            trial.advance(entry)
        if (
            after != current.revision
            or trial.nodes != current.nodes
            or trial.edges != current.edges
        ):
            return False
        log.warning(
            "the projection was rebuilt and holds the mirror's graph at revision %d:"
            " following it on from revision %d",
            self.mirror.revision,
            current.revision,
        )
        self._follow_epoch(current.epoch, continues=True)
        for entry in entries:
            self._advance(entry)
        return True

    def _follow_epoch(self, epoch: str, *, continues: bool) -> None:
        """Follow the projection ``epoch``; ``continues``: its history is the mirror's so
        far, so event ids of the earlier identities stay valid."""
        self.epoch = epoch
        self.history = events.history_tag(epoch)
        self.histories = self.histories | {self.history} if continues else frozenset({self.history})
