"""The Redis projection: point-in-time reads, atomicity, idempotency (real Redis)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import redis.asyncio as aioredis

from store import dump, encoding, feed, history, scripts
from store.keys import Keys, Kind
from store.projection import LayoutMismatch, Projection, check_layout
from store.reader import GraphReader
from store.snapshot import Direction, Snapshot
from tests.integration.store.builders import (
    T0,
    changeset,
    delete_edge,
    delete_node,
    link,
    pod,
    random_changesets,
    src,
    upsert_edge,
    upsert_node,
)
from topolog.core import graph

pytestmark = pytest.mark.integration


def by_id(snap: Snapshot) -> dict[str, dict[str, Any]]:
    topology = snap.topology()
    return {e["ID"]: e for e in topology["Nodes"] + topology["Edges"]}


def ms(seconds: float) -> int:
    return encoding.to_ms(seconds)


def pos(offset: int, partition: int = 0) -> encoding.Position:
    return encoding.Position(topic="topolog.graph", partition=partition, offset=offset)


async def test_graph_at_a_time_shows_each_element_in_the_revision_valid_then(
    client: aioredis.Redis, keys: Keys
) -> None:
    projection, reader = Projection(client, keys), GraphReader(client, keys)
    web_v1 = pod("uid-1", "web", app="web")
    web_v2 = pod("uid-1", "web", app="web", state="DOWN")
    web_new = pod("uid-2", "web", app="web")  # recreated: same name, new uid
    await projection.apply(changeset(T0, upsert_node(web_v1)), pos(0))
    await projection.apply(changeset(T0 + 10, upsert_node(web_v2)), pos(1))
    await projection.apply(changeset(T0 + 20, delete_node("uid-1")), pos(2))
    await projection.apply(changeset(T0 + 30, upsert_node(web_new)), pos(3))

    assert await reader.node("uid-1", ms(T0 - 1)) is None
    at_start = await reader.node("uid-1", ms(T0))
    assert at_start is not None
    assert at_start["Metadata"]["State"] == "UP"
    assert (at_start["Revision"], at_start["CreatedAt"], at_start["UpdatedAt"]) == (
        1,
        ms(T0),
        ms(T0),
    )
    updated = await reader.node("uid-1", ms(T0 + 15))
    assert updated is not None
    assert updated["Metadata"]["State"] == "DOWN"
    assert (updated["Revision"], updated["CreatedAt"], updated["UpdatedAt"]) == (
        2,
        ms(T0),
        ms(T0 + 10),
    )
    assert await reader.node("uid-1", ms(T0 + 20)) is None
    assert await reader.node("uid-1") is None
    assert await reader.node("uid-2", ms(T0 + 25)) is None
    assert (await reader.node("uid-2"))["Metadata"]["Name"] == "web"  # type: ignore[index]

    assert set(await reader.nodes_by_index("Name", "web", ms(T0 + 5))) == {"uid-1"}
    assert set(await reader.nodes_by_index("Name", "web", ms(T0 + 25))) == set()
    assert set(await reader.nodes_by_index("Name", "web", ms(T0 + 35))) == {"uid-2"}
    assert set(await reader.nodes_by_index("State", "DOWN", ms(T0 + 15))) == {"uid-1"}
    assert set(await reader.nodes_by_index("State", "DOWN")) == set()
    assert set(await reader.nodes_by_index("K8s.Labels.app", "web")) == {"uid-2"}


async def test_live_indexes_and_adjacency_follow_updates(
    client: aioredis.Redis, keys: Keys
) -> None:
    projection, reader = Projection(client, keys), GraphReader(client, keys)
    ns = graph.Node(id="ns", metadata={"Type": "namespace", "Name": "default"})
    web = pod("p1", "web", tier="front")
    owns = link("ns", "p1")
    await projection.apply(changeset(T0, upsert_node(ns), upsert_node(web), upsert_edge(owns)))
    assert set((await reader.edges_of(["ns"], Direction.OUT))[0]) == {owns.id}
    assert set((await reader.edges_of(["ns"], Direction.IN))[0]) == set()
    assert set((await reader.edges_of(["p1"], Direction.IN))[0]) == {owns.id}
    assert set(await reader.nodes_by_index("K8s.Labels.tier", "front")) == {"p1"}
    assert set(await reader.nodes_by_index("K8s.Namespace", "default")) == {"p1"}

    relabelled = pod("p1", "web", tier="back")
    await projection.apply(changeset(T0 + 1, upsert_node(relabelled)))
    assert set(await reader.nodes_by_index("K8s.Labels.tier", "front")) == set()
    assert set(await reader.nodes_by_index("K8s.Labels.tier", "back")) == {"p1"}
    edge = await reader.edge(owns.id)
    assert edge is not None
    assert (edge["Parent"], edge["Child"]) == ("ns", "p1")

    await projection.apply(changeset(T0 + 2, delete_edge(owns.id)))
    assert (await reader.edges_of(["ns"]))[0] == []
    assert await reader.all_edge_ids() == []
    assert await reader.all_node_ids() == ["ns", "p1"]


async def test_deleting_a_node_deletes_its_edges_in_the_same_revision(
    client: aioredis.Redis, keys: Keys
) -> None:
    projection, reader = Projection(client, keys), GraphReader(client, keys)
    ns = graph.Node(id="ns", metadata={"Type": "namespace", "Name": "default"})
    owns = link("ns", "p1")
    await projection.apply(
        changeset(T0, upsert_node(ns), upsert_node(pod("p1", "web")), upsert_edge(owns))
    )
    applied = await projection.apply(changeset(T0 + 1, delete_node("p1")))
    assert applied.changes == 2
    assert await reader.all_edge_ids() == []
    assert (await reader.edges_of(["ns"]))[0] == []
    assert await reader.edge(owns.id, ms(T0 + 0.5)) is not None
    assert await reader.edge(owns.id, ms(T0 + 1)) is None


async def test_a_deleted_nodes_edges_go_in_id_byte_order_like_the_in_memory_history(
    client: aioredis.Redis, keys: Keys
) -> None:
    """The cascade's order is the feed's order: bytes, whatever the server's locale
    (Lua compares strings with strcoll), and a self-loop once."""
    projection, reader = Projection(client, keys), GraphReader(client, keys)
    model = history.History()
    hub = graph.Node(id="hub", metadata={"Type": "namespace", "Name": "hub"})
    others = [pod(f"p{i}", f"p{i}") for i in range(3)]
    edge_ids = ["b", "B", "a-2", "a_1", "\u00e9", "Z", "a"]
    edges = [
        graph.Edge(
            id=e,
            parent="hub" if i % 2 else f"p{i % 3}",
            child=f"p{i % 3}" if i % 2 else "hub",
            metadata={"RelationType": "ownership"},
        )
        for i, e in enumerate(edge_ids)
    ]
    loop = graph.Edge(id="loop", parent="hub", child="hub", metadata={"RelationType": "self"})
    first = changeset(
        T0,
        upsert_node(hub),
        *(upsert_node(p) for p in others),
        *(upsert_edge(e) for e in [*edges, loop]),
    )
    second = changeset(T0 + 1, delete_node("hub"))
    for offset, cs in enumerate([first, second]):
        assert (await projection.apply(cs, pos(offset))).revision == model.apply(cs, pos(offset))
    entries = await feed.read_after(client, keys, 0, count=None)
    assert entries == model.feed
    assert [c["id"] for c in entries[-1].changes] == [*sorted([*edge_ids, "loop"]), "hub"]
    assert await reader.edges_of([p.id for p in others]) == [[], [], []]


async def test_the_projection_carries_its_layout_and_the_projector_refuses_another(
    client: aioredis.Redis, keys: Keys
) -> None:
    await check_layout(client, keys)  # empty: fine
    projection = Projection(client, keys)
    await projection.apply(changeset(T0, upsert_node(pod("p1", "web"))), pos(0))
    assert await client.get(keys.layout) == scripts.LAYOUT.encode()
    await check_layout(client, keys)
    await client.delete(keys.layout)  # a projection written before the marker
    with pytest.raises(LayoutMismatch, match="topolog rebuild"):
        await check_layout(client, keys)
    await client.set(keys.layout, "1")
    with pytest.raises(LayoutMismatch):
        await check_layout(client, keys)


async def test_concurrent_reader_never_sees_an_edge_without_its_nodes(
    client: aioredis.Redis, keys: Keys, redis_url: str
) -> None:
    projection = Projection(client, keys)
    reader_client = aioredis.Redis.from_url(redis_url)
    reader = GraphReader(reader_client, keys)
    hub = graph.Node(id="hub", metadata={"Type": "namespace", "Name": "hub"})
    await projection.apply(changeset(T0, upsert_node(hub)))
    done = asyncio.Event()
    checks = 0

    async def write() -> None:
        for i in range(300):
            leaf = pod(f"p{i}", f"web-{i}")
            await projection.apply(
                changeset(T0 + i, upsert_node(leaf), upsert_edge(link("hub", leaf.id))), pos(2 * i)
            )
            if i % 3 == 0:
                await projection.apply(
                    changeset(T0 + i + 0.5, delete_node(leaf.id)), pos(2 * i + 1)
                )
            await asyncio.sleep(0.002)  # give the reader turns between writes
        done.set()

    async def read() -> None:
        nonlocal checks
        while not done.is_set() or checks == 0:
            async with reader_client.pipeline(transaction=True) as pipe:
                pipe.hkeys(keys.alive(Kind.EDGE)).hkeys(keys.alive(Kind.NODE))
                pipe.hkeys(keys.out_edges("hub"))
                edge_ids, node_ids, hub_out = await pipe.execute()
            children = {e.decode() for e in edge_ids}
            assert children == {e.decode() for e in hub_out}
            alive = {n.decode() for n in node_ids}
            expected = {link("hub", n).id for n in alive if n != "hub"}
            assert children == expected
            snap = await reader.snapshot()
            for edge in snap.edges(list(snap.all_edge_ids())):
                assert edge is not None
                assert None not in snap.nodes([edge["Parent"], edge["Child"]])
            checks += 1

    try:
        await asyncio.gather(write(), read())
    finally:
        await reader_client.aclose()
    assert checks > 10


async def test_redelivered_changeset_changes_nothing(client: aioredis.Redis, keys: Keys) -> None:
    projection = Projection(client, keys)
    first = changeset(T0, upsert_node(pod("p1", "web")), upsert_edge(link("p1", "p1")))
    second = changeset(T0 + 1, upsert_node(pod("p1", "web", state="DOWN")))
    await projection.apply(first, pos(7))
    await projection.apply(second, pos(8))
    before = await dump.dump(client, keys)

    again = await projection.apply(first, pos(7))
    assert again.redelivered
    assert await dump.dump(client, keys) == before
    # The same content from a new record (a processor replay) is no change either.
    replayed = await projection.apply(
        changeset(T0 + 2, upsert_node(pod("p1", "web", state="DOWN"))), pos(9)
    )
    assert replayed.revision == 0
    after = await dump.dump(client, keys)
    assert after.pop("hwm") != before.pop("hwm")
    assert after == before


async def test_versions_in_the_same_millisecond_keep_only_the_last(
    client: aioredis.Redis, keys: Keys
) -> None:
    projection, reader = Projection(client, keys), GraphReader(client, keys)
    await projection.apply(changeset(T0, upsert_node(pod("p1", "web"))))
    await projection.apply(changeset(T0, upsert_node(pod("p1", "web", state="DOWN"))))
    node = await reader.node("p1", ms(T0))
    assert node is not None
    assert (node["Metadata"]["State"], node["Revision"]) == ("DOWN", 2)
    # One version left: it is the current one, without a history zset.
    assert not await client.exists(keys.history(Kind.NODE, "p1"))


async def test_an_element_gets_a_history_zset_with_its_second_version(
    client: aioredis.Redis, keys: Keys
) -> None:
    """One version: only the alive hash holds it. The second moves the first (its record
    as it was) into the versions hash and both into a history zset; reads and the feed
    see every version."""
    projection, reader = Projection(client, keys), GraphReader(client, keys)
    history_key = keys.history(Kind.NODE, "p1")
    await projection.apply(changeset(T0, upsert_node(pod("p1", "web"), 1)), pos(0))
    terms = encoding.terms_text(encoding.node_terms(pod("p1", "web").metadata))
    body = encoding.node_body(pod("p1", "web"))
    assert await client.hget(keys.alive(Kind.NODE), "p1") == encoding.current_record(
        1, ms(T0), ms(T0), src(1), terms, body
    )
    assert not await client.exists(history_key)
    assert not await client.exists(keys.versions(Kind.NODE))
    assert await reader.node("p1", ms(T0 - 1)) is None
    first = await reader.node("p1", ms(T0))
    assert first is not None
    assert (first["Revision"], first["CreatedAt"], first["UpdatedAt"]) == (1, ms(T0), ms(T0))

    await projection.apply(
        changeset(T0 + 10, upsert_node(pod("p1", "web", state="DOWN"), 2)), pos(1)
    )
    assert await client.zrange(history_key, 0, -1, withscores=True) == [
        (b"1", ms(T0)),
        (b"2", ms(T0 + 10)),
    ]
    assert await client.hgetall(keys.versions(Kind.NODE)) == {
        b"p1/1": encoding.current_record(1, ms(T0), ms(T0), src(1), terms, body)
    }
    states = {}
    for s in (-1, 0, 5, 10, 15):
        node = await reader.node("p1", ms(T0 + s))
        states[s] = None if node is None else (node["Metadata"]["State"], node["Revision"])
    assert states == {-1: None, 0: ("UP", 1), 5: ("UP", 1), 10: ("DOWN", 2), 15: ("DOWN", 2)}
    now = await reader.node("p1")
    assert now is not None
    assert (now["CreatedAt"], now["UpdatedAt"]) == (ms(T0), ms(T0 + 10))

    await projection.apply(changeset(T0 + 20, delete_node("p1")), pos(2))
    assert not await client.hexists(keys.alive(Kind.NODE), "p1")
    assert await reader.node("p1") is None
    last = await reader.versions(Kind.NODE, ["p1"], ms(T0 + 25), since=ms(T0 + 15))
    assert (last["p1"].revision, last["p1"].deleted_at) == (2, ms(T0 + 20))

    # The feed resolves each revision, whether current, superseded or deleted since.
    entries = await feed.read_after(client, keys, 0, count=None)
    resolved = [
        (c["op"], c["Revision"], c.get("node", {}).get("Metadata", {}).get("State"))
        for e in entries
        for c in e.changes
    ]
    assert resolved == [
        ("node.upsert", 1, "UP"),
        ("node.upsert", 2, "DOWN"),
        ("node.delete", 2, None),
    ]
    assert [c.get("Source") for e in entries[:2] for c in e.changes] == [
        {"topic": "topolog.resources", "partition": 0, "offset": 1},
        {"topic": "topolog.resources", "partition": 0, "offset": 2},
    ]


async def test_a_recreated_element_keeps_its_history(client: aioredis.Redis, keys: Keys) -> None:
    projection, reader = Projection(client, keys), GraphReader(client, keys)
    await projection.apply(changeset(T0, upsert_node(pod("p1", "web"))))
    await projection.apply(changeset(T0 + 10, delete_node("p1")))
    await projection.apply(changeset(T0 + 20, upsert_node(pod("p1", "web", state="DOWN"))))
    node = await reader.node("p1")
    assert node is not None
    assert (node["Revision"], node["CreatedAt"], node["UpdatedAt"]) == (2, ms(T0 + 20), ms(T0 + 20))
    assert await reader.node("p1", ms(T0 + 15)) is None
    old = await reader.node("p1", ms(T0 + 5))
    assert old is not None
    assert (old["Revision"], old["Metadata"]["State"]) == (1, "UP")
    # Recreated in the ms of its deletion: the deletion covers no time and leaves.
    await projection.apply(changeset(T0 + 30, delete_node("p1")))
    await projection.apply(changeset(T0 + 30, upsert_node(pod("p1", "web"))))
    members = await client.zrange(keys.history(Kind.NODE, "p1"), 0, -1)
    assert members == [b"1", b"d1", b"2", b"3"]


async def test_clock_going_backwards_never_reorders_an_elements_history(
    client: aioredis.Redis, keys: Keys
) -> None:
    projection, reader = Projection(client, keys), GraphReader(client, keys)
    await projection.apply(changeset(T0 + 10, upsert_node(pod("p1", "web"))))
    await projection.apply(changeset(T0, upsert_node(pod("p1", "web", state="DOWN"))))
    node = await reader.node("p1")
    assert node is not None
    assert node["Metadata"]["State"] == "DOWN"
    assert node["UpdatedAt"] == ms(T0 + 10)
    assert await reader.node("p1", ms(T0 + 5)) is None


@pytest.mark.parametrize("seed", range(6))
async def test_redis_projection_equals_the_in_memory_history(
    client: aioredis.Redis, keys: Keys, seed: int
) -> None:
    """The reference semantics (store.history, used by cold time travel) and Redis agree."""
    projection, reader = Projection(client, keys), GraphReader(client, keys)
    model = history.History()
    sets = random_changesets(seed, 80)
    for offset, cs in enumerate(sets):
        position = pos(offset)
        got = await projection.apply(cs, position)
        assert got.revision == model.apply(cs, position)
        if offset % 10 == 0:  # a redelivery now and then
            assert (await projection.apply(cs, position)).redelivered
    times = sorted({encoding.to_ms(cs.time) for cs in sets})
    probes = [None, times[0] - 1, *times, *(t + 1 for t in times)]
    for t in probes:
        assert by_id(await reader.snapshot(t)) == by_id(model.at(t)), t
    for lo, hi in zip(times, times[3:], strict=False):
        assert by_id(await reader.slice(lo + 1, hi)) == by_id(model.between(lo + 1, hi))
    entries = await feed.read_after(client, keys, 0, count=None)
    assert entries == model.feed


@pytest.mark.parametrize("seed", range(4))
async def test_large_changesets_keep_the_indexes_and_adjacency_of_the_in_memory_history(
    client: aioredis.Redis, keys: Keys, seed: int
) -> None:
    """Changesets of up to 24 changes over 8 nodes: the script's batches of upserts (cut
    where an element comes back, new, changed, unchanged and recreated elements mixed,
    deletions between them) leave the graph, the feed, the index sets and the adjacency
    hashes of the reference semantics."""
    projection, reader = Projection(client, keys), GraphReader(client, keys)
    model = history.History()
    sets = random_changesets(seed, 40, size=24)
    for offset, cs in enumerate(sets):
        assert (await projection.apply(cs, pos(offset))).revision == model.apply(cs, pos(offset))
    assert by_id(await reader.snapshot()) == by_id(model.at(None))
    assert await feed.read_after(client, keys, 0, count=None) == model.feed
    topology = model.at(None).topology()
    expected_ix: dict[str, set[str]] = {}
    for node in topology["Nodes"]:
        for term in encoding.node_terms(node["Metadata"]):
            expected_ix.setdefault(term, set()).add(node["ID"])
    ever = {
        term
        for cs in sets
        for change in cs.changes
        if change.node is not None
        for term in encoding.node_terms(change.node.metadata)
    }
    assert set(expected_ix) <= ever
    for term in ever:
        members = {m.decode() for m in await client.smembers(keys.index(term))}
        assert members == expected_ix.get(term, set()), term
    for node_id in [f"n{i}" for i in range(8)]:
        out = {e.decode() for e in await client.hkeys(keys.out_edges(node_id))}
        into = {e.decode() for e in await client.hkeys(keys.in_edges(node_id))}
        assert out == {e["ID"] for e in topology["Edges"] if e["Parent"] == node_id}
        assert into == {e["ID"] for e in topology["Edges"] if e["Child"] == node_id}


async def test_a_changeset_larger_than_the_scripts_command_chunks(
    client: aioredis.Redis, keys: Keys
) -> None:
    """2,500 new pods and their edges to one node in one changeset (beyond the script's
    1,000 arguments per command), then all of them changed in one more."""
    projection, reader = Projection(client, keys), GraphReader(client, keys)
    ids = [f"p{i:04d}" for i in range(2500)]
    first = [upsert_node(pod("hub", "hub"))]
    first += [upsert_node(pod(i, f"name-{i}")) for i in ids]
    first += [upsert_edge(link("hub", i)) for i in ids]
    assert (await projection.apply(changeset(T0, *first), pos(0))).changes == 5001
    second = [upsert_node(pod(i, f"name-{i}", state="DOWN")) for i in ids]
    assert (await projection.apply(changeset(T0 + 1, *second), pos(1))).changes == 2500
    assert (await reader.count(Kind.NODE)).total == 2501
    assert sorted(await reader.nodes_by_index("State", "DOWN")) == ids
    assert await reader.nodes_by_index("State", "UP") == ["hub"]
    assert len((await reader.edges_of(["hub"], Direction.OUT))[0]) == 2500
    node = await reader.node("p2499", ms(T0 + 0.5))
    assert node is not None and node["Metadata"]["State"] == "UP"


async def test_records_are_applied_from_their_json_and_unreadable_ones_skipped(
    client: aioredis.Redis, keys: Keys
) -> None:
    projection, reader = Projection(client, keys), GraphReader(client, keys)
    first = changeset(T0, upsert_node(pod("p1", "web")), upsert_edge(link("p1", "p1")))
    second = changeset(T0 + 1, upsert_node(pod("p2", "db")))
    done = await projection.apply_records(
        [
            (first.to_json(), pos(0)),
            (b'{"v": 99}', pos(1)),
            (second.to_json(), pos(2)),
            (first.to_json(), pos(0)),
        ]
    )
    assert [None if a is None else (a.revision, a.changes) for a in done] == [
        (1, 2),
        None,
        (2, 1),
        (-1, 0),
    ]
    snap = await reader.snapshot()
    assert sorted(snap.all_node_ids()) == ["p1", "p2"]
    assert list(snap.all_edge_ids()) == [link("p1", "p1").id]
    assert await projection.apply_records([(b"garbage", pos(3))]) == [None]


@pytest.mark.parametrize("length", [0, 31, 32, 255, 256, 65535, 65536])
async def test_redis_reads_the_changes_of_every_string_length_back_exactly(
    client: aioredis.Redis, keys: Keys, length: int
) -> None:
    # The changes go to Lua as MessagePack strings whose header depends on the length
    # (fixstr, str8, str16, str32): every kind must come back byte for byte.
    projection, reader = Projection(client, keys), GraphReader(client, keys)
    node = graph.Node(id="n" * max(1, min(length, 300)), metadata={"Name": "é" * (length // 2)})
    edge = graph.Edge(id="e" * max(1, min(length, 300)), parent=node.id, child=node.id, metadata={})
    await projection.apply(changeset(T0, upsert_node(node), upsert_edge(edge)), pos(0))
    got = await reader.node(node.id)
    assert got is not None and (got["ID"], got["Metadata"]) == (node.id, node.metadata)
    got_edge = await reader.edge(edge.id)
    assert got_edge is not None and (got_edge["Parent"], got_edge["Child"]) == (node.id, node.id)
    assert await client.smembers(keys.prefix + "ix:Name=" + "é" * (length // 2)) == {
        node.id.encode()
    }
