"""Reads of the Redis projection: now, at a past time, or over a slice of the hot window.

Flows in: a Redis client and the key layout. Flows out: elements in Skydive shape
(``{ID, Metadata, CreatedAt, UpdatedAt, Revision}``; edges also ``Parent``/``Child``),
id lists, and ``Snapshot``s (a whole graph, a ``GraphView`` for the query evaluator).
The method names and shapes are those of ``topolog.core.query.view.GraphView``, async,
with an optional time; ``store.view`` adapts them to the synchronous protocol.

Consistency: each call is one Lua script or one command, so it sees whole changesets.
``snapshot()`` of the live graph reads in batches, then re-reads, in one script per kind,
every element the change feed says changed meanwhile, until nothing did: the result is
the graph at one revision. Times are epoch ms; times before the trimmed horizon raise
``OutsideHotWindow`` and are answered from Kafka (``store.cold``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import redis.asyncio as aioredis

from store import encoding, feed, scripts
from store.keys import Keys, Kind
from store.snapshot import Direction, Element, Snapshot

_BATCH = 1000
_NOW = "+inf"
#: Ids tested per count script call (several calls go in one MULTI).
_COUNT_BATCH = 5000
#: ``NEIGHBOURS``' name of each direction.
_SIDES = {Direction.OUT: "out", Direction.IN: "in", Direction.BOTH: "both"}
#: Edges one ``NEIGHBOURS`` call reads before it stops at the next node: a hub node's
#: 5,000 edges and their 5,000 pods took 18 ms of Redis in one script (slowlog).
NEIGHBOUR_EDGES = 1000

#: KEYS[1] = revision, KEYS[2] = an alive hash (ARGV[1] = "h") or an index set ("s");
#: ARGV[2..] = ids. Returns {revision, size of KEYS[2], how many of the ids are in it}.
_COUNT = """
local hash = ARGV[1] == 'h'
local total
local test
if hash then
  total = redis.call('HLEN', KEYS[2])
  test = 'HEXISTS'
else
  total = redis.call('SCARD', KEYS[2])
  test = 'SISMEMBER'
end
local among = 0
for i = 2, #ARGV do
  among = among + redis.call(test, KEYS[2], ARGV[i])
