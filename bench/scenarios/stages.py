"""Where a probe's latency goes: when each pipeline stage handed it on.

Flows in: the probes' publish and SSE arrival times (wall clock, from ``churn``), the run's
Kafka topics (a record's timestamp is its producer's send time: the route stage's for the
cluster topic, the derive stage's for the graph topic) and the Redis change feed, watched
while the churn runs (when an entry naming the probe's node appeared).
Flows out: p50/p99 of each hop — ``route`` (publish → cluster topic), ``derive`` (→ graph
topic), ``project`` (→ feed entry in Redis), ``deliver`` (→ SSE arrival) — so a latency
figure says which stage it waited in.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import re
import time
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import redis.asyncio as aioredis
from aiokafka import AIOKafkaConsumer, TopicPartition

from bench.scenarios import stats
from bench.scenarios.stack import PROBES, topic_partitions
from topolog import stopping

#: A probe's sequence label in JSON, possibly inside a JSON string (escaped quotes).
_SEQ = re.compile(rb'bench-seq\\?"\s*:\s*\\?"(\d+)')

HOPS = ("route", "derive", "project", "deliver")


def probe_seqs(value: bytes) -> set[int]:
    """The probe sequence numbers a record (an envelope batch, a changeset) carries."""
    return {int(m.group(1)) for m in _SEQ.finditer(value)}


def probe_node_id(cluster: str, seq: int) -> bytes:
    """The graph node id of the probe object ``seq`` changes (its uid)."""
    return f"{cluster}-bench-probe-{seq % PROBES}".encode()


def earliest(records: Iterable[tuple[float, bytes]]) -> dict[int, float]:
    """Per probe sequence number, the earliest time of a record carrying it."""
    first: dict[int, float] = {}
    for at, value in records:
        for seq in probe_seqs(value):
            if seq not in first or at < first[seq]:
                first[seq] = at
    return first


@dataclass
class FeedLog:
    """Feed entries as they appeared: arrival times (ascending) and their raw changes."""

    times: list[float] = field(default_factory=list)
    changes: list[bytes] = field(default_factory=list)

    def add(self, at: float, raw: bytes) -> None:
        self.times.append(at)
        self.changes.append(raw)

    def first_naming(self, node_id: bytes, after: float) -> float | None:
        """When the first entry at or after ``after`` naming ``node_id`` appeared."""
        for i in range(bisect.bisect_left(self.times, after), len(self.times)):
            if node_id in self.changes[i]:
                return self.times[i]
        return None


def hops(
    cluster: str,
    published: Mapping[int, float],
    arrived: Mapping[int, float],
    routed: Mapping[int, float],
    derived: Mapping[int, float],
    feed: FeedLog,
) -> dict[str, list[float]]:
    """Seconds each delivered probe spent in each hop (probes missing a stamp skipped)."""
    out: dict[str, list[float]] = {hop: [] for hop in HOPS}
    for seq, at in arrived.items():
        sent, cut, made = published.get(seq), routed.get(seq), derived.get(seq)
        if sent is None or cut is None or made is None:
            continue
        fed = feed.first_naming(probe_node_id(cluster, seq), made)
        if fed is None:
            continue
        for hop, seconds in zip(HOPS, (cut - sent, made - cut, fed - made, at - fed), strict=True):
            out[hop].append(max(seconds, 0.0))
    return out


def summary(per_hop: Mapping[str, list[float]]) -> stats.Result:
    """``hop_<name>_p50_ms`` and ``hop_<name>_p99_ms`` per hop."""
    out: stats.Result = {}
    for hop, samples in per_hop.items():
        found = stats.latency_ms(samples, f"hop_{hop}")
        out[f"hop_{hop}_p50_ms"] = found[f"hop_{hop}_p50_ms"]
        out[f"hop_{hop}_p99_ms"] = found[f"hop_{hop}_p99_ms"]
    return out


# -- I/O ------------------------------------------------------------------------------


async def watch_feed(
    client: aioredis.Redis, key: str, log: FeedLog, stop: asyncio.Event | None = None
) -> None:
    """Record every new feed entry's arrival until ``stop`` is set (or cancelled)."""
    last: bytes | str = "$"
    while stop is None or not stop.is_set():
        reply: Any = await client.xread({key: last}, count=1000, block=WATCH_BLOCK_MS)
        now = time.time()
        for _stream, entries in reply or []:
            for entry_id, fields in entries:
                last = entry_id
                log.add(now, b" ".join(v for v in fields.values() if isinstance(v, bytes)))


#: How long each XREAD of ``watch_feed`` blocks (ms): how long its stop may take.
WATCH_BLOCK_MS = 1000


@contextlib.asynccontextmanager
async def feed_watched(client: aioredis.Redis, key: str) -> AsyncIterator[FeedLog]:
    """``async with feed_watched(...) as log``: the feed's entries while inside."""
    log = FeedLog()
    stop = asyncio.Event()
    task = asyncio.create_task(watch_feed(client, key, log, stop))
    await asyncio.sleep(0)  # the first XREAD ("$") is sent before the caller goes on
    try:
        yield log
    finally:
        # Stopped between reads, not cancelled: redis-py's cancellation of a blocked
        # XREAD once never finished (a churn bench waited in it for 10 minutes).
        stop.set()
        done, _ = await asyncio.wait({task}, timeout=3 * WATCH_BLOCK_MS / 1000)
        if not done:
            await stopping.cancel_and_wait(task)
        elif not task.cancelled():
            task.result()


#: Longest read of a topic's records since the churn began (~20k records: seconds).
STAMPS_LIMIT_S = 120.0


async def topic_stamps(bootstrap: str, topic: str, since: float) -> dict[int, float]:
    """Per probe, the earliest timestamp of a record carrying it in ``topic`` among the
    records stamped at or after ``since`` (wall-clock seconds)."""
    tps = await topic_partitions(bootstrap, topic)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(tps)
        ends = await consumer.end_offsets(tps)
        starts = await consumer.offsets_for_times({tp: int(since * 1000) for tp in tps})
        pending: set[TopicPartition] = set()
        for tp in tps:
            found = starts.get(tp)
            if found is not None and found.offset < ends[tp]:
                consumer.seek(tp, found.offset)
                pending.add(tp)
        records: list[tuple[float, bytes]] = []
        deadline = time.monotonic() + STAMPS_LIMIT_S
        while pending:
            if time.monotonic() > deadline:
                left = {tp.partition: (await consumer.position(tp), ends[tp]) for tp in pending}
                raise TimeoutError(f"{topic}: not read to the end in {STAMPS_LIMIT_S} s: {left}")
            fetched = await consumer.getmany(*pending, timeout_ms=2000, max_records=5000)
            for batch in fetched.values():
                records += [(r.timestamp / 1000, r.value or b"") for r in batch]
            pending = {tp for tp in pending if await consumer.position(tp) < ends[tp]}
        return earliest(records)
    finally:
        await consumer.stop()
