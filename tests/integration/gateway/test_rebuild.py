"""A running gateway across a rebuild of the projection (a flushed Redis, ``topolog rebuild``).

The hub notices the rebuild by the projection's identity (``P epoch``) or by its revision
falling behind (``store.feed.FeedRestarted``). Revisions are a function of the graph
topic (one partition, replayed in order), so a rebuilt projection usually passes through
the same revisions with the same content: a gateway ahead of the rebuild keeps serving
its mirror as of its revision, and once the rebuild passes it and holds the same graph
there, carries on — its SSE streams see neither a gap nor a ``Resync`` (which the chaos
test counts as a loss). A rebuild of another history (other records, several partitions
interleaved otherwise) is reloaded: the streams resync, and everything ends equal to the
rebuilt projection, without restarting the gateway.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis

from store import dump
from store.keys import Keys
from store.projection import Projection
from store.reader import GraphReader
from tests.integration.gateway.test_gateway import (
    CHANGESETS,
    T0,
    Events,
    apply_all,
    at,
    events,
    gone,
    pod,
    ready,
    take,
    up,
    uses,
)
from topolog.core import graph

pytestmark = pytest.mark.integration


async def _drop(redis_url: str) -> None:
    client = aioredis.Redis.from_url(redis_url)
    try:
        await dump.drop(client, Keys())
    finally:
        await client.aclose()


async def test_streams_carry_on_across_a_rebuild_of_the_projection(
    gateway_url: str, redis_url: str, projection: Projection
) -> None:
    await apply_all(projection, CHANGESETS[:3])
    async with httpx.AsyncClient(base_url=gateway_url, timeout=None) as client:
        await ready(client, 3)
        async with client.stream("GET", "/api/v1/stream") as response:
            stream = events(response)
            (sync,) = await take(stream, 1)
            assert (sync[0], at(sync[1])) == ("Sync", "3")
            await _drop(redis_url)  # what FLUSHALL or a rebuild starts with
            # The replay of the graph topic, slower than the gateway's feed reads (0.2 s):
            # the gateway sees the projection at revision 1, behind its own 3, and waits.
            await apply_all(projection, CHANGESETS[:1])
            await asyncio.sleep(1.0)
            await apply_all(projection, CHANGESETS[1:3])
            await apply_all(projection, CHANGESETS[3:])  # then what came after
            after = await take(stream, 4)
        # The Sync's id names the old identity; the same history goes on under the new
        # one, and a client that saw only the Sync still resumes right after it.
        async with client.stream(
            "GET", "/api/v1/stream", headers={"Last-Event-ID": str(sync[1])}
        ) as response:
            assert response.status_code == 200
            resumed = await take(events(response), 4)
        whole = (await client.get("/api/topology")).json()
    assert [(e, at(i), d["ID"]) for e, i, d in after] == [
        ("EdgeDeleted", "4.0", "b>s"),
        ("NodeDeleted", "4.1", "b"),
        ("NodeAdded", "5.0", "d"),
        ("EdgeAdded", "5.1", "d>s"),
    ]
    assert resumed == after
    assert {str(i).partition(":")[0] for _, i, _ in after} != {str(sync[1]).partition(":")[0]}
    assert sorted(n["ID"] for n in whole["Nodes"]) == ["a", "c", "d", "s"]


#: Another history under the same key prefix: revision 3 (where the gateway stands) and
#: the revisions after it hold other changes than ``CHANGESETS``.
OTHER = [
    graph.ChangeSet(T0, [up(pod("a", "wordpress-1")), up(pod("q", "queue-0"))]),
    graph.ChangeSet(T0 + 10, [up(uses("a", "q"))]),
    graph.ChangeSet(T0 + 20, [up(pod("r", "redis-0"))]),
    graph.ChangeSet(T0 + 30, [gone("q")]),
    graph.ChangeSet(T0 + 40, [up(pod("z", "zookeeper-0")), up(uses("z", "r"))]),
]


async def _rest(stream: Events) -> list[tuple[str, str | None, Any]]:
    return [e async for e in stream]


@pytest.mark.parametrize("behind", [False, True], ids=["already-past", "behind-then-past"])
async def test_a_rebuild_of_another_history_resyncs_streams_to_the_rebuilt_graph(
    gateway_url: str, redis_url: str, projection: Projection, behind: bool
) -> None:
    await apply_all(projection, CHANGESETS[:3])
    async with httpx.AsyncClient(base_url=gateway_url, timeout=None) as client:
        await ready(client, 3)
        async with client.stream("GET", "/api/v1/stream") as response:
            stream = events(response)
            (sync,) = await take(stream, 1)
            assert (sync[0], at(sync[1])) == ("Sync", "3")
            await _drop(redis_url)
            if behind:  # the gateway sees it behind its revision 3 first, and waits
                await apply_all(projection, OTHER[:2])
                await asyncio.sleep(1.0)
                await apply_all(projection, OTHER[2:])
            else:  # past revision 3 before the gateway's next read (0.2 s)
                await apply_all(projection, OTHER)
            # No change of the other history reaches the stream as a continuation of
            # the first: it is told to resync (and ends).
            rest = await asyncio.wait_for(_rest(stream), 10)
        assert [e for e, _, _ in rest] == ["Resync"]
        # Resuming after the Sync of the first history is refused: revision 3 of the
        # rebuilt projection is another graph.
        async with client.stream(
            "GET", "/api/v1/stream", headers={"Last-Event-ID": str(sync[1])}
        ) as response:
            refused = await response.aread()
            assert response.status_code == 410, refused
            assert b"another history" in refused
        # Reconnecting (without Last-Event-ID) gives the rebuilt graph, then its changes.
        async with client.stream("GET", "/api/v1/stream") as response:
            stream = events(response)
            (sync,) = await take(stream, 1)
            await projection.apply(graph.ChangeSet(T0 + 50, [gone("r")]))
            after = await take(stream, 2)
        whole = (await client.get("/api/topology")).json()
    assert (sync[0], at(sync[1])) == ("Sync", "5")
    assert sorted(n["ID"] for n in sync[2]["Nodes"]) == ["a", "r", "z"]
    assert sorted(e["ID"] for e in sync[2]["Edges"]) == ["z>r"]
    assert [(e, at(i), d["ID"]) for e, i, d in after] == [
        ("EdgeDeleted", "6.0", "z>r"),
        ("NodeDeleted", "6.1", "r"),
    ]
    # The gateway's graph is the rebuilt projection's, element for element.
    redis_client = aioredis.Redis.from_url(redis_url)
    try:
        _revision, nodes, edges, _epoch = await GraphReader(redis_client, Keys()).current()
    finally:
        await redis_client.aclose()
    assert {n["ID"]: n for n in whole["Nodes"]} == nodes
    assert {e["ID"]: e for e in whole["Edges"] or []} == edges == {}
    assert sorted(nodes) == ["a", "z"]
