"""Gremlin queries over the Redis projection answer like the evaluator's in-memory graph."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import pytest
import redis.asyncio as aioredis

from store import history
from store.keys import Keys, Kind
from store.projection import Projection
from store.reader import GraphReader
from store.snapshot import Direction
from store.view import PrefetchedTimeTravel, RedisTimeTravel
from tests.integration.store.builders import (
    T0,
    changeset,
    delete_node,
    link,
    pod,
    upsert_edge,
    upsert_node,
)
from topolog.core import graph, query
from topolog.core.query import memory

pytestmark = pytest.mark.integration

NOW = T0 + 100
QUERIES = [
    "G.V().Has('Type', 'pod').Count()",
    "G.V().Has('K8s.Labels.app', 'web').Values('Name')",
    "G.V().Has('Name', 'svc').Out().Values('Name')",
    "G.V().Has('Name', 'web-2').In().Values('Name')",
    "G.V().Has('K8s.Namespace', 'shop').Has('State', 'DOWN').Values('Name')",
    f"G.At({T0 + 15}).V().Has('State', 'DOWN').Values('Name')",
    f"G.At({T0 + 5}).V().Has('Type', 'pod').Values('Name')",
    f"G.At({T0 + 35}, 30).V().Has('Type', 'pod').Values('Name')",
    "G.E().Count()",
    "G.V().Count()",
    f"G.At({T0 + 15}).V().Count()",
    f"G.At({T0 + 5}).E().Count()",
    f"G.At({T0 + 15}).V().Has('State', 'DOWN').Count()",
    f"G.At({T0 + 35}, 30).V().Has('Type', 'pod').Count()",
    f"G.At({T0 + 35}, 30).V().Count()",
]


def _svc() -> graph.Node:
    return graph.Node(id="svc", metadata={"Type": "service", "Name": "svc"})


async def _load(projection: Projection) -> memory.MemoryHistory:
    """The same history in Redis and in the evaluator's memory graph."""
    web = [pod(f"p{i}", f"web-{i}", ns="shop", app="web") for i in range(3)]
    down = pod("p1", "web-1", ns="shop", state="DOWN", app="web")
    sets = [
        changeset(
            T0,
            upsert_node(_svc()),
            *(upsert_node(p) for p in web),
            *(upsert_edge(link("svc", p.id, "service")) for p in web),
        ),
        changeset(T0 + 10, upsert_node(down)),
        changeset(T0 + 20, delete_node("p0")),
    ]
    model = history.History()
    for cs in sets:
        await projection.apply(cs)
        model.apply(cs)
    elements: dict[Kind, list[dict[str, Any]]] = {Kind.NODE: [], Kind.EDGE: []}
    for kind, per_id in model.entries.items():
        for entries in per_id.values():
            for entry, after in zip(entries, [*entries[1:], None], strict=True):
                if entry.version is None:
                    continue
                version = entry.version
                if after is not None and after.version is None:
                    version = dataclasses.replace(version, deleted_at=after.start)
                elements[kind].append(version.element())
    return memory.MemoryHistory(nodes=elements[Kind.NODE], edges=elements[Kind.EDGE])


def _same(result: Any) -> Any:
    return sorted(result, key=repr) if isinstance(result, list) else result


async def test_queries_on_redis_answer_like_the_memory_graph(
    client: aioredis.Redis, keys: Keys
) -> None:
    projection = Projection(client, keys)
    expected_source = await _load(projection)
    reader = GraphReader(client, keys)
    threaded = RedisTimeTravel(reader, asyncio.get_running_loop())
    overlaid = RedisTimeTravel(reader, asyncio.get_running_loop(), client=client)
    slices = [(T0 + 15, T0 + 15), (T0 + 5, T0 + 5), (T0 + 5, T0 + 35)]
    prefetched = await PrefetchedTimeTravel.fetch(reader, slices=slices)
    for text in QUERIES:
        expected = query.run(text, source=expected_source, now=NOW)
        via_thread = await asyncio.to_thread(query.run, text, source=threaded, now=NOW)
        assert expected not in ([], 0), text  # every query finds something
        assert _same(via_thread) == _same(expected), text
        via_overlay = await asyncio.to_thread(query.run, text, source=overlaid, now=NOW)
        assert _same(via_overlay) == _same(expected), text
        assert _same(query.run(text, source=prefetched, now=NOW)) == _same(expected), text


