"""Replaying: rebuild a derive partition's state from the cluster topic, emitting nothing.

Flows in: a partition of the app's cluster topic and the offset the derive stage is
about to process (``until``): everything before it was processed — and its outputs
delivered — by some worker before.
Flows out: a fresh ``deriving.Derivation`` that has applied every batch in
``[beginning, until)`` with ``emit=False``; the derive stage continues from ``until``
and emits from there. Applying the same envelopes gives the same state as the worker
that emitted them had — the graph, the redelivery marks and the versions do not depend
on how the records were grouped into batches or on the kind order within one, and the
changeset-time floor after a batch is its latest time either way — so nothing is lost
and nothing is re-emitted.

The cluster topic keeps everything (retention -1, like the resources topic) for this.
A partition whose beginning is not offset 0 (someone shortened its retention) still
rebuilds, from what is left, with a warning: the graph misses the objects whose only
records were deleted.
"""

from __future__ import annotations

import asyncio
import logging
import time

from aiokafka import AIOKafkaConsumer, TopicPartition

from processors import batches, deriving, metrics
from processors.deriving import Derivation
from topolog import tuning

log = logging.getLogger(__name__)


async def rebuild(
    derivation: Derivation, *, bootstrap: str, topic: str, partition: int, until: int
) -> int:
    """Apply ``[beginning, until)`` of ``topic[partition]`` to ``derivation``; returns records."""
    if until <= 0:
        return 0
    tp = TopicPartition(topic, partition)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_partition_fetch_bytes=16 * 1024 * 1024,
        fetch_max_bytes=64 * 1024 * 1024,
    )
    await consumer.start()
    started = time.monotonic()
    replayed = 0
    try:
        consumer.assign([tp])
        beginning = (await consumer.beginning_offsets([tp]))[tp]
        if beginning > 0:
            log.warning(
                "%s[%d] starts at offset %d: rebuilding from there", topic, partition, beginning
            )
        await consumer.seek_to_beginning(tp)
        done = beginning >= until
        while not done:
            fetched = await consumer.getmany(
                tp, timeout_ms=1000, max_records=deriving.MERGED_RECORDS
            )
            decoded: list[batches.Batch] = []
            # A rebuild decodes in bulk, as a sync does: never walked by the collector.
            with tuning.collector_paused(freeze=True):
                for record in fetched.get(tp, []):
                    if record.offset >= until:
                        done = True
                        break
                    replayed += 1
                    if record.value is None:
                        continue
                    try:
                        decoded.append(batches.decode(record.value))
                    except batches.BatchError:
                        continue  # dead-lettered when it was first processed
            # One batch per cluster, in kind order, as the live derive stage does.
            for _ in derivation.parts(decoded, emit=False):
                # Deriving is CPU-bound: let heartbeats and fetches run between parts.
                await asyncio.sleep(0)
            done = done or await consumer.position(tp) >= until
    finally:
        await consumer.stop()
    metrics.REPLAYED.inc(replayed)
    log.info(
        "rebuilt %s[%d] from %d records below offset %d in %.1fs (clusters: %s)",
        topic,
        partition,
        replayed,
        until,
        time.monotonic() - started,
        ", ".join(derivation.clusters) or "none",
    )
    return replayed
