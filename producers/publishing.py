"""Publishing envelopes to Kafka: idempotent, acks=all, compressed, batched.

Flows in: ``Envelope``s from ``watching``, ``ingest`` and ``simulation``.
Flows out: records on the resources topic, key = ``Envelope.key`` (so every change of one
object lands in one partition, in order; the idempotent producer keeps that order
across retries).

``submit`` hands a record to aiokafka's accumulator without waiting for its delivery;
``flush`` awaits every delivery submitted so far. A failed delivery is never skipped:
it is raised from ``flush`` and from ``failure()``, which the orchestrator watches so
the producer stops (and, restarted, reconciles from what Kafka really holds).
"""

from __future__ import annotations

import asyncio
import logging
from types import TracebackType

from aiokafka import AIOKafkaProducer
from aiokafka.partitioner import DefaultPartitioner
from aiokafka.producer.message_accumulator import BatchBuilder

from producers import metrics
from topolog.core import envelope

log = logging.getLogger(__name__)

#: lz4 needs cramjam (aiokafka[lz4]); gzip is always there.
try:
    import cramjam  # noqa: F401

    COMPRESSION = "lz4"
except ImportError:  # pragma: no cover - depends on the environment
    COMPRESSION = "gzip"


class Publisher:
    """One aiokafka producer for one topic; an async context manager."""

    def __init__(
        self,
        *,
        bootstrap: str,
        topic: str,
        client_id: str = "topolog-producer",
        linger_ms: int = 20,
    ) -> None:
        self.topic = topic
        self._producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap,
            client_id=client_id,
            enable_idempotence=True,
            acks="all",
            compression_type=COMPRESSION,
            linger_ms=linger_ms,
            max_batch_size=256 * 1024,
            max_request_size=8 * 1024 * 1024,
        )
        self._partitioner = DefaultPartitioner()
        self._pending: set[asyncio.Future[object]] = set()
        self._failure: asyncio.Future[None] | None = None
        self._started = False
        self._stopped = False

    async def start(self) -> None:
        self._failure = asyncio.get_running_loop().create_future()
        await self._producer.start()
        self._started = True

    async def stop(self) -> None:
        """Deliver what is pending, then close. Idempotent."""
        if self._stopped or not self._started:
            self._stopped = True
            return
        self._stopped = True
        try:
            await self.flush()
        finally:
            await self._producer.stop()

    async def __aenter__(self) -> Publisher:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def submit(self, event: envelope.Envelope) -> None:
        """Queue one record (waits only for buffer space, not for delivery)."""
        future = await self._producer.send(
            self.topic, value=event.to_json(), key=event.key.encode()
        )
        self._track(future)
        metrics.EVENTS.labels(kind=event.kind, type=event.type.value).inc()

    async def publish(self, events: list[envelope.Envelope]) -> None:
        """Queue every record, then await their deliveries.

        Records are appended to per-partition batches directly (``send_batch``), placed by
        the producer's own partitioner, so they land where ``submit`` would put them, in
        the same order per key; it costs a third of the CPU of one ``send`` per record.
        When one partition's batch is full, every partition's batch is sent: the
        partitions' published records then end within a batch of each other, so a
        consumer merging them by time (the route stage, ``processors.timeorder``) is not
        handed records of one partition while earlier ones of another still wait here.
        """
        partitions = sorted(await self._producer.partitions_for(self.topic))
        builders: dict[int, BatchBuilder] = {}
        for event in events:
            key = event.key.encode()
            partition = self._partitioner(key, partitions, partitions)
            value = event.to_json()
            builder = builders.get(partition)
            if builder is None:
                builder = builders[partition] = self._producer.create_batch()
            if builder.append(key=key, value=value, timestamp=None) is None:
                await self._send_batches(builders)
                builder = builders[partition] = self._producer.create_batch()
                if builder.append(key=key, value=value, timestamp=None) is None:
                    raise ValueError(f"record {event.key} does not fit in a batch")
            metrics.EVENTS.labels(kind=event.kind, type=event.type.value).inc()
        await self._send_batches(builders)
        await self.flush()

    async def publish_marker(self, marker: envelope.Envelope) -> None:
        """Publish a cluster's SYNCED ``marker`` as one copy on every partition, each after
        what was queued for its partition before it and naming how many there are
        (``envelope.cluster_synced_marker``), then await every delivery so far.

        Only per-partition order holds downstream: a single copy, on the partition of its
        key, could be read before objects of another partition listed ahead of it."""
        partitions = sorted(await self._producer.partitions_for(self.topic))
        copy = envelope.cluster_synced_marker(
            cluster=marker.cluster, observed_at=marker.observed_at, partitions=len(partitions)
        )
        key, value = copy.key.encode(), copy.to_json()
        for partition in partitions:
            self._track(
                await self._producer.send(self.topic, value=value, key=key, partition=partition)
            )
        metrics.EVENTS.labels(kind=copy.kind, type=copy.type.value).inc(len(partitions))
        await self.flush()

    async def _send_batches(self, builders: dict[int, BatchBuilder]) -> None:
        """Send every partition's batch (in partition order) and forget them."""
        for partition in sorted(builders):
            await self._send_batch(builders[partition], partition)
        builders.clear()

    async def _send_batch(self, builder: BatchBuilder, partition: int) -> None:
        builder.close()
        self._track(await self._producer.send_batch(builder, self.topic, partition=partition))

    def _track(self, future: asyncio.Future[object]) -> None:
        """Count a queued delivery as pending until it is done (``flush``, ``failure``)."""
        self._pending.add(future)
        metrics.PENDING.inc()
        future.add_done_callback(self._delivered)

    async def flush(self) -> None:
        """Await every delivery submitted so far; raise the first failure."""
        if self._pending:
            await asyncio.gather(*list(self._pending))

    async def failure(self) -> None:
        """Returns never; raises when a delivery fails."""
        assert self._failure is not None, "Publisher not started"
        await self._failure

    def _delivered(self, future: asyncio.Future[object]) -> None:
        self._pending.discard(future)
        metrics.PENDING.dec()
        if future.cancelled():
            return
        exc = future.exception()
        if exc is not None and self._failure is not None and not self._failure.done():
            log.error("delivery to %s failed: %s", self.topic, exc)
            self._failure.set_exception(exc)
