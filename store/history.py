"""The projection's semantics in memory: cold time travel and the reference for tests.

Flows in: changesets with their positions, in graph-topic order (a Kafka replay).
Flows out: ``Snapshot``s at any time and the change feed, equal to what the Redis
projection (``store.projection`` + ``scripts.APPLY``) holds for the same input — the
rules are the ones listed in ``store.projection``'s docstring, kept in step by
tests/integration/store/test_projection.py, which applies random changesets to both.
Pure: no I/O, no clock.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import orjson

from store import encoding
from store.keys import Kind
from store.snapshot import Snapshot
from topolog.core import graph


@dataclass(slots=True)
class Entry:
    """A history member: a version, or a deletion (``version is None``)."""

    revision: int
    start: int
    version: encoding.Version | None


@dataclass(slots=True)
class _Alive:
    revision: int
    created_at: int
    body: bytes
    ends: tuple[str, str] | None  # an edge's (Parent, Child)


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """One change-feed entry: the revision, the changeset time (ms) and its changes."""

    revision: int
    time: int
    changes: list[dict[str, Any]]


@dataclass(slots=True)
class History:
    hwm: dict[str, int] = field(default_factory=dict)
    revision: int = 0
    feed: list[FeedEntry] = field(default_factory=list)
    entries: dict[Kind, dict[str, list[Entry]]] = field(
        default_factory=lambda: {Kind.NODE: {}, Kind.EDGE: {}}
    )
    alive: dict[Kind, dict[str, _Alive]] = field(
        default_factory=lambda: {Kind.NODE: {}, Kind.EDGE: {}}
    )
    #: node id → ids of the alive edges where it is the Parent or the Child.
    incident: dict[str, set[str]] = field(default_factory=dict)

    def apply(self, changeset: graph.ChangeSet, position: encoding.Position | None = None) -> int:
        """Apply like ``Projection.apply``; returns the revision (0 none, -1 redelivered)."""
        if position is not None:
            last = self.hwm.get(position.stream)
            if last is not None and last >= position.offset:
                return -1
        t = encoding.to_ms(changeset.time)
        out: list[dict[str, Any]] = []
        for change in changeset.changes:
            if change.op is graph.Op.NODE_UPSERT and change.node is not None:
                self._upsert(Kind.NODE, change.node.id, change.node.to_dict(), None, change, t, out)
            elif change.op is graph.Op.EDGE_UPSERT and change.edge is not None:
                edge = change.edge
                ends = (edge.parent, edge.child)
                self._upsert(Kind.EDGE, edge.id, edge.to_dict(), ends, change, t, out)
            elif change.op is graph.Op.NODE_DELETE:
                self._delete(Kind.NODE, change.id, t, out)
            elif change.op is graph.Op.EDGE_DELETE:
                self._delete(Kind.EDGE, change.id, t, out)
        if position is not None:
            self.hwm[position.stream] = position.offset
        if not out:
            return 0
        self.revision += 1
        self.feed.append(FeedEntry(revision=self.revision, time=t, changes=out))
        return self.revision

    def _next_start(self, kind: Kind, element_id: str, t: int) -> tuple[int, int, bool]:
        entries = self.entries[kind].setdefault(element_id, [])
        if not entries:
            return t, 0, False
        last = entries[-1]
        start = max(t, last.start)
        if start == last.start:
            entries.pop()  # an empty interval: no read can ever see it
            return start, last.revision, True
        return start, last.revision, False

    def _upsert(
        self,
        kind: Kind,
        element_id: str,
        body: dict[str, Any],
        ends: tuple[str, str] | None,
        change: graph.Change,
        t: int,
        out: list[dict[str, Any]],
    ) -> None:
        raw = orjson.dumps(body, option=orjson.OPT_SORT_KEYS)
        current = self.alive[kind].get(element_id)
        if current is not None and current.body == raw:
            return
        start, last_revision, _ = self._next_start(kind, element_id, t)
        revision = last_revision + 1
        created = current.created_at if current is not None else start
        version = encoding.Version(
            revision=revision,
            created_at=created,
            updated_at=start,
            body=orjson.loads(raw),
            source=change.source,
        )
        self.entries[kind][element_id].append(Entry(revision, start, version))
        self.alive[kind][element_id] = _Alive(revision, created, raw, ends)
        if current is not None and current.ends is not None and current.ends != ends:
            self._unlink(element_id, current.ends)
        if ends is not None:
            for node_id in ends:
                self.incident.setdefault(node_id, set()).add(element_id)
        name = "node" if kind is Kind.NODE else "edge"
        out.append(
            {
                "op": f"{name}.upsert",
                "id": element_id,
                "Revision": revision,
                "CreatedAt": created,
                "UpdatedAt": start,
                "Source": change.source.to_dict() if change.source else None,
                name: version.body,
            }
        )

    def _delete(
        self,
        kind: Kind,
        element_id: str,
        t: int,
        out: list[dict[str, Any]],
    ) -> None:
        current = self.alive[kind].get(element_id)
        if current is None:
            return
        if kind is Kind.NODE:
            for edge_id in sorted(self.incident.get(element_id, ())):
                self._delete(Kind.EDGE, edge_id, t, out)
        elif current.ends is not None:
            self._unlink(element_id, current.ends)
        start, _, _ = self._next_start(kind, element_id, t)
        self.entries[kind][element_id].append(Entry(current.revision, start, None))
        del self.alive[kind][element_id]
        name = "node" if kind is Kind.NODE else "edge"
        out.append(
            {
                "op": f"{name}.delete",
                "id": element_id,
                "Revision": current.revision,
                "DeletedAt": start,
            }
        )

    def _unlink(self, edge_id: str, ends: tuple[str, str]) -> None:
        for node_id in ends:
            edges = self.incident.get(node_id)
            if edges is not None:
                edges.discard(edge_id)
                if not edges:
                    del self.incident[node_id]

    def version_between(
        self, kind: Kind, element_id: str, t0: int, t1: int
    ) -> encoding.Version | None:
        """The element's latest version alive at some moment of [t0, t1] (ms).

        ``DeletedAt`` is set when that version ended with a deletion by ``t1``.
        """
        entries = [e for e in self.entries[kind].get(element_id, ()) if e.start <= t1]
        if not entries:
            return None
        last = entries[-1]
        if last.version is not None:
            return last.version
        before = entries[-2] if len(entries) > 1 else None
        if before is None or before.version is None or last.start <= t0:
            return None
        return dataclasses.replace(before.version, deleted_at=last.start)

    def at(self, t: int | None) -> Snapshot:
        """The graph at ``t`` (ms); ``None`` = the latest state."""
        when = t if t is not None else _FOREVER
        return self._view(when, when, time=t, revision=self.revision if t is None else 0)

    def between(self, t0: int, t1: int) -> Snapshot:
        """Every element alive at some moment of [t0, t1], in its latest revision there."""
        return self._view(t0, t1, time=t1, revision=0)

    def _view(self, t0: int, t1: int, *, time: int | None, revision: int) -> Snapshot:
        found: dict[Kind, dict[str, encoding.Version]] = {Kind.NODE: {}, Kind.EDGE: {}}
        for kind, per_id in self.entries.items():
            for element_id in per_id:
                version = self.version_between(kind, element_id, t0, t1)
                if version is not None:
                    found[kind][element_id] = version
        return Snapshot(
            time=time, revision=revision, nodes=found[Kind.NODE], edges=found[Kind.EDGE]
        )


_FOREVER = 2**62
