"""Retention: history older than the window goes, the graph inside it reads the same."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import redis.asyncio as aioredis

from store import encoding, feed, history, trimmer
from store.keys import Keys, Kind
from store.projection import Projection
from store.reader import GraphReader, OutsideHotWindow
from store.snapshot import Snapshot
from tests.integration.store.builders import (
    T0,
    changeset,
    delete_node,
    link,
    pod,
    random_changesets,
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


async def test_the_feed_is_trimmed_in_batches_and_a_pass_with_nothing_due_keeps_it(
    client: aioredis.Redis, keys: Keys
) -> None:
    projection = Projection(client, keys)
    await _history(projection)  # feed: revisions 1-5 at T0, +5, +10, +20, +30
    nothing = await trimmer.trim(client, keys, cutoff=ms(T0), batch=2)
    assert nothing.feed == 0 and await client.xlen(keys.feed) == 5
    trimmed = await trimmer.trim(client, keys, cutoff=ms(T0 + 12), batch=2)
    assert trimmed.feed == 3 and trimmed.steps == 2  # two entries a call
    entries = await feed.read_after(client, keys, 3, count=None)
    assert [e.revision for e in entries] == [4, 5]


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


async def test_an_element_trimmed_down_to_its_current_version_has_no_history_zset(
    client: aioredis.Redis, keys: Keys
) -> None:
    projection, reader = Projection(client, keys), GraphReader(client, keys)
    history_key = keys.history(Kind.NODE, "p1")
    await projection.apply(changeset(T0, upsert_node(pod("p1", "a"))))
    await projection.apply(changeset(T0 + 10, upsert_node(pod("p1", "a", state="DOWN"))))
    assert await client.zcard(history_key) == 2

    await trimmer.trim(client, keys, cutoff=ms(T0 + 12))
    assert not await client.exists(history_key)
    assert not await client.exists(keys.versions(Kind.NODE))
    for at in (ms(T0 + 12), ms(T0 + 20), None):
        node = await reader.node("p1", at)
        assert node is not None
        assert (node["Revision"], node["CreatedAt"], node["UpdatedAt"]) == (
            2,
            ms(T0),
            ms(T0 + 10),
        )

    # The next version starts a history zset again, from the trimmed state.
    await projection.apply(changeset(T0 + 20, upsert_node(pod("p1", "a", x="1"))))
    assert await client.zrange(history_key, 0, -1) == [b"2", b"3"]
    at_15, at_25 = await reader.node("p1", ms(T0 + 15)), await reader.node("p1", ms(T0 + 25))
    assert at_15 is not None and at_25 is not None
    assert (at_15["Revision"], at_15["Metadata"]["State"]) == (2, "DOWN")
    assert (at_25["Revision"], at_25["CreatedAt"]) == (3, ms(T0))
    entries = await feed.read_after(client, keys, 2, count=None)
    assert [c["Revision"] for e in entries for c in e.changes] == [3]


@pytest.mark.parametrize("seed", range(4))
async def test_trimming_random_histories_keeps_reads_in_the_window_equal_to_memory(
    client: aioredis.Redis, keys: Keys, seed: int
) -> None:
    """Random histories (recreations, same-ms versions, clock skew) trimmed in two passes:
    Redis still answers like the in-memory history from each cutoff on, and keeps a
    history zset only where an element has more than its current version."""
    projection, reader = Projection(client, keys), GraphReader(client, keys)
    model = history.History()
    sets = random_changesets(seed, 120)
    for offset, cs in enumerate(sets):
        position = encoding.Position(topic="topolog.graph", partition=0, offset=offset)
        assert (await projection.apply(cs, position)).revision == model.apply(cs, position)
    times = sorted({ms(cs.time) for cs in sets})
    for cutoff in (times[len(times) // 3], times[2 * len(times) // 3]):
        await trimmer.trim(client, keys, cutoff=cutoff, batch=3)
        later = [t for t in times if t >= cutoff]
        for t in [None, *later, *(t + 1 for t in later)]:
            assert _by_id(await reader.snapshot(t)) == _by_id(model.at(t)), t
        for lo, hi in zip(later, later[3:], strict=False):
            assert _by_id(await reader.slice(lo, hi)) == _by_id(model.between(lo, hi))
        alive = {k: set(await client.hkeys(keys.alive(k))) for k in (Kind.NODE, Kind.EDGE)}
        async for name in client.scan_iter(match=f"{keys.prefix}[ne]h:*"):
            kind = Kind(name.decode()[len(keys.prefix)])
            element_id = name.decode().split(":", 2)[2].encode()
            assert await client.zcard(name) >= 2 or element_id not in alive[kind], name


def _by_id(snap: Snapshot) -> dict[str, dict[str, Any]]:
    topology = snap.topology()
    return {e["ID"]: e for e in topology["Nodes"] + topology["Edges"]}
