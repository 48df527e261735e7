"""Retention: history older than the window goes, the graph inside it reads the same."""

from __future__ import annotations

import asyncio

import pytest
import redis.asyncio as aioredis

from store import encoding, feed, trimmer
from store.keys import Keys, Kind
from store.projection import Projection
from store.reader import GraphReader, OutsideHotWindow
from tests.integration.store.builders import (
    T0,
    changeset,
    delete_node,
    link,
    pod,
    upsert_edge,
    upsert_node,
)

pytestmark = pytest.mark.integration


def ms(seconds: float) -> int:
    return encoding.to_ms(seconds)


async def _history(projection: Projection) -> None:
    """p1: v1 at T0, v2 at T0+10, v3 at T0+20 (alive); p2: T0 to T0+5 (deleted);
    p3 alive since T0+30; an edge p1→p3 since T0+30."""
    await projection.apply(changeset(T0, upsert_node(pod("p1", "a")), upsert_node(pod("p2", "b"))))
    await projection.apply(changeset(T0 + 5, delete_node("p2")))
    await projection.apply(changeset(T0 + 10, upsert_node(pod("p1", "a", state="DOWN"))))
    await projection.apply(changeset(T0 + 20, upsert_node(pod("p1", "a", x="1"))))
    await projection.apply(
        changeset(T0 + 30, upsert_node(pod("p3", "c")), upsert_edge(link("p1", "p3")))
    )


async def test_trimming_keeps_every_read_inside_the_window_unchanged(
    client: aioredis.Redis, keys: Keys
) -> None:
    projection, reader = Projection(client, keys), GraphReader(client, keys)
    await _history(projection)
    probes = [ms(T0 + s) for s in (12, 15, 20, 25, 30, 40)]
    before = {t: (await reader.snapshot(t)).topology() for t in probes}
    live_before = (await reader.snapshot()).topology()

    done = await trimmer.trim(client, keys, cutoff=ms(T0 + 12), batch=1)

    assert done.history == 3  # p1 v1 (ended T0+10), p2 v1 and its deletion
    assert done.steps > 1  # one entry per step with batch=1
    assert {t: (await reader.snapshot(t)).topology() for t in probes} == before
    assert (await reader.snapshot()).topology() == live_before
    assert await client.zcard(keys.history(Kind.NODE, "p1")) == 2
    assert not await client.exists(keys.history(Kind.NODE, "p2"))
    assert not await client.sismember(keys.dead(Kind.NODE), "p2")
    assert not await client.hexists(keys.versions(Kind.NODE), "p1/1")


async def test_times_before_the_trimmed_horizon_are_refused(
    client: aioredis.Redis, keys: Keys
) -> None:
    projection, reader = Projection(client, keys), GraphReader(client, keys)
    await _history(projection)
    await trimmer.trim(client, keys, cutoff=ms(T0 + 12))
    with pytest.raises(OutsideHotWindow):
        await reader.node("p1", ms(T0 + 1))
    with pytest.raises(OutsideHotWindow):
        await reader.snapshot(ms(T0 + 11))
    with pytest.raises(OutsideHotWindow):
        await reader.slice(ms(T0 + 11), ms(T0 + 40))
    assert await reader.horizon() == ms(T0 + 12)


async def test_trimming_caps_the_feed_at_the_window(client: aioredis.Redis, keys: Keys) -> None:
    projection = Projection(client, keys)
    await _history(projection)
    await trimmer.trim(client, keys, cutoff=ms(T0 + 12))
    entries = await feed.read_after(client, keys, 3, count=None)
    assert [(e.revision, e.time) for e in entries] == [(4, ms(T0 + 20)), (5, ms(T0 + 30))]
    with pytest.raises(feed.FeedGap):
        await feed.read_after(client, keys, 1)


async def test_trimmer_runs_in_the_background_until_stopped(
    client: aioredis.Redis, keys: Keys
) -> None:
    projection, reader = Projection(client, keys), GraphReader(client, keys)
    await _history(projection)
    background = trimmer.Trimmer(
        client, keys, window_ms=1000, interval_s=0.01, clock=lambda: ms(T0 + 13)
    )
    async with background:
        for _ in range(200):
            if await reader.horizon():
                break
            await asyncio.sleep(0.01)
    await background.stop()  # idempotent
    assert await reader.horizon() == ms(T0 + 12)
    assert await client.zcard(keys.history(Kind.NODE, "p1")) == 2