async def test_the_threaded_view_refuses_its_own_loop(client: aioredis.Redis, keys: Keys) -> None:
    travel = RedisTimeTravel(GraphReader(client, keys), asyncio.get_running_loop())
    with pytest.raises(RuntimeError, match="thread"):
        list(travel.live().all_node_ids())


async def test_a_walk_step_is_one_call_and_answers_in_gremlin_order(
    client: aioredis.Redis, keys: Keys
) -> None:
    """Out/In/Both and ShortestPathTo on the live Redis view go through ``neighbours``
    (one script per step or level) and give what the generic edges_of → edges → nodes
    path gives, in the same order: node by node, out-edges then in-edges each by edge
    id, duplicates kept, a self-loop once, an edge whose other end is missing skipped; a
    hub with more edges than one HMGET chunk."""
    hub = graph.Node(id="hub", metadata={"Type": "namespace", "Name": "hub"})
    leaves = [pod(f"p{i:04}", f"leaf-{i:04}", app="a" if i % 2 else "b") for i in range(1200)]
    mid = graph.Node(id="mid", metadata={"Type": "deployment", "Name": "mid"})
    await Projection(client, keys).apply(
        changeset(
            T0,
            upsert_node(hub),
            upsert_node(mid),
            *(upsert_node(p) for p in leaves),
            *(upsert_edge(link("hub", p.id)) for p in leaves),
            upsert_edge(link("mid", "p0001")),
            upsert_edge(link("mid", "p0002", "service")),
            upsert_edge(link("p0001", "mid", "back")),
            upsert_edge(link("mid", "mid", "self")),
            upsert_edge(link("mid", "ghost")),  # its child never arrived
        )
    )
    reader = GraphReader(client, keys)
    threaded = RedisTimeTravel(reader, asyncio.get_running_loop())
    prefetched = await PrefetchedTimeTravel.fetch(reader)
    calls: list[int] = []
    original = reader.neighbours

    async def counted(node_ids: Any, direction: Any) -> Any:
        calls.append(len(node_ids))
        return await original(node_ids, direction)

    reader.neighbours = counted  # type: ignore[method-assign]
    for text, steps in [
        ("G.V().Has('Name', 'mid').Out().Values('Name')", 1),
        ("G.V().Has('Name', 'mid').In().Values('Name')", 1),
        ("G.V().Has('Name', 'mid').Both().Values('Name')", 1),
        ("G.V().Has('Name', 'mid').Both().Both().Values('Name')", 2),
        ("G.V().Has('Name', 'hub').Out().Has('K8s.Labels.app', 'a').Count()", 1),
        ("G.V().Has('Name', 'hub').Out().In().Dedup().Values('Name')", 4),  # 1,200 in 3 batches
        # breadth-first: mid, its neighbours, then hub's 1,200 leaves — one call per level
        ("G.V().Has('Name', 'mid').ShortestPathTo(Metadata('Name', 'leaf-0500'))", 3),
        # an edge filter needs the edges: the generic path
        (
            "G.V().Has('Name', 'mid').ShortestPathTo(Metadata('Name', 'leaf-0500'),"
            " Metadata('RelationType', 'ownership'))",
            0,
        ),
    ]:
        calls.clear()
        expected = query.run(text, source=prefetched, now=NOW)  # the generic path
        got = await asyncio.to_thread(query.run, text, source=threaded, now=NOW)
        assert expected not in ([], 0), text
        assert got == expected, text
        assert len(calls) == steps, text
    both = query.run("G.V().Has('Name', 'mid').Both().Values('Name')", source=prefetched, now=NOW)
    assert sorted(both) == ["leaf-0001", "leaf-0001", "leaf-0002", "mid"]  # no ghost, loop once


