"""The change feed: one entry per revision, resumable exactly where a client stopped."""

from __future__ import annotations

import asyncio

import orjson
import pytest
import redis.asyncio as aioredis

from store import dump, encoding, feed
from store.keys import Keys, Kind
from store.projection import Projection
from tests.integration.store.builders import (
    T0,
    changeset,
    delete_node,
    link,
    pod,
    upsert_edge,
    upsert_node,
)
from topolog.core import graph

pytestmark = pytest.mark.integration


async def test_feed_resumes_after_the_last_revision_seen_without_gap_or_duplicate(
    client: aioredis.Redis, keys: Keys
) -> None:
    projection = Projection(client, keys)
    for i in range(10):
        await projection.apply(changeset(T0 + i, upsert_node(pod("p1", "web", n=str(i)))))
    first = await feed.read_after(client, keys, 0, count=4)
    rest = await feed.read_after(client, keys, first[-1].revision, count=None)
    revisions = [e.revision for e in first + rest]
    assert revisions == list(range(1, 11))
    assert [e.changes[0]["node"]["Metadata"]["K8s"]["Labels"]["n"] for e in rest] == [
        str(i) for i in range(4, 10)
    ]
    assert rest[0].changes[0]["Revision"] == 5
    assert rest[0].time == encoding.to_ms(T0 + 4)


async def test_each_build_of_the_projection_has_an_identity_of_its_own(
    client: aioredis.Redis, keys: Keys
) -> None:
    projection = Projection(client, keys)
    assert await feed.epoch(client, keys) == ""  # nothing built yet
    await projection.apply(changeset(T0, upsert_node(pod("p1", "web"))))
    first = await feed.epoch(client, keys)
    await projection.apply(changeset(T0 + 1, upsert_node(pod("p2", "db"))))
    assert first and await feed.epoch(client, keys) == first  # set with revision 1 only
    before = await dump.dump(client, keys)
    await dump.drop(client, keys)
    await projection.apply(changeset(T0, upsert_node(pod("p1", "web"))))
    await projection.apply(changeset(T0 + 1, upsert_node(pod("p2", "db"))))
    assert await feed.epoch(client, keys) not in ("", first)
    # The identity is not content: the same records give the same dump.
    assert "epoch" not in before and await dump.dump(client, keys) == before


async def _built(client: aioredis.Redis, keys: Keys, names: list[str]) -> str:
    """A projection built from scratch with one pod per changeset; its identity."""
    await dump.drop(client, keys)
    projection = Projection(client, keys)
    for i, name in enumerate(names):
        await projection.apply(changeset(T0 + i, upsert_node(pod(name, name))))
    return await feed.epoch(client, keys)


async def test_a_reader_ahead_of_a_rebuilt_projection_is_told_it_restarted(
    client: aioredis.Redis, keys: Keys
) -> None:
    old = await _built(client, keys, ["a", "b", "c", "d", "e"])
    new = await _built(client, keys, ["a", "b"])  # dropped, the rebuild at revision 2
    # A gateway that had read revision 5 would otherwise wait for revision 6 for ever;
    # with or without the identity it followed, the revision tells.
    for epoch in (old, None):
        with pytest.raises(feed.FeedRestarted, match="rebuilt since revision 5") as caught:
            await feed.wait_after(client, keys, 5, block_ms=100, epoch=epoch)
        assert caught.value.epoch == new
        with pytest.raises(feed.FeedGap):  # what every reader already handles
            await feed.read_after(client, keys, 5, epoch=epoch)
    # Started again from the new identity, the feed reads as usual.
    assert [e.revision for e in await feed.wait_after(client, keys, 0, block_ms=100)] == [1, 2]


async def test_a_reader_behind_a_rebuilt_projection_of_another_history_is_told_it_restarted(
    client: aioredis.Redis, keys: Keys
) -> None:
    old = await _built(client, keys, ["a", "b", "c"])
    # Rebuilt from other records and already past the reader's revision 3: its entries
    # 4 and 5 would continue the reader's mirror with another history's changes.
    new = await _built(client, keys, ["x", "y", "z", "v", "w"])
    with pytest.raises(feed.FeedRestarted, match="identity") as caught:
        await feed.wait_after(client, keys, 3, block_ms=100, epoch=old)
    assert caught.value.epoch == new
    with pytest.raises(feed.FeedRestarted, match="identity"):
        await feed.read_after(client, keys, 3, epoch=old)
    # Without the identity the revision alone cannot tell (what readers did before).
    assert [e.revision for e in await feed.read_after(client, keys, 3)] == [4, 5]
    assert [e.revision for e in await feed.read_after(client, keys, 3, epoch=new)] == [4, 5]


