"""``Publisher``: batched ``publish`` and per-record ``submit`` place and order records alike."""

from __future__ import annotations

import asyncio
from collections import defaultdict

import orjson
import pytest
from aiokafka import AIOKafkaConsumer

from producers import publishing, topics
from topolog.core import envelope

from .support import Run

pytestmark = pytest.mark.integration


def _envelope(cluster: str, name: str, version: int, padding: int) -> envelope.Envelope:
    return envelope.Envelope(
        type=envelope.EventType.MODIFIED if version else envelope.EventType.ADDED,
        cluster=cluster,
        api_version="v1",
        kind="ConfigMap",
        namespace="default",
        name=name,
        uid=f"uid-{name}",
        resource_version=str(version + 1),
        observed_at=1_700_000_000.0 + version,
        object={"metadata": {"name": name, "labels": {"v": str(version)}}, "pad": "x" * padding},
    )


async def _read(bootstrap: str, topic: str, count: int) -> list[tuple[int, bytes, bytes]]:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    out: list[tuple[int, bytes, bytes]] = []
    try:
        async with asyncio.timeout(60):
            while len(out) < count:
                for records in (await consumer.getmany(timeout_ms=1000)).values():
                    out += [(r.partition, r.key or b"", r.value or b"") for r in records]
    finally:
        await consumer.stop()
    return out


async def test_batched_publish_keeps_per_key_order_and_the_partitioner_s_placement(
    run: Run,
) -> None:
    spec = topics.TopicSpec(run.resources, 4, {})
    await topics.ensure(run.platform.kafka, [spec])
    # 40 objects x 30 versions, interleaved, big enough to fill several batches per
    # partition (256 KiB each); then one more version of each object through submit().
    batched = [
        _envelope(run.cluster, f"cm-{i}", v, padding=2000) for v in range(30) for i in range(40)
    ]
    single = [_envelope(run.cluster, f"cm-{i}", 30, padding=10) for i in range(40)]
    async with publishing.Publisher(bootstrap=run.platform.kafka, topic=run.resources) as pub:
        await pub.publish(batched)
        for event in single:
            await pub.submit(event)
        await pub.flush()

    records = await _read(run.platform.kafka, run.resources, len(batched) + len(single))
    assert len(records) == len(batched) + len(single)
    partitions: dict[bytes, set[int]] = defaultdict(set)
    versions: dict[bytes, list[int]] = defaultdict(list)
    for partition, key, value in records:
        partitions[key].add(partition)
        versions[key].append(int(orjson.loads(value)["resourceVersion"]))
    assert len(partitions) == 40
    # One partition per key, shared by publish() and submit(); every version, in order.
    assert all(len(p) == 1 for p in partitions.values())
    assert all(v == list(range(1, 32)) for v in versions.values())
    assert len({p for ps in partitions.values() for p in ps}) > 1


async def test_the_cluster_marker_goes_on_every_partition_after_what_each_carried(
    run: Run,
) -> None:
    """A consumer merging partitions may read one partition's copy early; each copy
    still comes after its partition's objects, and says how many copies there are."""
    spec = topics.TopicSpec(run.resources, 3, {})
    await topics.ensure(run.platform.kafka, [spec])
    objects = [_envelope(run.cluster, f"cm-{i}", 0, padding=10) for i in range(30)]
    marker = envelope.cluster_synced_marker(cluster=run.cluster, observed_at=1_700_000_100.0)
    async with publishing.Publisher(bootstrap=run.platform.kafka, topic=run.resources) as pub:
        for event in objects:
            await pub.submit(event)  # queued, not yet delivered: the marker goes behind them
        await pub.publish_marker(marker)

    records = await _read(run.platform.kafka, run.resources, len(objects) + 3)
    per_partition: dict[int, list[envelope.Envelope]] = defaultdict(list)
    for partition, _, value in records:
        per_partition[partition].append(envelope.Envelope.from_json(value))
    assert sorted(per_partition) == [0, 1, 2]
    for events in per_partition.values():
        *listed, last = events
        assert envelope.is_cluster_synced(last) and envelope.marker_partitions(last) == 3
        assert last.observed_at == marker.observed_at
        assert not any(envelope.is_cluster_synced(e) for e in listed)
    assert sum(len(events) - 1 for events in per_partition.values()) == len(objects)
