"""The graph at a past time (or over a slice) read as the live graph plus what changed since.

Flows in: a ``GraphReader`` (live reads, versions at a time) and the change feed
(``store.feed``) on the same Redis.
Flows out: ``Past`` — async answers to the ``GraphView`` calls for the graph at ``t``
(or over [t0, t1]), equal to those of ``reader.snapshot(t)`` (``reader.slice(t0, t1)``).

Cost: O(changes since t) instead of O(graph). The feed lists, per revision, every
element whose history got a member, with the member's start (``At``). An element with
no member starting after t0 is in the live graph exactly as it was at t0 (or in neither);
the others — found in the feed entries after ``Timeline.after(t0)`` — are read at the
time (``reader.versions``) and overlaid (``store.overlay``), a kind when a call first
needs it (a node count reads no edge). The indexes, adjacency and id sets of the live
graph serve the rest; counts use the live sizes (``GraphReader.count``) corrected by the
changed ids, without listing ids.

Consistency: each call reads the live graph (one script or command: whole changesets),
then catches up with the feed entries written since the last look and reads those
elements at the time too, so every answer is the graph at the time, whatever the
projector wrote meanwhile. ``open`` returns None when more than ``max_changes`` changes
were made after the time: the caller reads a whole snapshot instead.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence

import redis.asyncio as aioredis

from store import feed
from store.keys import Kind
from store.overlay import Element, Overlay
from store.reader import GraphReader, OutsideHotWindow
from store.snapshot import Direction
from store.timeline import Timeline

#: Feed entries read per call.
_PAGE = 200


class PastSource:
    """Opens ``Past`` views; keeps the feed's time index between them (one per reader)."""

    def __init__(
        self, reader: GraphReader, client: aioredis.Redis, *, max_changes: int = 1_000_000
    ) -> None:
        self.reader = reader
        self.client = client
        self.max_changes = max_changes
        self.timeline = Timeline()
        self._lock: asyncio.Lock | None = None

    async def refresh(self) -> None:
        """Index the feed entries written since the last call. ``open`` does it too; a
        server calls it in the background so a query after a burst of writes (a sync)
        does not pay for indexing them."""
        await self._refresh()

    async def _refresh(self) -> None:
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            last = self.timeline.last
            if last and (
                await self.reader.revision() < last
                or await feed.times_after(self.client, self.reader.keys, last - 1, count=1)
                not in ([], [(last, self.timeline.last_time)])
            ):
                self.timeline = Timeline()  # the projection was rebuilt or flushed
            while True:
                found = await feed.times_after(self.client, self.reader.keys, self.timeline.last)
                self.timeline.extend(found)
                if not found:
                    return

    async def open(self, t0: int, t1: int) -> Past | None:
        """The graph at ``t0`` (== ``t1``) or over [t0, t1] (ms); None when the feed
        since ``t0`` is too long (read a snapshot). ``OutsideHotWindow`` before the
        trimmed horizon."""
        horizon = await self.reader.horizon()
        if t0 < horizon:
            raise OutsideHotWindow(t0, horizon)
        await self._refresh()
        past = Past(self, t0, t1, after=self.timeline.after(t0))
        return past if await past.catch_up(limit=self.max_changes, kinds=()) else None


