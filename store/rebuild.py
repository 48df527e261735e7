"""``topolog rebuild``: drop the projection and replay the graph topic into it.

Flows in: Redis, the key prefix, the graph topic, the hot window and ``now`` (ms).
Flows out: a projection equal, key by key, to the one the live projector built from the
same records (history, feed and revisions included) and trimmed at the same cutoff —
exactly equal when the graph topic has one partition; with several, each element's
history is equal and the global revision order may interleave partitions differently.

Stop the projector first: it would write concurrently. When it starts again it resumes
after the high-water marks the rebuild left.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import redis.asyncio as aioredis

from store import dump, replay, trimmer
from store.keys import Keys
from store.projection import Projection


@dataclass(frozen=True, slots=True)
class Rebuilt:
    dropped: int
    records: int
    revisions: int
    trimmed: int


async def rebuild(
    client: aioredis.Redis,
    keys: Keys,
    *,
    bootstrap: str,
    topic: str,
    window_ms: int,
    now: int,
    until: Mapping[int, int] | None = None,
) -> Rebuilt:
    """Drop the projection under ``keys`` and replay ``topic`` into it, up to its current
    end (or ``until``: partition → first offset not to apply, nothing of a partition it
    leaves out; e.g. ``applied_ends`` of another projection), then trim at
    ``now - window_ms``."""
    dropped = await dump.drop(client, keys)
    projection = Projection(client, keys)
    records = revisions = 0
    async for batch in replay.replay(bootstrap, topic, until=until):
        for applied in await projection.apply_many(batch):
            records += 1
            revisions += applied.revision > 0
    trimmed = await trimmer.trim(client, keys, cutoff=now - window_ms)
    return Rebuilt(dropped=dropped, records=records, revisions=revisions, trimmed=trimmed.history)


async def applied_ends(client: aioredis.Redis, keys: Keys, topic: str) -> dict[int, int]:
    """Per partition of ``topic``, the first offset the projection under ``keys`` has not
    applied: its high-water mark (``encoding.Position.stream`` → last applied offset)
    plus one. A rebuild ``until`` these equals that projection."""
    ends: dict[int, int] = {}
    for stream, offset in (await client.hgetall(keys.hwm)).items():
        text = stream.decode() if isinstance(stream, bytes) else stream
        name, _, partition = text.rpartition(":")
        if name == topic:
            ends[int(partition)] = int(offset) + 1
    return ends
