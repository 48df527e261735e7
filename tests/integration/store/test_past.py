"""The graph at a past time as live graph + overlay (store.past) equals the whole snapshot.

Random histories: creates, updates that move nodes between index sets (labels, names,
namespaces, states), deletes (a node takes its edges), recreations, edges changing ends'
existence, same-millisecond changesets, a clock going backwards and a lagging source
whose changesets carry times minutes old. At many times and slices, every answer of the
``GraphView`` protocol is compared with ``reader.snapshot(t)`` / ``reader.slice(t0, t1)``.
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

import pytest
import redis.asyncio as aioredis

from store import reader as reader_module
from store import trimmer
from store.keys import Keys, Kind
from store.past import Past, PastSource
from store.projection import Projection
from store.reader import GraphReader, OutsideHotWindow
from store.snapshot import Snapshot
from store.view import PastView, RedisTimeTravel
from topolog.core import graph, query
from topolog.core.query.view import Direction

pytestmark = pytest.mark.integration

T0 = 1_700_000_000.0
NODES = [f"n{i}" for i in range(10)]
APPS = ["web", "db", "cache"]


def _node(rnd: random.Random, node_id: str) -> graph.Node:
    labels = {"app": rnd.choice(APPS)}
    if rnd.random() < 0.5:
        labels["tier"] = rnd.choice(["front", "back"])
    return graph.Node(
        id=node_id,
        metadata={
            "Type": rnd.choice(["pod", "pod", "service"]),
            "Name": f"{node_id}-{rnd.randint(0, 2)}",
            "State": rnd.choice(["UP", "DOWN"]),
            "K8s": {"Namespace": rnd.choice(["a", "b"]), "Labels": labels},
        },
    )


def _edge(rnd: random.Random) -> graph.Edge:
    parent, child = rnd.choice(NODES), rnd.choice(NODES)  # self-loops included
    relation = rnd.choice(["ownership", "service"])
    return graph.Edge(
        id=graph.edge_id(parent, child, relation),
        parent=parent,
        child=child,
        metadata={"RelationType": relation, "Weight": rnd.randint(0, 1)},
    )


def random_history(seed: int, count: int, *, start: float = T0) -> list[graph.ChangeSet]:
    rnd = random.Random(seed)
    out: list[graph.ChangeSet] = []
    t = start
    for _ in range(count):
        t += rnd.choice([0, 0.0004, 0.5, 1, 1, 3, -2])  # same ms, sub-ms, a clock going back
        at = t - 120 if rnd.random() < 0.15 else t  # a source lagging two minutes
        changes: list[graph.Change] = []
        for _ in range(rnd.randint(1, 5)):
            roll = rnd.random()
            if roll < 0.4:
                node = _node(rnd, rnd.choice(NODES))
                changes.append(graph.Change(graph.Op.NODE_UPSERT, node.id, node=node))
            elif roll < 0.75:
                edge = _edge(rnd)
                changes.append(graph.Change(graph.Op.EDGE_UPSERT, edge.id, edge=edge))
            elif roll < 0.88:
                changes.append(graph.Change(graph.Op.NODE_DELETE, rnd.choice(NODES)))
            else:
                changes.append(graph.Change(graph.Op.EDGE_DELETE, _edge(rnd).id))
        out.append(graph.ChangeSet(time=at, changes=changes))
    return out


def _times(sets: list[graph.ChangeSet], rnd: random.Random, count: int) -> list[int]:
    """Changeset times (ms), a millisecond either side, before the first, after the last."""
    ms = sorted({round(cs.time * 1000) for cs in sets})
    around = {m + d for m in ms for d in (-1, 0, 1)}
    picked = rnd.sample(sorted(around), min(count, len(around)))
    return sorted({*picked, ms[0] - 5000, ms[-1] + 5000})


async def _apply(projection: Projection, sets: list[graph.ChangeSet]) -> None:
    for cs in sets:
        await projection.apply(cs)


async def assert_same(past: Past | Snapshot, snap: Snapshot, where: Any) -> None:
    """Every GraphView answer of ``past`` (awaited when async) equals the snapshot's."""

    async def ask(name: str, *args: Any) -> Any:
        answer = getattr(past, name)(*args)
        return await answer if asyncio.iscoroutine(answer) else answer

    node_ids = list(snap.all_node_ids())
    edge_ids = list(snap.all_edge_ids())
    assert list(await ask("all_node_ids")) == node_ids, where
    assert list(await ask("all_edge_ids")) == edge_ids, where
    asked_nodes = [*NODES, "absent"]
    assert await ask("nodes", asked_nodes) == snap.nodes(asked_nodes), where
    asked_edges = sorted({*edge_ids, _edge(random.Random(0)).id, "absent"})
    assert await ask("edges", asked_edges) == snap.edges(asked_edges), where
    terms = [("Type", "pod"), ("Type", "service"), ("State", "UP"), ("State", "DOWN")]
    terms += [("K8s.Namespace", ns) for ns in ("a", "b", "c")]
    terms += [("K8s.Labels.app", app) for app in APPS]
    terms += [("K8s.Labels.tier", "front"), ("K8s.Labels.tier", "back")]
    terms += [("Name", f"{n}-{i}") for n in NODES[:4] for i in range(3)]
    for key, value in terms:
        found = list(await ask("nodes_by_index", key, value))
        assert found == list(snap.nodes_by_index(key, value)), (where, key, value)
    for direction in Direction:
        found = await ask("edges_of", asked_nodes, direction)
        assert found == snap.edges_of(asked_nodes, direction), (where, direction)
    if isinstance(past, Past):
        await assert_same_counts(past, snap, terms, where)


