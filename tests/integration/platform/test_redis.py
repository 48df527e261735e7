"""Redis really works on the project's own port."""

from __future__ import annotations

import uuid

import pytest
import redis.asyncio as aioredis

from topolog.platform.state import Endpoints

pytestmark = pytest.mark.integration


async def test_pipelined_writes_read_back(platform: Endpoints) -> None:
    client = aioredis.Redis.from_url(platform.redis)
    key = f"it:{uuid.uuid4().hex}"
    try:
        async with client.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping={"a": "1", "b": "2"})
            pipe.expire(key, 60)
            await pipe.execute()
        assert await client.hgetall(key) == {b"a": b"1", b"b": b"2"}
    finally:
        await client.delete(key)
        await client.aclose()