async def test_a_rebuild_while_a_reader_waits_returns_none_of_its_entries(
    client: aioredis.Redis, keys: Keys, redis_url: str
) -> None:
    old = await _built(client, keys, ["a", "b", "c"])
    waiting = asyncio.create_task(feed.wait_after(client, keys, 3, block_ms=5000, epoch=old))
    await asyncio.sleep(0.2)  # blocked in its XREAD after revision 3
    writer = aioredis.Redis.from_url(redis_url)
    try:
        await _built(writer, keys, ["x", "y", "z", "v"])  # passes revision 3 while it waits
    finally:
        await writer.aclose()
    with pytest.raises(feed.FeedRestarted, match="while reading"):
        await asyncio.wait_for(waiting, 5)


async def test_a_projection_from_before_the_identity_is_followed_by_its_revision(
    client: aioredis.Redis, keys: Keys
) -> None:
    await _built(client, keys, ["a", "b", "c"])
    await client.delete(keys.epoch)  # as written by a version before ``P epoch``
    assert await feed.epoch(client, keys) == ""
    await Projection(client, keys).apply(changeset(T0 + 9, upsert_node(pod("d", "d"))))
    assert [e.revision for e in await feed.wait_after(client, keys, 3, block_ms=10, epoch="")] == [
        4
    ]
    with pytest.raises(feed.FeedRestarted, match="behind"):
        await feed.read_after(client, keys, 5, epoch="")


async def test_feed_entry_carries_every_effective_change_of_the_changeset(
    client: aioredis.Redis, keys: Keys
) -> None:
    projection = Projection(client, keys)
    await projection.apply(changeset(T0, upsert_node(pod("p1", "a")), upsert_node(pod("p2", "b"))))
    await projection.apply(changeset(T0 + 1, upsert_node(pod("p1", "a")), delete_node("p2")))
    entries = await feed.read_after(client, keys, 0)
    assert [[(c["op"], c["id"]) for c in e.changes] for e in entries] == [
        [("node.upsert", "p1"), ("node.upsert", "p2")],
        [("node.delete", "p2")],  # the unchanged p1 is not a change
    ]
    assert entries[1].changes[0]["DeletedAt"] == encoding.to_ms(T0 + 1)


async def test_tail_delivers_new_revisions_as_they_are_written(
    client: aioredis.Redis, keys: Keys, redis_url: str
) -> None:
    projection = Projection(client, keys)
    await projection.apply(changeset(T0, upsert_node(pod("p1", "a"))))
    tail_client = aioredis.Redis.from_url(redis_url)
    received: list[int] = []

    async def follow() -> None:
        async for entry in feed.tail(tail_client, keys, 1, block_ms=100):
            received.append(entry.revision)
            if entry.revision == 3:
                return

    follower = asyncio.create_task(follow())
    await asyncio.sleep(0.05)
    await projection.apply(changeset(T0 + 1, upsert_node(pod("p2", "b"))))
    await projection.apply(changeset(T0 + 2, upsert_node(pod("p3", "c"))))
    await asyncio.wait_for(follower, 5)
    await tail_client.aclose()
    assert received == [2, 3]