async def assert_same_counts(
    past: Past, snap: Snapshot, terms: list[tuple[str, str]], where: Any
) -> None:
    """The counts (live counts corrected by the changed ids) equal the listed ids' sizes."""
    assert await past.count(Kind.NODE) == len(list(snap.all_node_ids())), where
    assert await past.count(Kind.EDGE) == len(list(snap.all_edge_ids())), where
    for key, value in terms:
        counted = await past.count_by_index(key, value)
        assert counted == len(list(snap.nodes_by_index(key, value))), (where, key, value)


@pytest.mark.parametrize("seed", range(12))
async def test_the_overlay_at_any_time_equals_the_snapshot(
    client: aioredis.Redis, keys: Keys, seed: int
) -> None:
    sets = random_history(seed, 60)
    await _apply(Projection(client, keys), sets)
    reader = GraphReader(client, keys)
    source = PastSource(reader, client)
    rnd = random.Random(seed)
    overlaid = 0
    for t in _times(sets, rnd, 25):
        past = await source.open(t, t)
        assert past is not None
        await assert_same(past, await reader.snapshot(t), t)
        overlaid += len(past.overlay)
    assert overlaid > 0  # the overlay was exercised, not only the live graph


@pytest.mark.parametrize("seed", range(6))
async def test_the_overlay_over_a_slice_equals_the_slice(
    client: aioredis.Redis, keys: Keys, seed: int
) -> None:
    sets = random_history(100 + seed, 50)
    await _apply(Projection(client, keys), sets)
    reader = GraphReader(client, keys)
    source = PastSource(reader, client)
    times = _times(sets, random.Random(seed), 16)
    for t0, t1 in zip(times, times[3:], strict=False):
        past = await source.open(t0, t1)
        assert past is not None
        await assert_same(past, await reader.slice(t0, t1), (t0, t1))


