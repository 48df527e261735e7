"""Reads of the Redis projection, now or at a past time inside the hot window.

Flows in: a Redis client and the key layout. Flows out: elements in Skydive shape
(``{ID, Metadata, CreatedAt, UpdatedAt, Revision}``; edges also ``Parent``/``Child``),
id sets, and ``Snapshot``s (a whole graph at one time, for the query evaluator).

Consistency: each call is one Lua script or one command, so it sees whole changesets.
``snapshot(None)`` reads in batches and then re-reads, in one script, every element the
change feed says changed meanwhile, so the result is the graph at one revision.
Times before the trimmed horizon raise ``OutsideHotWindow``: the caller answers them
from Kafka (``store.cold``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import redis.asyncio as aioredis

from store import encoding, scripts
from store.keys import Keys, Kind
from store.snapshot import Direction, Snapshot

_BATCH = 1000


class OutsideHotWindow(LookupError):
    """The time is before the oldest history kept in Redis."""

    def __init__(self, at: int, horizon: int) -> None:
        super().__init__(f"time {at} ms is before the hot window (history starts at {horizon})")
        self.at = at
        self.horizon = horizon


class GraphReader:
    """Async reads; ``at`` is epoch ms, ``None`` = now."""

    def __init__(self, client: aioredis.Redis, keys: Keys) -> None:
        self._client = client
        self._keys = keys
        self._lookup = client.register_script(scripts.LOOKUP)

    @property
    def keys(self) -> Keys:
        return self._keys

    # --- by id -------------------------------------------------------------------------
    async def node(self, node_id: str, at: int | None = None) -> dict[str, Any] | None:
        found = await self.nodes([node_id], at)
        return found[0] if found else None

    async def nodes(self, node_ids: Iterable[str], at: int | None = None) -> list[dict[str, Any]]:
        """The nodes among ``node_ids`` that exist at ``at``, in the given order."""
        versions = await self.versions(Kind.NODE, list(node_ids), at)
        return [v.element() for v in versions.values()]

    async def edge(self, edge_id: str, at: int | None = None) -> dict[str, Any] | None:
        found = await self.edges([edge_id], at)
        return found[0] if found else None

    async def edges(self, edge_ids: Iterable[str], at: int | None = None) -> list[dict[str, Any]]:
        versions = await self.versions(Kind.EDGE, list(edge_ids), at)
        return [v.element() for v in versions.values()]

    async def versions(
        self, kind: Kind, ids: Sequence[str], at: int | None = None
    ) -> dict[str, encoding.Version]:
        """The version of each id valid at ``at`` (absent ids left out), in order."""
        out: dict[str, encoding.Version] = {}
        for start in range(0, len(ids), _BATCH):
            _, found = await self._versions(kind, ids[start : start + _BATCH], at)
            out.update(found)
        return out

    async def _versions(
        self, kind: Kind, ids: Sequence[str], at: int | None
    ) -> tuple[int, dict[str, encoding.Version]]:
        """One atomic lookup: (global revision, versions)."""
        raw = await self._lookup(
            args=[self._keys.prefix, kind.value, "+inf" if at is None else at, *ids]
        )
        horizon = int(raw[0])
        if at is not None and at < horizon:
            raise OutsideHotWindow(at, horizon)
        found: dict[str, encoding.Version] = {}
        for i, element_id in enumerate(ids):
            member, start, record = raw[2 + 3 * i : 5 + 3 * i]
            if member:
                found[element_id] = encoding.parse_record(int(member), int(float(start)), record)
        return int(raw[1]), found

    # --- sets ----------------------------------------------------------------------------
    async def node_ids(self, at: int | None = None) -> set[str]:
        if at is not None:
            return (await self.snapshot(at)).node_ids()
        return _strs(await self._client.smembers(self._keys.alive(Kind.NODE)))

    async def edge_ids(self, at: int | None = None) -> set[str]:
        if at is not None:
            return (await self.snapshot(at)).edge_ids()
        return _strs(await self._client.smembers(self._keys.alive(Kind.EDGE)))

    async def nodes_by_index(self, key: str, value: str, at: int | None = None) -> set[str]:
        """Ids of the nodes whose ``key`` (e.g. ``Type``, ``K8s.Labels.app``) is ``value``."""
        if not encoding.is_indexed(key):
            raise KeyError(f"{key!r} is not indexed")
        if at is not None:
            return (await self.snapshot(at)).nodes_by_index(key, value)
        members = await self._client.smembers(self._keys.index(encoding.term(key, value)))
        return _strs(members)

    async def edges_of(
        self, node_id: str, direction: Direction = Direction.BOTH, at: int | None = None
    ) -> set[str]:
        """Ids of the edges where the node is the Parent (OUT), the Child (IN) or either."""
        if at is not None:
            return (await self.snapshot(at)).edges_of(node_id, direction)
        sets = []
        if direction in (Direction.OUT, Direction.BOTH):
            sets.append(self._keys.out_edges(node_id))
        if direction in (Direction.IN, Direction.BOTH):
            sets.append(self._keys.in_edges(node_id))
        return _strs(await self._client.sunion(sets))

    async def revision(self) -> int:
        return int(await self._client.get(self._keys.rev) or 0)

    async def horizon(self) -> int:
        """History before this time (ms) has been trimmed."""
        return int(await self._client.get(self._keys.horizon) or 0)

    # --- whole graph ---------------------------------------------------------------------
    async def snapshot(self, at: int | None = None) -> Snapshot:
        """The whole graph at ``at`` (ms) or now, read in batches of one script each."""
        if at is not None and at < await self.horizon():
            raise OutsideHotWindow(at, await self.horizon())
        which = self._keys.alive if at is None else self._keys.known
        found: dict[Kind, dict[str, encoding.Version]] = {}
        first = await self.revision()
        for kind in (Kind.NODE, Kind.EDGE):
            ids = sorted(_strs(await self._client.smembers(which(kind))))
            found[kind] = await self.versions(kind, ids, at)
        revision = 0
        if at is None:
            revision = await self._settle(found, first)
        return Snapshot(time=at, revision=revision, nodes=found[Kind.NODE], edges=found[Kind.EDGE])

    async def _settle(self, found: dict[Kind, dict[str, encoding.Version]], since: int) -> int:
        """Re-read what changed after ``since`` until one atomic read sees no newer change."""
        from store import feed  # the feed module reads the same keys; imported late

        while True:
            entries = await feed.read_after(self._client, self._keys, since, count=None)
            changed: dict[Kind, set[str]] = {Kind.NODE: set(), Kind.EDGE: set()}
            for entry in entries:
                for change in entry.changes:
                    kind = Kind.NODE if change["op"].startswith("node") else Kind.EDGE
                    changed[kind].add(change["id"])
            last = entries[-1].revision if entries else since
            if not entries:
                return since
            seen = last
            for kind in (Kind.NODE, Kind.EDGE):
                ids = sorted(changed[kind])
                rev, versions = await self._versions(kind, ids, None)
                seen = max(seen, rev)
                for element_id in ids:
                    found[kind].pop(element_id, None)
                found[kind].update(versions)
            if seen == last:
                return last
            since = last


def _strs(members: Iterable[bytes | str]) -> set[str]:
    return {m.decode() if isinstance(m, bytes) else m for m in members}
