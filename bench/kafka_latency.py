"""Measure the broker's own hop: one record from an aiokafka producer to an aiokafka consumer.

    .venv/bin/python bench/kafka_latency.py [--rate 100] [--seconds 10] [--bootstrap HOST:PORT]

Every pipeline hop of ``topolog bench churn`` (route, derive, project) is a produce and a
consume on the local broker plus a stage's work. This measures the produce → consume
part alone, configured as the stages are (idempotent, ``acks=all``, no linger; a
consumer reading with ``getmany``), on a fresh 8-partition topic deleted afterwards:
the floor under each hop. Prints p50/p90/p99/max ms and the command. The broker is the
local platform's (started when absent) unless ``--bootstrap`` says otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import time
import uuid

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from bench.scenarios import stack, stats


async def measure(bootstrap: str, rate: float, seconds: float) -> list[float]:
    """Latencies (ms) of ``rate * seconds`` records sent at ``rate`` per second."""
    topic = f"bench-kafka-latency-{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, 8, 1)])
        producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap, acks="all", linger_ms=0, enable_idempotence=True
        )
        consumer = AIOKafkaConsumer(
            topic, bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest"
        )
        await producer.start()
        await producer.partitions_for(topic)  # the new topic's leaders are known
        await consumer.start()
        try:
            return await _run(producer, consumer, topic, rate, seconds)
        finally:
            await producer.stop()
            await consumer.stop()
    finally:
        with contextlib.suppress(Exception):
            await admin.delete_topics([topic])
        await admin.close()


async def _run(
    producer: AIOKafkaProducer,
    consumer: AIOKafkaConsumer,
    topic: str,
    rate: float,
    seconds: float,
) -> list[float]:
    count = int(rate * seconds)
    latencies: list[float] = []

    async def consume() -> None:
        while len(latencies) < count:
            fetched = await consumer.getmany(timeout_ms=1000, max_records=2000)
            arrived = time.time()
            for records in fetched.values():
                latencies.extend((arrived - float(r.value or b"0")) * 1000 for r in records)

    reading = asyncio.create_task(consume())
    await asyncio.sleep(1.0)  # the consumer's first fetch is in flight
    began = time.perf_counter()
    for i in range(count):
        await producer.send(topic, str(time.time()).encode(), key=str(i).encode())
        delay = began + (i + 1) / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
    await asyncio.wait_for(reading, timeout=30)
    return latencies


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=100.0, help="records per second")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--bootstrap", help="Kafka bootstrap (default: the local platform's)")
    args = parser.parse_args(argv)
    bootstrap = args.bootstrap or stack.kafka_bootstrap()
    latencies = asyncio.run(measure(bootstrap, args.rate, args.seconds))
    print(" ".join(["python", "bench/kafka_latency.py", *(argv or sys.argv[1:])]))
    print(
        f"{len(latencies)} records at {args.rate:g}/s: "
        f"p50 {stats.percentile(latencies, 50):.1f} ms, p90 {stats.percentile(latencies, 90):.1f}, "
        f"p99 {stats.percentile(latencies, 99):.1f}, max {max(latencies):.1f}"
    )


if __name__ == "__main__":
    main()