@pytest.mark.parametrize("seed", range(4))
async def test_writes_after_opening_are_caught_up(
    client: aioredis.Redis, keys: Keys, seed: int
) -> None:
    """A view opened before more changesets are applied still answers for its time (the
    new changes are read from the feed before each answer)."""
    sets = random_history(200 + seed, 80)
    projection = Projection(client, keys)
    await _apply(projection, sets[:40])
    reader = GraphReader(client, keys)
    source = PastSource(reader, client)
    times = _times(sets[:40], random.Random(seed), 6)
    opened = [(t, await source.open(t, t)) for t in times]
    await _apply(projection, sets[40:])
    for t, past in opened:
        assert past is not None
        await assert_same(past, await reader.snapshot(t), t)


class WritingReader(GraphReader):
    """A reader that applies the next pending changesets right before each count (so the
    count is read at a revision the view has not caught up with yet)."""

    def __init__(self, client: aioredis.Redis, keys: Keys, pending: list[graph.ChangeSet]) -> None:
        super().__init__(client, keys)
        self.projection = Projection(client, keys)
        self.pending = pending

    async def _counted(self, key: str, kind: str, among: Any) -> reader_module.Count:
        if self.pending:
            await self.projection.apply(self.pending.pop(0))
        return await super()._counted(key, kind, among)


async def _count(past: Past, name: str, args: tuple[str, ...]) -> int:
    """The count ``len(past.<name>(*args))`` answered without listing ids."""
    if name == "nodes_by_index":
        return await past.count_by_index(*args)
    return await past.count(Kind.NODE if name == "all_node_ids" else Kind.EDGE)


