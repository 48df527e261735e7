"""``Backend`` over the Redis projection (``store.reader``, ``store.feed``, ``store.view``).

Flows in: an asyncio Redis client (owned by the app's lifespan) and the key layout;
optionally a cold source for times before the hot window (a Kafka replay).
Flows out: what ``Backend`` promises. Evaluation runs in worker threads through
``store.view.RedisTimeTravel``, which forwards each batched read to this event loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

import redis.asyncio as aioredis

from gateway.settings import REDIS_SOCKET_TIMEOUT_S
from store import feed
from store.encoding import Version
from store.feedrecords import Wanted
from store.history import FeedEntry
from store.keys import Keys, Kind
from store.reader import Current, GraphReader
from store.snapshot import Snapshot
from store.view import ColdSlice, RedisTimeTravel

log = logging.getLogger(__name__)


def redis_client(redis_url: str) -> aioredis.Redis:
    """The gateway's Redis client: its socket time-out stays above the feed's blocking
    read (``GatewaySettings.feed_block_s``), so an idle feed is no error."""
    return aioredis.Redis.from_url(redis_url, socket_timeout=REDIS_SOCKET_TIMEOUT_S)


class RedisBackend:
    def __init__(
        self,
        client: aioredis.Redis,
        keys: Keys,
        *,
        loop: asyncio.AbstractEventLoop,
        cold: ColdSlice | None = None,
        timeout_s: float = 30.0,
    ) -> None:
        self._client = client
        self._keys = keys
        self.reader = GraphReader(client, keys)
        self._travel = RedisTimeTravel(
            self.reader, loop, cold=cold, timeout=timeout_s, client=client
        )

    def travel(self) -> RedisTimeTravel:
        return self._travel

    async def index_times(self, interval_s: float = 2.0) -> None:
        """For ever: keep the feed's time index current, so the first point-in-time query
        after a burst of writes does not index them itself (~1 s per 10^5 revisions)."""
        while True:
            try:
                await self._travel.refresh_time_index()
            except Exception:  # Redis away: the queries report it; try again later
                log.warning("indexing the change feed's times failed; retrying", exc_info=True)
            await asyncio.sleep(interval_s)

    async def snapshot(self, at_ms: int | None = None) -> Snapshot:
        return await self.reader.snapshot(at_ms)

    async def current(self) -> Current:
        return await self.reader.current()

    async def versions(
        self, kind: Kind, ids: Sequence[str], at_ms: int | None = None
    ) -> dict[str, Version]:
        found = await self.reader.versions(kind, list(ids), at_ms)
        return {i: v for i, v in found.items() if v.deleted_at is None}

    async def revision(self) -> int:
        return await self.reader.revision()

    async def first_revision(self) -> int | None:
        return await feed.first_revision(self._client, self._keys)

    async def read_after(
        self, after: int, count: int | None = 1000, epoch: str | None = None
    ) -> list[FeedEntry]:
        return await feed.read_after(self._client, self._keys, after, count=count, epoch=epoch)

    async def read_range(self, first: int, last: int) -> list[FeedEntry]:
        raw: Any = await self._client.xrange(
            self._keys.feed, min=feed.stream_id(first), max=feed.stream_id(last)
        )
        return await feed.resolve(
            self._client, self._keys, [feed.parse(entry_id, fields) for entry_id, fields in raw]
        )

    async def wait_after(
        self, after: int, timeout_s: float, epoch: str | None = None, *, resolved: bool = True
    ) -> list[FeedEntry]:
        return await feed.wait_after(
            self._client,
            self._keys,
            after,
            block_ms=max(1, int(timeout_s * 1000)),
            epoch=epoch,
            resolved=resolved,
        )

    async def resolve(self, entries: list[FeedEntry]) -> list[FeedEntry]:
        return await feed.resolve(self._client, self._keys, entries)

    async def deferred_versions(self, wanted: Wanted) -> dict[str, list[dict[str, Any] | None]]:
        return await feed.deferred_versions(self._client, self._keys, wanted)

    async def ping(self) -> None:
        await self._client.ping()
