"""The change feed: one entry per revision, resumable exactly where a client stopped."""

from __future__ import annotations

import asyncio

import pytest
import redis.asyncio as aioredis

from store import encoding, feed
from store.keys import Keys
from store.projection import Projection
from tests.integration.store.builders import T0, changeset, delete_node, pod, upsert_node

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