@pytest.mark.parametrize(("seed", "batch"), [(0, 5000), (1, 5000), (2, 2), (3, 1)])
async def test_counts_with_writes_between_the_feed_read_and_the_count(
    client: aioredis.Redis,
    keys: Keys,
    seed: int,
    batch: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Counts at many times of a view opened before more writes (made right before each
    count, after the feed was read) equal the listed ids at the end."""
    monkeypatch.setattr(reader_module, "_COUNT_BATCH", batch)  # several calls in one MULTI
    sets = random_history(300 + seed, 100)
    await _apply(Projection(client, keys), sets[:40])
    times = _times(sets[:40], random.Random(seed), 10)
    pending = sets[40:]
    reader = WritingReader(client, keys, pending)
    source = PastSource(reader, client)
    opened = [(t, await source.open(t, t)) for t in times]
    terms = [("Type", "pod"), ("State", "UP"), ("K8s.Labels.app", "web"), ("Name", "n1-1")]
    asked: list[tuple[str, tuple[str, ...]]] = [("all_node_ids", ()), ("all_edge_ids", ())]
    asked += [("nodes_by_index", term) for term in terms]
    for t, past in opened:
        assert past is not None
        for name, args in asked:
            counted = await _count(past, name, args)
            snap = await reader.snapshot(t)  # no write since that count
            assert counted == len(list(getattr(snap, name)(*args))), (t, name, args)
        assert [len(await past.all_node_ids()), len(await past.all_edge_ids())] == [
            len(list(snap.all_node_ids())),
            len(list(snap.all_edge_ids())),
        ]
    assert not pending  # every write went in between
    live = await reader.count(Kind.NODE)
    assert (live.revision, live.total) == (
        await reader.revision(),
        len(await reader.all_node_ids()),
    )


async def test_the_time_index_follows_the_feed_across_views(
    client: aioredis.Redis, keys: Keys
) -> None:
    sets = random_history(7, 60)
    projection = Projection(client, keys)
    reader = GraphReader(client, keys)
    source = PastSource(reader, client)
    for start in range(0, 60, 15):  # the index is extended by each open
        await _apply(projection, sets[start : start + 15])
        for t in _times(sets[: start + 15], random.Random(start), 5):
            past = await source.open(t, t)
            assert past is not None
            await assert_same(past, await reader.snapshot(t), t)


async def test_a_background_refresh_indexes_every_revision_before_any_view(
    client: aioredis.Redis, keys: Keys
) -> None:
    sets = random_history(11, 40)
    projection = Projection(client, keys)
    reader = GraphReader(client, keys)
    source = PastSource(reader, client)
    await _apply(projection, sets[:20])
    await source.refresh()
    assert source.timeline.last == await reader.revision()
    await _apply(projection, sets[20:])
    await source.refresh()  # only the new entries; views opened after it agree
    assert source.timeline.last == await reader.revision()
    for t in _times(sets, random.Random(11), 8):
        past = await source.open(t, t)
        assert past is not None
        await assert_same(past, await reader.snapshot(t), t)


async def test_a_long_feed_since_the_time_falls_back_to_the_snapshot(
    client: aioredis.Redis, keys: Keys
) -> None:
    sets = random_history(8, 40)
    await _apply(Projection(client, keys), sets)
    reader = GraphReader(client, keys)
    t = round(sets[10].time * 1000)
    assert await PastSource(reader, client, max_changes=0).open(t, t) is None
    travel = RedisTimeTravel(reader, asyncio.get_running_loop(), client=client, max_changes=0)
    fallback = await asyncio.to_thread(travel.view_at, t / 1000)
    assert isinstance(fallback, Snapshot)
    travel = RedisTimeTravel(reader, asyncio.get_running_loop(), client=client)
    overlaid = await asyncio.to_thread(travel.view_at, t / 1000)
    assert isinstance(overlaid, PastView)
    text = f"G.At({t / 1000}).V().Has('Type', 'pod').Out().Values('Name')"
    now = sets[-1].time + 600
    expected = query.run(text, source=PrefetchedAt(fallback), now=now)
    assert await asyncio.to_thread(query.run, text, source=travel, now=now) == expected


async def test_before_the_horizon_the_view_is_cold(client: aioredis.Redis, keys: Keys) -> None:
    sets = random_history(9, 30)
    await _apply(Projection(client, keys), sets)
    reader = GraphReader(client, keys)
    cutoff = round(sets[15].time * 1000)
    await trimmer.trim(client, keys, cutoff=cutoff)
    with pytest.raises(OutsideHotWindow):
        await PastSource(reader, client).open(cutoff - 1, cutoff - 1)
    cold_asked: list[tuple[int, int]] = []

    async def cold(t0: int, t1: int) -> Snapshot:
        cold_asked.append((t0, t1))
        return Snapshot(time=t1, revision=0, nodes={}, edges={})

    travel = RedisTimeTravel(reader, asyncio.get_running_loop(), client=client, cold=cold)
    await asyncio.to_thread(travel.view_at, (cutoff - 1) / 1000)
    assert cold_asked == [(cutoff - 1, cutoff - 1)]


class PrefetchedAt:
    """A TimeTravel whose every past view is one snapshot."""

    def __init__(self, snap: Snapshot) -> None:
        self.snap = snap

    def live(self) -> Snapshot:
        raise AssertionError("not used")

    def view_at(self, t: float) -> Snapshot:
        return self.snap

    def view_between(self, t0: float, t1: float) -> Snapshot:
        raise AssertionError("not used")


@pytest.mark.parametrize("count", [20, 200])
async def test_a_rebuilt_projection_starts_a_new_time_index(
    client: aioredis.Redis, keys: Keys, count: int
) -> None:
    """Revisions restart after a flush or rebuild (to fewer revisions than before, or
    more): the old index must not hide the new entries."""
    reader = GraphReader(client, keys)
    source = PastSource(reader, client)
    await _apply(Projection(client, keys), random_history(10, 150))
    t = round(T0 * 1000) + 30_000
    assert await source.open(t, t) is not None
    await client.flushdb()
    sets = random_history(11, count, start=T0 + 3600)  # later than anything indexed
    await _apply(Projection(client, keys), sets)
    for t in _times(sets, random.Random(0), 8):
        past = await source.open(t, t)
        assert past is not None
        await assert_same(past, await reader.snapshot(t), t)