async def test_an_indexed_start_reads_ids_and_nodes_in_one_call(
    client: aioredis.Redis, keys: Keys
) -> None:
    """``Has`` on indexed keys right after ``V()`` is one script (``find_nodes``) when
    the smallest term group is small, tests the other groups by membership, and gives
    the nodes the generic path gives, in the same order; a start selecting more than a
    batch of ids falls back to reading ids and fetching them."""
    pods = [
        pod(f"p{i:04}", f"web-{i:04}", ns="shop" if i % 3 else "lab", app=f"a{i % 4}")
        for i in range(700)
    ]
    await Projection(client, keys).apply(
        changeset(T0, upsert_node(_svc()), *(upsert_node(p) for p in pods))
    )
    reader = GraphReader(client, keys)
    threaded = RedisTimeTravel(reader, asyncio.get_running_loop())
    prefetched = await PrefetchedTimeTravel.fetch(reader)
    found: list[int | None] = []
    original = reader.find_nodes

    async def counted(plan: Any, limit: int) -> Any:
        result = await original(plan, limit)
        found.append(None if result is None else len(result))
        return result

    reader.find_nodes = counted  # type: ignore[method-assign]
    for text, answered in [
        ("G.V().Has('Name', 'web-0007')", [1]),
        ("G.V().Has('Type', 'pod', 'Name', 'web-0007').Values('Name')", [1]),
        ("G.V().Has('Name', Within('web-0001', 'web-0002', 'svc')).Values('Name')", [3]),
        # the smallest group (lab: 234) first, Type and app tested by membership
        ("G.V().Has('Type', 'pod').Has('K8s.Namespace', 'lab').Has('K8s.Labels.app', 'a1')", [58]),
        ("G.V().Has('Name', 'nobody')", [0]),
        ("G.V().Has('Type', 'pod').Count()", []),  # a count never fetches nodes
        ("G.V().Has('Type', 'pod').Values('Name')", [None]),  # 700 > a batch: ids first
        ("G.V().Has('K8s.Namespace', 'shop').Has('Name', 'web-0008').Out()", [1]),
    ]:
        found.clear()
        expected = query.run(text, source=prefetched, now=NOW)  # the generic path
        got = await asyncio.to_thread(query.run, text, source=threaded, now=NOW)
        assert got == expected, text
        assert found == answered, text


async def test_a_walk_over_many_edges_is_split_between_nodes_not_within_one(
    client: aioredis.Redis, keys: Keys
) -> None:
    """``neighbours`` stops a call at the next node once ``max_edges`` edges were read
    (so a batch of hub nodes does not hold Redis in one long script) and goes on from
    there; a node with more edges than that is still read whole. Same answer."""
    hubs = [
        graph.Node(id=f"hub{h}", metadata={"Type": "namespace", "Name": f"hub{h}"})
        for h in range(3)
    ]
    leaves = [pod(f"p{i:04}", f"leaf-{i:04}") for i in range(300)]
    await Projection(client, keys).apply(
        changeset(
            T0,
            *(upsert_node(n) for n in [*hubs, *leaves]),
            *(upsert_edge(link(f"hub{i % 3}", p.id)) for i, p in enumerate(leaves)),
        )
    )
    reader = GraphReader(client, keys)
    ids = ["hub0", "hub1", "hub2", *(p.id for p in leaves)]
    whole = await reader.neighbours(ids, Direction.BOTH)
    calls: list[int] = []
    original = reader._neighbours_of

    async def counted(node_ids: Any, *args: Any) -> int:
        done = await original(node_ids, *args)
        calls.append(done)
        return done

    reader._neighbours_of = counted  # type: ignore[method-assign]
    assert await reader.neighbours(ids, Direction.BOTH, max_edges=150) == whole
    # hub0 and hub1 (the cap reached after the second: 200 edges); hub2 and 50 leaves
    # (one edge each: 150); 150 leaves; the last 100
    assert calls == [2, 51, 150, 100]
    assert len(whole[0][0]) == 100 and len(whole[1]) == 303