class Past:
    def __init__(self, source: PastSource, t0: int, t1: int, *, after: int) -> None:
        self._reader = source.reader
        self._client = source.client
        self._t0 = t0
        self._t1 = t1
        #: Every element changed after t0 up to this revision is in the overlay or pending.
        self.revision = after
        self.overlay = Overlay()
        #: Changed ids noted in the feed, not yet read at the time (overlaid).
        self._pending: dict[Kind, set[str]] = {Kind.NODE: set(), Kind.EDGE: set()}

    async def catch_up(
        self, *, limit: int | None = None, kinds: Iterable[Kind] = (Kind.NODE, Kind.EDGE)
    ) -> bool:
        """Note the elements changed after t0 in the feed entries since ``revision`` and
        overlay those of ``kinds`` (read at the time; the others wait until a call needs
        their kind); False (and nothing read at the time) when the entries hold more than
        ``limit`` changes."""
        current = await self._reader.revision()
        if current > self.revision:
            seen = 0
            while True:
                entries = await feed.scan_after(
                    self._client, self._reader.keys, self.revision, count=_PAGE
                )
                for entry in entries:
                    seen += len(entry.changes)
                    for change in entry.changes:
                        if change["At"] > self._t0:
                            kind = Kind.NODE if change["op"].startswith("node") else Kind.EDGE
                            self._pending[kind].add(change["id"])
                if limit is not None and seen > limit:
                    return False
                if entries:
                    self.revision = entries[-1].revision
                if len(entries) < _PAGE:
                    break
            self.revision = max(self.revision, current)
        for kind in kinds:
            if self._pending[kind]:
                ids = sorted(self._pending[kind])
                self._pending[kind] = set()
                await self._read(kind, ids)
        return True

    async def _read(self, kind: Kind, ids: list[str]) -> None:
        if not ids:
            return
        since = None if self._t0 == self._t1 else self._t0
        versions = await self._reader.versions(kind, ids, self._t1, since)
        found = {i: v.element() for i, v in versions.items()}
        if kind is Kind.NODE:
            self.overlay.set_nodes(ids, found)
        else:
            self.overlay.set_edges(ids, found)

    # --- GraphView, async -------------------------------------------------------------
    async def nodes(self, ids: Sequence[str]) -> list[Element | None]:
        return await self._elements(Kind.NODE, ids)

    async def edges(self, ids: Sequence[str]) -> list[Element | None]:
        return await self._elements(Kind.EDGE, ids)

    async def _elements(self, kind: Kind, ids: Sequence[str]) -> list[Element | None]:
        live_ids = self.overlay.unchanged(kind, ids)
        read = self._reader.nodes if kind is Kind.NODE else self._reader.edges
        live = await read(live_ids) if live_ids else []
        await self.catch_up(kinds=(kind,))
        return self.overlay.elements(kind, ids, dict(zip(live_ids, live, strict=True)))

    async def all_node_ids(self) -> list[str]:
        live = await self._reader.all_node_ids()
        await self.catch_up(kinds=(Kind.NODE,))
        return self.overlay.ids(Kind.NODE, live)

    async def all_edge_ids(self) -> list[str]:
        live = await self._reader.all_edge_ids()
        await self.catch_up(kinds=(Kind.EDGE,))
        return self.overlay.ids(Kind.EDGE, live)

    # --- counts: no id transferred but the changed ones ---------------------------------
    async def count(self, kind: Kind) -> int:
        """``len(all_node_ids())`` / ``len(all_edge_ids())``: the live count at a revision
        r, minus the changed ids alive at r, plus the changed ids in the view."""
        while True:
            await self.catch_up(kinds=(kind,))
            changed = self.overlay.changed(kind)
            live = await self._reader.count(kind, changed)
            if await self._covers(live.revision, kind, len(changed)):
                return self.overlay.count(kind, live.total, live.among)

    async def count_by_index(self, key: str, value: str) -> int:
        """``len(nodes_by_index(key, value))``, counted like ``count``."""
        while True:
            await self.catch_up(kinds=(Kind.NODE,))
            changed = self.overlay.changed(Kind.NODE)
            live = await self._reader.count_by_index(key, value, changed)
            if await self._covers(live.revision, Kind.NODE, len(changed)):
                return self.overlay.count_by_index(key, value, live.total, live.among)

    async def _covers(self, revision: int, kind: Kind, changed: int) -> bool:
        """Whether the changed ids counted at ``revision`` hold every id of ``kind`` the
        feed says changed after t0 up to that revision: the others are then, at that
        revision, as in the view. Catches up with writes made since the last look."""
        if revision > self.revision:
            await self.catch_up(kinds=(kind,))
        return len(self.overlay.changed(kind)) == changed

    async def nodes_by_index(self, key: str, value: str) -> list[str]:
        live: Iterable[str] = await self._reader.nodes_by_index(key, value)
        await self.catch_up(kinds=(Kind.NODE,))
        return self.overlay.by_index(key, value, live)

    async def edges_of(self, node_ids: Sequence[str], direction: Direction) -> list[list[str]]:
        live_out = (
            await self._reader.edges_of(node_ids, Direction.OUT)
            if direction is not Direction.IN
            else None
        )
        live_in = (
            await self._reader.edges_of(node_ids, Direction.IN)
            if direction is not Direction.OUT
            else None
        )
        await self.catch_up(kinds=(Kind.EDGE,))
        return self.overlay.edges_of(node_ids, live_out, live_in)
