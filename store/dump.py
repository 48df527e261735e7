"""Every key of a projection as plain Python values, to compare two projections.

Flows in: a Redis client and a prefix. Flows out: ``{key without prefix: value}``
(strings as bytes, hashes as dicts, sets as sets, zsets as ordered lists of
(member, score), streams as lists of (id, fields)). Used by the rebuild equality test,
the idempotency test and ``topolog rebuild --verify``. Without ``P epoch``: it names one
build of the projection (a rebuild gets a new one), it is not content.
"""

from __future__ import annotations

from typing import Any

import redis.asyncio as aioredis

from store.keys import Keys


async def dump(client: aioredis.Redis, keys: Keys, *, scan: int = 1000) -> dict[str, Any]:
    out: dict[str, Any] = {}
    names: list[bytes] = [k async for k in client.scan_iter(match=keys.pattern, count=scan)]
    prefix = keys.prefix.encode()
    identity = keys.epoch.encode()
    for name in sorted(names):
        if name == identity:
            continue
        raw_kind = await client.type(name)
        kind = raw_kind.decode() if isinstance(raw_kind, bytes) else raw_kind
        value: Any
        if kind == "string":
            value = await client.get(name)
        elif kind == "hash":
            value = await client.hgetall(name)
        elif kind == "set":
            value = await client.smembers(name)
        elif kind == "zset":
            value = await client.zrange(name, 0, -1, withscores=True)
        elif kind == "stream":
            value = await client.xrange(name)
        else:  # pragma: no cover - the projection writes no other type
            value = await client.dump(name)
        out[name[len(prefix) :].decode()] = value
    return out


async def drop(client: aioredis.Redis, keys: Keys, *, scan: int = 1000) -> int:
    """Delete every key of the projection (UNLINK: freed in the background)."""
    removed = 0
    batch: list[bytes] = []
    async for name in client.scan_iter(match=keys.pattern, count=scan):
        batch.append(name)
        if len(batch) >= scan:
            removed += int(await client.unlink(*batch))
            batch = []
    if batch:
        removed += int(await client.unlink(*batch))
    return removed
