"""The live feed reader on a real Redis while nothing changes."""

from __future__ import annotations

import asyncio

import pytest

from gateway.redis_backend import RedisBackend, redis_client
from gateway.settings import GatewaySettings
from store.keys import Keys

pytestmark = pytest.mark.integration


async def test_an_idle_feed_is_a_quiet_wait_not_a_redis_time_out(redis_url: str) -> None:
    # The hub blocks on the feed for feed_block_s at a time; with the client's socket
    # time-out at or below that, every idle read ended in a TimeoutError, a logged
    # traceback and a retry pause during which new revisions waited.
    block_s = GatewaySettings().feed_block_s
    client = redis_client(redis_url)
    try:
        backend = RedisBackend(client, Keys("idle:"), loop=asyncio.get_running_loop())
        for _ in range(2):
            assert await backend.wait_after(0, block_s) == []
    finally:
        await client.aclose()
