"""What was already published: the resources topic read from its start to its current end.

Flows in: the resources topic.
Flows out: each kind's ``reconciling.Published`` memory, so a restarted producer
publishes only the differences between that and the fresh lists (no history rewritten).
"""

from __future__ import annotations

import logging

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from producers import reconciling
from topolog.core import envelope

log = logging.getLogger(__name__)


async def load_published(
    *, bootstrap: str, topic: str, cluster: str
) -> dict[str, reconciling.Published]:
    """Every kind's memory for ``cluster`` (kind → key → last published uid/version)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        group_id=None,
        client_id="topolog-producer-history",
        fetch_max_bytes=64 * 1024 * 1024,
        max_partition_fetch_bytes=16 * 1024 * 1024,
    )
    partitions = await _partitions(bootstrap, topic)
    if not partitions:
        return {}
    await consumer.start()
    try:
        assigned = [TopicPartition(topic, p) for p in sorted(partitions)]
        consumer.assign(assigned)
        await consumer.seek_to_beginning(*assigned)
        ends = await consumer.end_offsets(assigned)
        remaining = {tp for tp in assigned if ends[tp] > 0}
        kinds: dict[str, reconciling.Published] = {}
        count = bad = 0
        while remaining:
            batch = await consumer.getmany(*remaining, timeout_ms=1000, max_records=10000)
            for tp, messages in batch.items():
                for message in messages:
                    if message.offset >= ends[tp]:
                        continue
                    try:
                        record = envelope.Envelope.from_json(message.value or b"")
                    except envelope.EnvelopeError:
                        bad += 1
                        continue
                    # Per key, partition order is publication order; keys never span partitions.
                    reconciling.fold_record(kinds, record, cluster=cluster)
                    count += 1
            for tp in list(remaining):
                if await consumer.position(tp) >= ends[tp]:
                    remaining.discard(tp)
        if bad:
            log.warning("ignored %d undecodable records in %s", bad, topic)
        log.info(
            "history of %s: %d records, %d live objects",
            topic,
            count,
            sum(len(k) for k in kinds.values()),
        )
        return kinds
    finally:
        await consumer.stop()


async def _partitions(bootstrap: str, topic: str) -> list[int]:
    """The topic's partitions (the consumer's metadata knows only subscribed topics)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="topolog-producer-history")
    await admin.start()
    try:
        described = await admin.describe_topics([topic])
    finally:
        await admin.close()
    return [p["partition"] for t in described if t["error_code"] == 0 for p in t["partitions"]]
