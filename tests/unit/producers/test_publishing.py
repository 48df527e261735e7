"""Bulk publishing: when records leave the publisher, relative to publish order (no Kafka)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any, cast

from producers import publishing
from topolog.core import envelope

#: Records a fake partition batch holds.
CAPACITY = 3


class FakeBatch:
    def __init__(self) -> None:
        self.keys: list[bytes] = []

    def append(self, *, key: bytes, value: bytes, timestamp: int | None) -> object | None:
        if len(self.keys) >= CAPACITY:
            return None  # full: aiokafka's BatchBuilder says so with None
        self.keys.append(key)
        return object()

    def close(self) -> None:
        pass


class FakeProducer:
    def __init__(self) -> None:
        self.sent: list[bytes] = []

    def create_batch(self) -> FakeBatch:
        return FakeBatch()

    async def partitions_for(self, topic: str) -> set[int]:
        return {0, 1, 2, 3}

    async def send_batch(self, batch: FakeBatch, topic: str, *, partition: int) -> Any:
        self.sent += batch.keys
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done


def _event(i: int) -> envelope.Envelope:
    return cast(
        envelope.Envelope,
        SimpleNamespace(
            key=f"k{i}",
            to_json=lambda: b"{}",
            kind="Pod",
            type=envelope.EventType.ADDED,
        ),
    )


async def test_a_record_leaves_at_most_a_batch_per_partition_behind_publish_order() -> None:
    # Partition 3 gets one record in ten: with a batch sent only when it is full, its
    # records waited while later ones of the other partitions left (a consumer merging
    # partitions by time was handed those first).
    publisher = publishing.Publisher(bootstrap="127.0.0.1:1", topic="t")
    fake = FakeProducer()
    publisher._producer = fake  # type: ignore[assignment]
    publisher._partitioner = (
        lambda key, *_: (  # type: ignore[assignment]
            3 if int(key[1:]) % 10 == 0 else int(key[1:]) % 3
        )
    )
    count = 200
    await publisher.publish([_event(i) for i in range(count)])
    order = [int(k[1:]) for k in fake.sent]
    assert sorted(order) == list(range(count))
    moved = max(abs(order.index(i) - i) for i in range(count))
    assert moved <= 4 * CAPACITY, f"a record left {moved} places away from publish order"