end
return {redis.call('GET', KEYS[1]) or '0', total, among}
"""


@dataclass(frozen=True, slots=True)
class Count:
    """A live count read atomically: at global ``revision``, ``total`` elements (or index
    members), of which ``among`` are in the ids asked about."""

    revision: int
    total: int
    among: int


class Current(NamedTuple):
    """The live graph as ``GraphReader.current`` reads it (atomically)."""

    revision: int
    nodes: dict[str, Element]
    edges: dict[str, Element]
    #: The projection's identity (``P epoch``, ``""`` if none): what a reader following
    #: the feed from ``revision`` passes to ``store.feed`` to notice a rebuild.
    epoch: str


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
        self._count = client.register_script(_COUNT)
        self._neighbours = client.register_script(scripts.NEIGHBOURS)
        self._find = client.register_script(scripts.FIND)

    @property
    def keys(self) -> Keys:
        return self._keys

    # --- by id -------------------------------------------------------------------------
    async def node(self, node_id: str, at: int | None = None) -> Element | None:
        return (await self.nodes([node_id], at))[0]

    async def nodes(self, ids: Sequence[str], at: int | None = None) -> list[Element | None]:
        """The nodes with these ids at ``at``, in the same order; None where absent."""
        found = await self.versions(Kind.NODE, ids, at)
        return [v.element() if (v := found.get(i)) is not None else None for i in ids]

    async def edge(self, edge_id: str, at: int | None = None) -> Element | None:
        return (await self.edges([edge_id], at))[0]

    async def edges(self, ids: Sequence[str], at: int | None = None) -> list[Element | None]:
        found = await self.versions(Kind.EDGE, ids, at)
        return [v.element() if (v := found.get(i)) is not None else None for i in ids]

    async def versions(
        self, kind: Kind, ids: Sequence[str], at: int | None = None, since: int | None = None
    ) -> dict[str, encoding.Version]:
        """Per id, the version valid at ``at`` — or with ``since``, the latest version alive
        at some moment of [since, at] (with DeletedAt when it ended by ``at``)."""
        out: dict[str, encoding.Version] = {}
        for start in range(0, len(ids), _BATCH):
            _, found = await self._versions(kind, ids[start : start + _BATCH], at, since)
            out.update(found)
        return out

    async def _versions(
        self, kind: Kind, ids: Sequence[str], at: int | None, since: int | None = None
    ) -> tuple[int, dict[str, encoding.Version]]:
        """One atomic lookup: (global revision, versions)."""
        t1: int | str = _NOW if at is None else at
        t0: int | str = t1 if since is None else since
        raw: Any = await self._lookup(args=[self._keys.prefix, kind.value, t1, t0, *ids])
        horizon = int(raw[0])
        oldest = since if since is not None else at
        if oldest is not None and oldest < horizon:
            raise OutsideHotWindow(oldest, horizon)
        found: dict[str, encoding.Version] = {}
        for i, element_id in enumerate(ids):
            member, start, record, deleted = raw[2 + 4 * i : 6 + 4 * i]
            if member:
                version = encoding.parse_record(element_id, int(member), int(float(start)), record)
                if deleted:
                    version = encoding.Version(
                        revision=version.revision,
                        created_at=version.created_at,
                        updated_at=version.updated_at,
                        body=version.body,
                        source=version.source,
                        deleted_at=int(float(deleted)),
                    )
                found[element_id] = version
        return int(raw[1]), found

    # --- id sets -----------------------------------------------------------------------
    async def all_node_ids(self, at: int | None = None) -> list[str]:
        if at is not None:
            return list((await self.snapshot(at)).all_node_ids())
        return _strs(await self._client.hkeys(self._keys.alive(Kind.NODE)))

    async def all_edge_ids(self, at: int | None = None) -> list[str]:
        if at is not None:
            return list((await self.snapshot(at)).all_edge_ids())
        return _strs(await self._client.hkeys(self._keys.alive(Kind.EDGE)))

    async def nodes_by_index(self, key: str, value: str, at: int | None = None) -> list[str]:
        """Ids of the nodes whose ``key`` (``Type``, ``Name``, ``K8s.Namespace``,
        ``State``, ``K8s.Labels.<k>``) is ``value``."""
        if not encoding.is_indexed(key):
            raise KeyError(f"{key!r} is not indexed")
        if at is not None:
            return list((await self.snapshot(at)).nodes_by_index(key, value))
        members = await self._client.smembers(self._keys.index(encoding.term(key, value)))
        return _strs(members)

    async def edges_of(
        self, node_ids: Sequence[str], direction: Direction = Direction.BOTH, at: int | None = None
    ) -> list[list[str]]:
        """Per node id (same order), its edge ids: OUT where it is the Parent, IN the
        Child, BOTH either (a self-loop once)."""
        if at is not None:
            return (await self.snapshot(at)).edges_of(node_ids, direction)
        async with self._client.pipeline(transaction=True) as pipe:
            for node_id in node_ids:
                if direction is not Direction.IN:
                    pipe.hkeys(self._keys.out_edges(node_id))
                if direction is not Direction.OUT:
                    pipe.hkeys(self._keys.in_edges(node_id))
            replies: list[Any] = await pipe.execute()
        per_node = 2 if direction is Direction.BOTH else 1
        out: list[list[str]] = []
        for i in range(len(node_ids)):
            ids: list[str] = []
            for members in replies[i * per_node : (i + 1) * per_node]:
                ids.extend(m for m in _strs(members) if m not in ids)
            out.append(ids)
        return out

    async def find_nodes(
        self, plan: Sequence[tuple[str, Sequence[str]]], limit: int
    ) -> list[Element] | None:
        """The alive nodes having, for every ``(key, values)`` of ``plan``, one of the
        index terms ``key=value``, sorted by id, in one atomic call; None when even the
        smallest term group holds more than ``limit`` ids (read ids, then fetch)."""
        args: list[str | int] = [self._keys.prefix, limit, len(plan)]
        for key, values in plan:
            if not encoding.is_indexed(key):
                raise KeyError(f"{key!r} is not indexed")
            args.append(len(values))
            args.extend(self._keys.index(encoding.term(key, value)) for value in values)
        raw: Any = await self._find(args=args)
        if int(raw[1]) < 0:
            return None
        found: list[Element] = []
        for j in range(2, 2 + 2 * int(raw[1]), 2):
            found.append(_parsed(raw[j].decode(), raw[j + 1]))
        found.sort(key=lambda node: str(node["ID"]))
        return found

    async def neighbours(
        self,
        node_ids: Sequence[str],
        direction: Direction = Direction.BOTH,
        *,
        max_edges: int = NEIGHBOUR_EDGES,
    ) -> tuple[list[list[str]], dict[str, Element]]:
        """One walk step of the live graph: per node id (same order), the other end of
        each of its edges in ``edges_of`` order (an edge without a record skipped), and
        the alive neighbour nodes by id — what ``edges_of``, then ``edges``, then
        ``nodes`` give in three round trips. One atomic call, unless the nodes have more
        than ``max_edges`` edges together: then one call per run of nodes up to it."""
        per_node: list[list[str]] = []
        found: dict[str, Element] = {}
        rest = list(node_ids)
        while rest:
            done = await self._neighbours_of(rest, direction, max_edges, per_node, found)
            rest = rest[done:]
        return per_node, found

    async def _neighbours_of(
        self,
        node_ids: Sequence[str],
        direction: Direction,
        max_edges: int,
        per_node: list[list[str]],
        found: dict[str, Element],
    ) -> int:
        """One ``NEIGHBOURS`` call from the first of ``node_ids``; appends to ``per_node``
        and ``found``; returns how many nodes it did."""
        raw: Any = await self._neighbours(
            args=[self._keys.prefix, _SIDES[direction], max_edges, *node_ids]
        )
        done = int(raw[1])
        at = 2
        for _ in range(done):
            pairs: list[tuple[str, str]] = []
            for _side in range(2 if direction is Direction.BOTH else 1):
                count = int(raw[at])
                side = [
                    (raw[j].decode(), raw[j + 1].decode())
                    for j in range(at + 1, at + 1 + 2 * count, 2)
                ]
                at += 1 + 2 * count
                seen = {edge for edge, _ in pairs}
                pairs.extend(sorted(p for p in side if p[0] not in seen))
            per_node.append([other for _, other in pairs if other])
        for j in range(at + 1, at + 1 + 2 * int(raw[at]), 2):
            node_id = raw[j].decode()
            found[node_id] = _parsed(node_id, raw[j + 1])
        return done

    # --- counts ------------------------------------------------------------------------
    async def count(self, kind: Kind, among: Sequence[str] = ()) -> Count:
        """How many elements of ``kind`` are alive now (HLEN), and how many of ``among``,
        with the revision: one atomic read, O(1) + O(len(among)), no id transferred."""
        return await self._counted(self._keys.alive(kind), "h", among)

    async def count_by_index(self, key: str, value: str, among: Sequence[str] = ()) -> Count:
        """``count`` for the alive nodes with an index term (SCARD; see
        ``nodes_by_index``)."""
        if not encoding.is_indexed(key):
            raise KeyError(f"{key!r} is not indexed")
        return await self._counted(self._keys.index(encoding.term(key, value)), "s", among)

    async def _counted(self, key: str, kind: str, among: Sequence[str]) -> Count:
        keys = [self._keys.rev, key]
        if len(among) <= _COUNT_BATCH:
            raw: Any = await self._count(keys=keys, args=[kind, *among])
            return Count(revision=int(raw[0]), total=int(raw[1]), among=int(raw[2]))
        async with self._client.pipeline(transaction=True) as pipe:
            for start in range(0, len(among), _COUNT_BATCH):
                chunk = among[start : start + _COUNT_BATCH]
                await self._count(keys=keys, args=[kind, *chunk], client=pipe)
            replies: list[Any] = await pipe.execute()
        return Count(
            revision=int(replies[0][0]),
            total=int(replies[0][1]),
            among=sum(int(r[2]) for r in replies),
        )

    async def revision(self) -> int:
        return int(await self._client.get(self._keys.rev) or 0)

    async def horizon(self) -> int:
        """History before this time (ms) has been trimmed."""
        return int(await self._client.get(self._keys.horizon) or 0)

    # --- whole graph ---------------------------------------------------------------------
    async def current(self) -> Current:
        """The live graph's revision and elements in Skydive shape (the ones ``snapshot()``
        holds), by id in id order, and the projection's identity: one atomic read of the
        alive hashes, without ``snapshot()``'s per-id lookups, provenance and indexes
        (~1/3 of its CPU) — for a reader that wants every current element (the gateway's
        live mirror)."""
        async with self._client.pipeline(transaction=True) as pipe:
            pipe.get(self._keys.rev)
            pipe.get(self._keys.epoch)
            pipe.hgetall(self._keys.alive(Kind.NODE))
            pipe.hgetall(self._keys.alive(Kind.EDGE))
            revision, epoch, nodes, edges = await pipe.execute()
        identity = epoch.decode() if isinstance(epoch, bytes) else (epoch or "")
        return Current(int(revision or 0), _current(nodes), _current(edges), identity)

    async def snapshot(self, at: int | None = None) -> Snapshot:
        """The whole graph at ``at`` (ms) or now."""
        return await self._snapshot(at, None)

    async def slice(self, since: int, until: int) -> Snapshot:
        """Every element alive at some moment of [since, until], in its latest revision."""
        return await self._snapshot(until, since)

    async def _snapshot(self, at: int | None, since: int | None) -> Snapshot:
        oldest = since if since is not None else at
        if oldest is not None and oldest < (horizon := await self.horizon()):
            raise OutsideHotWindow(oldest, horizon)
        found: dict[Kind, dict[str, encoding.Version]] = {}
        first = await self.revision()
        for kind in (Kind.NODE, Kind.EDGE):
            ids = await self._ids(kind, with_dead=at is not None)
            found[kind] = await self.versions(kind, ids, at, since)
        revision = await self._settle(found, first) if at is None else 0
        return Snapshot(time=at, revision=revision, nodes=found[Kind.NODE], edges=found[Kind.EDGE])

    async def _ids(self, kind: Kind, *, with_dead: bool) -> list[str]:
        """The alive ids (with those deleted whose history is kept), read atomically."""
        if not with_dead:
            return _strs(await self._client.hkeys(self._keys.alive(kind)))
        async with self._client.pipeline(transaction=True) as pipe:
            pipe.hkeys(self._keys.alive(kind))
            pipe.smembers(self._keys.dead(kind))
            alive, dead = await pipe.execute()
        return sorted({*_strs(alive), *_strs(dead)})

    async def _settle(self, found: dict[Kind, dict[str, encoding.Version]], since: int) -> int:
        """Re-read what changed after ``since`` until one read sees no newer revision."""
        while True:
            entries = await feed.read_after(
                self._client, self._keys, since, count=None, resolved=False
            )
            if not entries:
                return since
            last = entries[-1].revision
            changed: dict[Kind, set[str]] = {Kind.NODE: set(), Kind.EDGE: set()}
            for entry in entries:
                for change in entry.changes:
                    kind = Kind.NODE if change["op"].startswith("node") else Kind.EDGE
                    changed[kind].add(change["id"])
            seen = last
            for kind in (Kind.NODE, Kind.EDGE):
                ids = sorted(changed[kind])
                revision, versions = await self._versions(kind, ids, None)
                seen = max(seen, revision)
                for element_id in ids:
                    found[kind].pop(element_id, None)
                found[kind].update(versions)
            if seen == last:
                return last
            since = last


def _parsed(element_id: str, record: bytes) -> Element:
    """A current record (``<Revision>\\n<start>\\n...``) as the element ``nodes`` gives."""
    revision, start = record.split(b"\n", 2)[:2]
    return encoding.parse_record(element_id, int(revision), int(start), record).element()


def _strs(members: Iterable[bytes | str]) -> list[str]:
    return sorted(m.decode() if isinstance(m, bytes) else m for m in members)


def _current(fields: dict[bytes, bytes]) -> dict[str, Element]:
    """Alive-hash fields (id → current record) → elements, as ``Version.element`` builds
    them (CreatedAt empty in the record = the version's start)."""
    out: dict[str, Element] = {}
    for raw_id in sorted(fields):
        element_id = raw_id.decode()
        revision, start, created, _source, _terms, body = fields[raw_id].split(b"\n", 5)
        element = encoding.parse_body(element_id, body)
        element["CreatedAt"] = int(created or start)
        element["UpdatedAt"] = int(start)
        element["Revision"] = int(revision)
        out[element_id] = element
    return out
