"""Read the graph topic from the beginning up to its current end (rebuild, cold travel).

Flows in: a Kafka bootstrap and the graph topic. Flows out: batches of
``(ChangeSet, Position)`` in per-partition offset order, ending at the end offsets seen
when the replay started (or earlier, at ``until``: partition → first offset not to
replay). No consumer group: replays never move the projector's offsets.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from store.encoding import Position
from topolog.core import graph

log = logging.getLogger(__name__)

Batch = list[tuple[graph.ChangeSet, Position]]


def decode(raw: bytes | None, position: Position) -> graph.ChangeSet | None:
    """A graph record → ChangeSet; None (logged) for one the store cannot read."""
    if raw is None:
        return None
    try:
        return graph.ChangeSet.from_json(raw)
    except (ValueError, KeyError, TypeError) as exc:
        log.warning("skipping unreadable graph record %s: %s", position, exc)
        return None


async def partitions(bootstrap: str, topic: str) -> list[int]:
    """The topic's partitions (a consumer's metadata knows only subscribed topics)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="topolog-store-replay")
    await admin.start()
    try:
        described = await admin.describe_topics([topic])
    finally:
        await admin.close()
    return sorted(
        p["partition"] for t in described if t["error_code"] == 0 for p in t["partitions"]
    )


async def replay(
    bootstrap: str,
    topic: str,
    *,
    max_records: int = 2000,
    until: Mapping[int, int] | None = None,
) -> AsyncIterator[Batch]:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None
    )
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in await partitions(bootstrap, topic)]
        if not tps:
            return
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        if until is not None:
            ends = {tp: min(end, until.get(tp.partition, 0)) for tp, end in ends.items()}
        remaining = {tp for tp in tps if ends[tp] > await consumer.position(tp)}
        while remaining:
            fetched = await consumer.getmany(*remaining, timeout_ms=1000, max_records=max_records)
            batch: Batch = []
            for tp, records in fetched.items():
                for record in records:
                    if record.offset >= ends[tp]:
                        break
                    position = Position(topic=topic, partition=tp.partition, offset=record.offset)
                    changeset = decode(record.value, position)
                    if changeset is not None:
                        batch.append((changeset, position))
                if await consumer.position(tp) >= ends[tp]:
                    remaining.discard(tp)
            if batch:
                yield batch
    finally:
        await consumer.stop()