async def test_resolving_in_several_script_calls_gives_the_same_entries(
    client: aioredis.Redis, keys: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    projection = Projection(client, keys)
    for i in range(6):
        await projection.apply(
            changeset(
                T0 + i,
                upsert_node(pod("p1", "web", n=str(i))),  # p1's older versions are past ones
                upsert_node(pod(f"q{i}", "web")),
                *([delete_node(f"q{i - 1}")] if i else []),
            )
        )
    whole = await feed.read_after(client, keys, 0, count=None)
    monkeypatch.setattr(feed, "_RECORDS_BATCH", 2)
    assert await feed.read_after(client, keys, 0, count=None) == whole
    assert [c["node"]["Metadata"]["K8s"]["Labels"]["n"] for c in (e.changes[0] for e in whole)] == [
        str(i) for i in range(6)
    ]
    assert all(c["Source"] is not None for e in whole for c in e.changes if "node" in c)


async def test_the_feed_reads_the_same_entries_through_any_client(
    client: aioredis.Redis, keys: Keys, redis_url: str
) -> None:
    """The pooled client's ``HMGET``s are packed by ``store.feed`` itself; a client bound
    to one connection goes through redis-py's pipeline; ``resolve`` of parsed entries
    (the gateway's replay) is the same again — nodes, edges, past versions, sources."""
    projection = Projection(client, keys)
    for i, changes in enumerate(
        [
            [upsert_node(pod("p1", "wéb", n="0"), 1), upsert_node(pod("p2", "db"), 2)],
            [upsert_edge(link("p1", "p2"), 3)],
            [upsert_node(pod("p1", "wéb", n="1"), 4), delete_node("p2", 5)],
        ]
    ):
        await projection.apply(changeset(T0 + i, *changes))
    single = aioredis.Redis.from_url(redis_url, single_connection_client=True)
    try:
        pooled = await feed.read_after(client, keys, 0, count=None)
        assert await feed.read_after(single, keys, 0, count=None) == pooled
        assert await feed.wait_after(client, keys, 0, block_ms=10) == pooled
        unresolved = await feed.read_after(client, keys, 0, count=None, resolved=False)
        assert await feed.resolve(client, keys, unresolved) == pooled
    finally:
        await single.aclose()
    assert [[(c["op"], c["id"]) for c in e.changes] for e in pooled] == [
        [("node.upsert", "p1"), ("node.upsert", "p2")],
        [("edge.upsert", graph.edge_id("p1", "p2", "ownership"))],
        [
            ("node.upsert", "p1"),
            ("edge.delete", graph.edge_id("p1", "p2", "ownership")),
            ("node.delete", "p2"),
        ],
    ]
    first = pooled[0].changes[0]
    assert first["node"]["Metadata"]["K8s"]["Labels"] == {"n": "0"}  # a past version
    assert first["node"]["Metadata"]["Name"] == "wéb"
    assert first["Source"] == {"topic": "topolog.resources", "partition": 0, "offset": 1}
    edge = pooled[1].changes[0]["edge"]
    assert (edge["Parent"], edge["Child"], edge["Metadata"]) == (
        "p1",
        "p2",
        {"RelationType": "ownership"},
    )


async def test_a_failed_read_leaves_the_client_usable(client: aioredis.Redis) -> None:
    """An error reply to the first of several packed ``HMGET``s: the connection, with a
    reply still unread, is not given back to the pool as it is."""
    keys = Keys(prefix="broken:")
    changes = orjson.dumps([["n+", "p1", 1, 0], ["e+", "e1", 1, 0]])
    await client.xadd(keys.feed, {"t": 0, "c": changes}, id="1-0")
    await client.set(keys.alive(Kind.NODE), "not a hash")
    await client.hset(keys.alive(Kind.EDGE), "e1", b"1\n0\n\n\n\n\tp1\tp2\t{}")
    with pytest.raises(aioredis.ResponseError):
        await feed.read_after(client, keys, 0)
    assert await client.get(keys.alive(Kind.NODE)) == b"not a hash"
    assert await client.hget(keys.alive(Kind.EDGE), "e1") == b"1\n0\n\n\n\n\tp1\tp2\t{}"


async def test_deferred_versions_are_the_elements_the_feed_resolves(
    client: aioredis.Redis, keys: Keys
) -> None:
    """What a gateway reads for the upserts it deferred: per kind, each version's element
    with its ``CreatedAt`` — a current or a past one — equal to the resolved feed's
    body; None for a version that does not exist (trimmed)."""
    projection = Projection(client, keys)
    for i, changes in enumerate(
        [
            [upsert_node(pod("p1", "web", n="0"), 1), upsert_node(pod("p2", "db"), 2)],
            [upsert_edge(link("p1", "p2"), 3)],
            [upsert_node(pod("p1", "web", n="1"), 4)],
        ]
    ):
        await projection.apply(changeset(T0 + i, *changes))
    resolved = {
        (c["id"], c["Revision"]): c
        for e in await feed.read_after(client, keys, 0, count=None)
        for c in e.changes
    }
    wanted = {
        "n": (["p1", "p1", "p2", "p2"], [1, 2, 1, 7]),  # p1's first version is a past one
        "e": ([graph.edge_id("p1", "p2", "ownership")], [1]),
    }
    found = await feed.deferred_versions(client, keys, wanted)
    for name, key in (("n", "node"), ("e", "edge")):
        ids, revisions = wanted[name]
        for element_id, revision, element in zip(ids, revisions, found[name], strict=True):
            change = resolved.get((element_id, revision))
            if change is None:
                assert element is None
            else:
                assert element == {**change[key], "CreatedAt": change["CreatedAt"]}
    assert None not in (*found["n"][:3], *found["e"]) and found["n"][3] is None
    assert found["n"][0] != found["n"][1]  # the past and the current version of p1
