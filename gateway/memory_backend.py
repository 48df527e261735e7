"""``Backend`` over ``store.history.History``: the projection's semantics in memory.

Flows in: changesets (``apply``), in graph-topic order. Flows out: what ``Backend``
promises, answered from the in-memory history — so gateway tests exercise exactly the
store's rules without Redis. ``trim_feed`` drops old feed entries to test resyncs;
``rebuild`` replaces the history under a new identity, as a rebuilt projection.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from store.encoding import Position, Version
from store.feed import FeedGap, FeedRestarted
from store.feedrecords import Wanted
from store.history import FeedEntry, History
from store.keys import Kind
from store.reader import Current
from store.snapshot import Snapshot
from topolog.core import graph

_FOREVER = 2**62


def _unresolved(entry: FeedEntry) -> FeedEntry:
    """``entry`` as the Redis feed reads it unresolved (``store.feed.parse``)."""
    return FeedEntry(
        revision=entry.revision,
        time=entry.time,
        changes=[
            {
                "op": c["op"],
                "id": c["id"],
                "Revision": c["Revision"],
                "At": c["DeletedAt"] if c["op"].endswith("delete") else c["UpdatedAt"],
            }
            for c in entry.changes
        ],
    )


def _ms(seconds: float) -> int:
    return round(seconds * 1000)


class HistoryTravel:
    """``TimeTravel`` (seconds) over a ``History``."""

    def __init__(self, history: History) -> None:
        self._history = history

    def live(self) -> Snapshot:
        return self._history.at(None)

    def view_at(self, t: float) -> Snapshot:
        return self._history.at(_ms(t))

    def view_between(self, t0: float, t1: float) -> Snapshot:
        return self._history.between(_ms(t0), _ms(t1))


class MemoryBackend:
    def __init__(self, history: History | None = None) -> None:
        self.history = history or History()
        self._changed = asyncio.Condition()
        self._trimmed = 0  # revisions <= this are gone from the feed
        self.alive = True
        #: The projection's identity (``store.feed``); ``rebuild`` makes a new one.
        self.epoch = "memory-0"
        self._builds = 0

    async def apply(self, changeset: graph.ChangeSet, position: Position | None = None) -> int:
        """Apply like the projector does and wake the feed's readers."""
        revision = self.history.apply(changeset, position)
        async with self._changed:
            self._changed.notify_all()
        return revision

    def trim_feed(self, upto: int) -> None:
        self._trimmed = max(self._trimmed, upto)

    async def rebuild(self, history: History | None = None) -> None:
        """Replace the projection (empty, or ``history``) under a new identity, as a
        dropped and rebuilt one (revisions start again from 1)."""
        self._builds += 1
        self.history = history or History()
        self.epoch = f"memory-{self._builds}"
        self._trimmed = 0
        async with self._changed:
            self._changed.notify_all()

    def travel(self) -> HistoryTravel:
        return HistoryTravel(self.history)

    async def snapshot(self, at_ms: int | None = None) -> Snapshot:
        return self.history.at(at_ms)

    async def current(self) -> Current:
        snapshot = self.history.at(None)
        nodes = sorted(snapshot.all_node_ids())
        edges = sorted(snapshot.all_edge_ids())
        return Current(
            snapshot.revision,
            {i: n for i, n in zip(nodes, snapshot.nodes(nodes), strict=True) if n is not None},
            {i: e for i, e in zip(edges, snapshot.edges(edges), strict=True) if e is not None},
            self.epoch,
        )

    async def versions(
        self, kind: Kind, ids: Sequence[str], at_ms: int | None = None
    ) -> dict[str, Version]:
        t = _FOREVER if at_ms is None else at_ms
        out: dict[str, Version] = {}
        for element_id in ids:
            version = self.history.version_between(kind, element_id, t, t)
            if version is not None and version.deleted_at is None:
                out[element_id] = version
        return out

    async def revision(self) -> int:
        return self.history.revision

    async def first_revision(self) -> int | None:
        first = self._trimmed + 1
        return first if first <= self.history.revision else None

    def _retained(self) -> list[FeedEntry]:
        return [e for e in self.history.feed if e.revision > self._trimmed]

    def _check(self, after: int, epoch: str | None) -> None:
        if epoch is not None and epoch != self.epoch:
            raise FeedRestarted(after, self.epoch, f"its identity is {self.epoch!r}")
        if self.history.revision < after:
            raise FeedRestarted(after, self.epoch, f"its revision {self.history.revision}")

    async def read_after(
        self, after: int, count: int | None = 1000, epoch: str | None = None
    ) -> list[FeedEntry]:
        self._check(after, epoch)
        if after < self._trimmed:
            raise FeedGap(after, self._trimmed + 1)
        out = [e for e in self._retained() if e.revision > after]
        return out if count is None else out[:count]

    async def read_range(self, first: int, last: int) -> list[FeedEntry]:
        return [e for e in self._retained() if first <= e.revision <= last]

    async def wait_after(
        self, after: int, timeout_s: float, epoch: str | None = None, *, resolved: bool = True
    ) -> list[FeedEntry]:
        self._check(after, epoch)
        async with self._changed:
            if self.history.revision <= after:
                try:
                    await asyncio.wait_for(self._changed.wait(), timeout_s)
                except TimeoutError:
                    return []
        found = await self.read_after(after, epoch=epoch)
        return found if resolved else [_unresolved(entry) for entry in found]

    async def resolve(self, entries: list[FeedEntry]) -> list[FeedEntry]:
        out: list[FeedEntry] = []
        for entry in entries:
            changes: list[dict[str, Any]] = []
            for change in entry.changes:
                op: str = change["op"]
                element_id: str = change["id"]
                revision: int = change["Revision"]
                if op.endswith("delete"):
                    changes.append(
                        {
                            "op": op,
                            "id": element_id,
                            "Revision": revision,
                            "DeletedAt": change["At"],
                        }
                    )
                    continue
                name = op.split(".", 1)[0]
                version = self._version(
                    Kind.NODE if name == "node" else Kind.EDGE, element_id, revision
                )
                resolved: dict[str, Any] = {
                    "op": op,
                    "id": element_id,
                    "Revision": revision,
                    "UpdatedAt": change["At"],
                    name: None,
                }
                if version is not None:
                    resolved["CreatedAt"] = version.created_at
                    resolved["Source"] = version.source.to_dict() if version.source else None
                    resolved[name] = version.body
                changes.append(resolved)
            out.append(FeedEntry(revision=entry.revision, time=entry.time, changes=changes))
        return out

    async def deferred_versions(self, wanted: Wanted) -> dict[str, list[dict[str, Any] | None]]:
        out: dict[str, list[dict[str, Any] | None]] = {}
        for name, (ids, revisions) in wanted.items():
            kind = Kind.NODE if name == "n" else Kind.EDGE
            found: list[dict[str, Any] | None] = []
            for element_id, revision in zip(ids, revisions, strict=True):
                version = self._version(kind, element_id, revision)
                found.append(
                    None if version is None else {**version.body, "CreatedAt": version.created_at}
                )
            out[name] = found
        return out

    def _version(self, kind: Kind, element_id: str, revision: int) -> Version | None:
        """Version ``revision`` of an element, if the history still has it (a scan of
        the element's versions: a test backend)."""
        return next(
            (
                e.version
                for e in self.history.entries[kind].get(element_id, [])
                if e.revision == revision
            ),
            None,
        )

    async def ping(self) -> None:
        if not self.alive:
            raise ConnectionError("the memory backend is marked down")
