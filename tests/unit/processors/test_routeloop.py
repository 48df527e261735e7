"""The route loop's batching and commit bookkeeping, with a fake consumer (no Kafka)."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Sequence
from typing import Any

import pytest
from aiokafka import TopicPartition
from aiokafka.structs import ConsumerRecord

from processors import routeloop, routing

TOPIC = "res"


def _record(
    partition: int, offset: int, timestamp: int | None = None
) -> ConsumerRecord[bytes, bytes]:
    return ConsumerRecord(
        topic=TOPIC,
        partition=partition,
        offset=offset,
        timestamp=offset if timestamp is None else timestamp,
        timestamp_type=0,
        key=b"k",
        value=b"v%d" % offset,
        checksum=None,
        serialized_key_size=1,
        serialized_value_size=2,
        headers=(),
    )


class FakeConsumer:
    """Hands out ``per_call`` records of each partition per ``getmany``, every ``pause`` s
    (``one_partition``: of one partition per call, in turn, as aiokafka hands over one
    partition's fetch after another). Every record is on the broker from the start (the
    high watermark), record ``o`` stamped ``o`` unless ``stamps`` says otherwise."""

    def __init__(
        self,
        partitions: int,
        records: int,
        *,
        per_call: int,
        pause: float,
        one_partition: bool = False,
        stamps: dict[int, list[int]] | None = None,
    ) -> None:
        stamps = stamps or {}
        self.left = {
            TopicPartition(TOPIC, p): [
                _record(p, o, stamps[p][o] if p in stamps else None) for o in range(records)
            ]
            for p in range(partitions)
        }
        self.total = {tp: len(records) for tp, records in self.left.items()}
        self.per_call = per_call
        self.pause = pause
        self.one_partition = one_partition
        self.turn = 0
        #: Partitions whose fetches never come (a leader gone).
        self.stuck: set[TopicPartition] = set()
        self.commits: list[dict[TopicPartition, int]] = []
        self.committed = asyncio.Event()
        #: Cleared: a commit waits for it (a slow broker round trip).
        self.gate = asyncio.Event()
        self.gate.set()
        self.failure: Exception | None = None

    async def getmany(
        self, *, timeout_ms: int, max_records: int
    ) -> dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]:
        if not any(self.left.values()):
            await asyncio.sleep(timeout_ms / 1000)
            return {}
        await asyncio.sleep(min(self.pause, timeout_ms / 1000))
        out = {}
        turns = list(self.left)
        if self.one_partition:
            turns = [turns[self.turn % len(turns)]]
            self.turn += 1
        for tp in turns:
            records = self.left[tp]
            n = min(self.per_call, max_records)
            if n and records and tp not in self.stuck:
                out[tp], self.left[tp] = records[:n], records[n:]
                max_records -= len(out[tp])
        return out

    def assignment(self) -> set[TopicPartition]:
        return set(self.left)

    def highwater(self, tp: TopicPartition) -> int:
        return self.total[tp]

    async def position(self, tp: TopicPartition) -> int:
        return self.total[tp] - len(self.left[tp])

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        await self.gate.wait()
        if self.failure is not None:
            raise self.failure
        self.commits.append(dict(offsets))
        self.committed.set()


def _loop(
    consumer: FakeConsumer, *, batch: int, within: float, commit_interval: float = 0.0
) -> tuple[routeloop.RouteLoop, list[list[routing.Record]]]:
    handled: list[list[routing.Record]] = []

    async def handler(records: Sequence[routing.Record]) -> None:
        handled.append(list(records))

    config = routeloop.Config(
        bootstrap="127.0.0.1:1",
        topic=TOPIC,
        group_id="g",
        batch=batch,
        within=within,
        commit_interval=commit_interval,
        session_timeout=10,
    )
    loop = routeloop.RouteLoop(config, handler)
    loop._consumer = consumer
    return loop, handled


async def test_a_batch_closes_when_full_without_waiting() -> None:
    consumer = FakeConsumer(partitions=2, records=100, per_call=10, pause=0.0)
    loop, _ = _loop(consumer, batch=25, within=10.0)
    started = time.monotonic()
    await loop._fill()
    assert loop._held.count >= 25
    assert time.monotonic() - started < 1.0


async def test_below_saturation_a_batch_waits_at_most_within_after_its_first_record() -> None:
    consumer = FakeConsumer(partitions=1, records=1000, per_call=1, pause=0.01)
    loop, _ = _loop(consumer, batch=1000, within=0.1)
    started = time.monotonic()
    await loop._fill()
    elapsed = time.monotonic() - started
    assert 0.1 <= elapsed < 0.3
    assert 0 < loop._held.count < 1000


async def test_an_idle_topic_returns_an_empty_fill() -> None:
    consumer = FakeConsumer(partitions=1, records=0, per_call=1, pause=0.0)
    loop, _ = _loop(consumer, batch=10, within=0.01)
    await asyncio.wait_for(loop._fill(), timeout=routeloop.IDLE_POLL_S + 1)
    assert loop._held.count == 0


async def test_batches_keep_each_partitions_order_and_commit_after_the_handler() -> None:
    consumer = FakeConsumer(partitions=3, records=50, per_call=7, pause=0.0)
    loop, handled = _loop(consumer, batch=40, within=0.01)
    while any(consumer.left.values()):
        await loop._fill()
        await loop._handle()
    await loop._committed()
    seen: dict[int, list[int]] = {}
    for batch in handled:
        for r in batch:
            assert r.source.topic == TOPIC
            seen.setdefault(r.source.partition, []).append(r.source.offset)
    assert seen == {p: list(range(50)) for p in range(3)}
    # Each commit names the next offset after what the handler returned for.
    assert consumer.commits[-1] == {TopicPartition(TOPIC, p): 50 for p in range(3)}


async def test_a_failing_handler_commits_nothing_of_its_batch() -> None:
    consumer = FakeConsumer(partitions=1, records=10, per_call=10, pause=0.0)
    loop, _ = _loop(consumer, batch=10, within=0.01)

    async def boom(records: Sequence[Any]) -> None:
        raise RuntimeError("send failed")

    loop.handler = boom
    await loop._fill()
    with pytest.raises(RuntimeError):
        await loop._handle()
    assert consumer.commits == []
    assert loop._delivered == {}


async def test_revocation_commits_what_was_delivered_and_drops_what_was_only_fetched() -> None:
    consumer = FakeConsumer(partitions=2, records=30, per_call=10, pause=0.0)
    loop, handled = _loop(consumer, batch=20, within=0.01, commit_interval=3600)
    await loop._fill()
    await loop._handle()  # delivered, not committed (interval)
    assert consumer.commits == []
    await loop._fill()  # fetched, not handled
    assert loop._held.count == 20
    await loop._revoked([TopicPartition(TOPIC, 0), TopicPartition(TOPIC, 1)])
    assert consumer.commits == [{TopicPartition(TOPIC, 0): 10, TopicPartition(TOPIC, 1): 10}]
    assert loop._held.count == 0
    await loop._handle()  # nothing left to handle: the new owner reads it again
    assert len(handled) == 1


async def test_revocation_waits_for_the_batch_in_flight() -> None:
    consumer = FakeConsumer(partitions=1, records=10, per_call=10, pause=0.0)
    loop, _ = _loop(consumer, batch=10, within=0.01, commit_interval=3600)
    release = asyncio.Event()

    async def slow(records: Sequence[Any]) -> None:
        await release.wait()

    loop.handler = slow
    await loop._fill()
    in_flight = asyncio.create_task(loop._handle())
    await asyncio.sleep(0.01)
    revoking = asyncio.create_task(loop._revoked([TopicPartition(TOPIC, 0)]))
    await asyncio.sleep(0.05)
    assert not revoking.done(), "revocation must wait for the delivery of the batch in flight"
    release.set()
    await asyncio.gather(in_flight, revoking)
    assert consumer.commits == [{TopicPartition(TOPIC, 0): 10}]


async def test_the_delivered_tail_is_committed_once_the_topic_goes_idle() -> None:
    consumer = FakeConsumer(partitions=2, records=15, per_call=5, pause=0.0)
    loop, handled = _loop(consumer, batch=100, within=0.01, commit_interval=3600)
    running = asyncio.create_task(loop._run())
    try:
        await asyncio.wait_for(consumer.committed.wait(), timeout=routeloop.IDLE_POLL_S + 2)
    finally:
        running.cancel()
    assert sum(len(b) for b in handled) == 30
    assert consumer.commits == [{TopicPartition(TOPIC, 0): 15, TopicPartition(TOPIC, 1): 15}]


async def test_the_next_batch_is_handled_while_the_periodic_commit_is_in_flight() -> None:
    consumer = FakeConsumer(partitions=1, records=30, per_call=10, pause=0.0)
    loop, handled = _loop(consumer, batch=10, within=0.01, commit_interval=0.0)
    consumer.gate.clear()  # the broker has not answered the commit yet
    await loop._fill()
    await loop._handle()  # delivers offsets 0-9, starts their commit
    await loop._fill()
    await asyncio.wait_for(loop._handle(), timeout=1.0)  # not held up by the commit
    assert len(handled) == 2
    assert consumer.commits == []
    consumer.gate.set()
    await loop._committed()
    assert consumer.commits == [{TopicPartition(TOPIC, 0): 10}]
    # One commit at a time, in order: the second batch's offsets waited for a later one.
    await loop._fill()
    await loop._handle()
    await loop._committed()
    assert consumer.commits == [{TopicPartition(TOPIC, 0): 10}, {TopicPartition(TOPIC, 0): 30}]


async def test_revocation_waits_for_the_commit_in_flight_then_commits_the_rest() -> None:
    consumer = FakeConsumer(partitions=1, records=20, per_call=10, pause=0.0)
    loop, _ = _loop(consumer, batch=10, within=0.01, commit_interval=0.0)
    consumer.gate.clear()
    await loop._fill()
    await loop._handle()  # offsets 0-9: commit in flight
    loop.config = dataclasses.replace(loop.config, commit_interval=3600.0)
    await loop._fill()
    await loop._handle()  # offsets 10-19: delivered, not committed
    revoking = asyncio.create_task(loop._revoked([TopicPartition(TOPIC, 0)]))
    await asyncio.sleep(0.05)
    assert not revoking.done(), "revocation must wait for the commit in flight"
    consumer.gate.set()
    await revoking
    assert consumer.commits == [{TopicPartition(TOPIC, 0): 10}, {TopicPartition(TOPIC, 0): 20}]


async def test_a_failed_background_commit_stops_the_loop() -> None:
    consumer = FakeConsumer(partitions=1, records=20, per_call=10, pause=0.0)
    loop, _ = _loop(consumer, batch=10, within=0.01, commit_interval=0.0)
    consumer.failure = RuntimeError("broker gone")
    with pytest.raises(RuntimeError, match="broker gone"):
        await asyncio.wait_for(loop._run(), timeout=routeloop.IDLE_POLL_S + 2)


async def _route_all(loop: routeloop.RouteLoop, consumer: FakeConsumer) -> None:
    while any(consumer.left[tp] for tp in consumer.left if tp not in consumer.stuck) or (
        loop._held.count
    ):
        await loop._fill()
        await loop._handle()


async def test_partitions_fetched_one_after_another_are_handed_on_in_publish_order() -> None:
    # Published round-robin over 4 partitions (record o of partition p at time 4o + p),
    # fetched 20 records of one partition at a time: the derive stage must still meet
    # them in publish order (referenced objects before the objects referring to them).
    stamps = {p: [4 * o + p for o in range(60)] for p in range(4)}
    consumer = FakeConsumer(
        partitions=4, records=60, per_call=20, pause=0.0, one_partition=True, stamps=stamps
    )
    loop, handled = _loop(consumer, batch=30, within=0.01)
    await asyncio.wait_for(_route_all(loop, consumer), timeout=5)
    routed = [r for batch in handled for r in batch]
    assert [4 * r.source.offset + r.source.partition for r in routed] == list(range(240))


async def test_a_partition_with_nothing_left_on_the_broker_holds_nothing_back() -> None:
    consumer = FakeConsumer(partitions=2, records=5, per_call=5, pause=0.0)
    empty = TopicPartition(TOPIC, 1)
    consumer.left[empty], consumer.total[empty] = [], 0
    loop, handled = _loop(consumer, batch=100, within=0.01)
    started = time.monotonic()
    await loop._fill()
    await loop._handle()
    assert time.monotonic() - started < routeloop.MAX_HOLD_S / 2
    assert [r.source.offset for r in handled[0]] == [0, 1, 2, 3, 4]


async def test_a_partition_whose_fetch_never_comes_delays_the_others_only_so_long() -> None:
    consumer = FakeConsumer(partitions=2, records=5, per_call=5, pause=0.0)
    stuck = TopicPartition(TOPIC, 1)
    consumer.stuck.add(stuck)  # records on the broker, never fetched (a leader gone)
    loop, handled = _loop(consumer, batch=100, within=0.01)
    started = time.monotonic()
    await loop._fill()
    await loop._handle()
    waited = time.monotonic() - started
    assert routeloop.MAX_HOLD_S * 0.9 <= waited < routeloop.MAX_HOLD_S + 0.5
    assert [(r.source.partition, r.source.offset) for r in handled[0]] == [(0, o) for o in range(5)]


async def test_a_partition_revoked_while_frontiers_are_read_is_skipped() -> None:
    consumer = FakeConsumer(partitions=2, records=5, per_call=5, pause=0.0)
    gone = TopicPartition(TOPIC, 1)

    def highwater(tp: TopicPartition) -> int:
        assert tp != gone, "Partition is not assigned"  # what aiokafka does
        return consumer.total[tp]

    consumer.highwater = highwater  # type: ignore[method-assign]
    loop, _ = _loop(consumer, batch=100, within=0.01)
    frontiers = await loop._frontiers()
    assert list(frontiers) == [TopicPartition(TOPIC, 0)]


async def test_held_records_go_in_fetch_order_once_too_many_are_held() -> None:
    # A stuck partition holds the others back, but not beyond MAX_HOLD_RECORDS in memory
    # (here reached long before MAX_HOLD_S).
    per_call = routeloop.MAX_HOLD_RECORDS // 4
    consumer = FakeConsumer(
        partitions=2, records=routeloop.MAX_HOLD_RECORDS * 2, per_call=per_call, pause=0.0
    )
    consumer.stuck.add(TopicPartition(TOPIC, 1))
    loop, handled = _loop(consumer, batch=2000, within=0.01)
    started = time.monotonic()
    await loop._fill()
    assert loop._held.count == routeloop.MAX_HOLD_RECORDS
    await loop._handle()
    assert time.monotonic() - started < routeloop.MAX_HOLD_S / 2
    assert [r.source.offset for r in handled[0]] == list(range(routeloop.MAX_HOLD_RECORDS))
    assert loop._held.count == 0
