"""The hub on a real Redis while nobody subscribes: it follows the feed without reading the
versions, then reads them once the feed is quiet, and ends with the projection's graph."""

from __future__ import annotations

import asyncio
import random

import pytest
import redis.asyncio as aioredis

from gateway import hub
from gateway.mirror import Element
from gateway.redis_backend import RedisBackend
from store.feedrecords import Wanted
from store.history import FeedEntry
from store.keys import Keys
from store.projection import Projection
from tests.integration.gateway.test_gateway import T0, gone, pod, secret, up, uses
from topolog.core import graph

pytestmark = pytest.mark.integration


def _changesets(seed: int, n: int) -> list[graph.ChangeSet]:
    rng = random.Random(seed)
    out = [graph.ChangeSet(T0, [up(secret("s", "db-pass"))])]
    alive: set[str] = set()
    for i in range(n):
        uid = f"p{rng.randrange(40)}"
        if uid in alive and rng.random() < 0.25:
            out.append(graph.ChangeSet(T0 + i + 1, [gone(f"{uid}>s"), gone(uid)]))
            alive.discard(uid)
            continue
        state = rng.choice(["UP", "DOWN"])
        out.append(
            graph.ChangeSet(T0 + i + 1, [up(pod(uid, uid, state=state)), up(uses(uid, "s"))])
        )
        alive.add(uid)
    return out


async def test_a_burst_nobody_watches_is_read_after_it_and_equals_the_projection(
    redis_url: str,
) -> None:
    client = aioredis.Redis.from_url(redis_url)
    try:
        await client.flushdb()
        keys = Keys()
        backend = RedisBackend(client, keys, loop=asyncio.get_running_loop())
        projection = Projection(client, keys)
        h = hub.Hub(backend, block_s=0.2, settle_quiet_s=1.0)
        await h.start()
        for _ in range(200):
            if h.ready:
                break
            await asyncio.sleep(0.02)
        resolved: list[int] = []
        resolve, deferred_versions = backend.resolve, backend.deferred_versions

        async def resolving(entries: list[FeedEntry]) -> list[FeedEntry]:
            resolved.append(sum(len(e.changes) for e in entries))
            return await resolve(entries)

        async def reading(wanted: Wanted) -> dict[str, list[Element | None]]:
            resolved.append(sum(len(ids) for ids, _ in wanted.values()))
            return await deferred_versions(wanted)

        backend.resolve = resolving  # type: ignore[method-assign]
        backend.deferred_versions = reading  # type: ignore[method-assign]
        changesets = _changesets(7, 300)
        for cs in changesets:
            await projection.apply(cs)
        revision = await backend.revision()
        for _ in range(500):
            if h.revision == revision:
                break
            await asyncio.sleep(0.01)
        assert h.mirror.deferred > 0 and resolved == []  # followed, nothing read yet
        for _ in range(500):
            if h.mirror.deferred == 0:
                break
            await asyncio.sleep(0.01)
        current = await backend.current()
        assert h.revision == current.revision
        assert (h.mirror.nodes, h.mirror.edges) == (current.nodes, current.edges)
        # Each element alive at the end read once, not once per change.
        assert sum(resolved) == len(current.nodes) + len(current.edges)
        assert sum(len(cs.changes) for cs in changesets) > 2 * sum(resolved)
        await h.stop()
    finally:
        await client.aclose()
