"""The route stage's consumer loop against the real Kafka: rebalancing, crashes, commits."""

from __future__ import annotations

import asyncio
import subprocess
import time
import uuid
import zlib
from collections.abc import Callable, Sequence

import pytest
from aiokafka import AIOKafkaProducer, TopicPartition

from processors import routeloop, routing
from producers import topics
from tests.integration.processors.harness import Run, committed, end_offsets
from topolog.platform.state import Endpoints

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

PARTITIONS = 4


class Owner:
    """One route loop of the test's group, recording what its handler was given."""

    def __init__(
        self, bootstrap: str, topic: str, group: str, *, fail_on: int | None = None
    ) -> None:
        self.handled: list[routing.Record] = []
        self.batches = 0
        self.fail_on = fail_on
        config = routeloop.Config(
            bootstrap=bootstrap,
            topic=topic,
            group_id=group,
            batch=50,
            within=0.01,
            # Only revocations and stops commit, unless the test asks otherwise: a commit
            # at the wrong moment then shows up as records routed twice or never.
            commit_interval=3600,
            session_timeout=6,
        )
        self.loop = routeloop.RouteLoop(config, self.handle)

    async def handle(self, records: Sequence[routing.Record]) -> None:
        self.batches += 1
        if self.batches == self.fail_on:
            raise RuntimeError("a send failed")
        await asyncio.sleep(0.02)  # a batch in flight while the group rebalances
        self.handled.extend(records)


async def _topic(bootstrap: str) -> str:
    name = f"it-route-{uuid.uuid4().hex[:8]}"
    await topics.ensure(bootstrap, [topics.TopicSpec(name, PARTITIONS, {})])
    return name


async def _publish(bootstrap: str, topic: str, per_partition: int, start: int = 0) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        sent = [
            await producer.send(topic, value=b"%d" % i, key=b"k", partition=p)
            for i in range(start, start + per_partition)
            for p in range(PARTITIONS)
        ]
        await asyncio.gather(*sent)
    finally:
        await producer.stop()


async def _until(condition: Callable[[], bool], *, within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def _positions(owners: Sequence[Owner]) -> list[tuple[int, int]]:
    return [(r.source.partition, r.source.offset) for o in owners for r in o.handled]


async def test_workers_joining_and_leaving_route_every_record_exactly_once(
    platform: Endpoints,
) -> None:
    """Each rebalance lands on batches in flight; the old owner's commit happens before
    the partitions move, so nobody routes a record twice (no commit after revocation)
    and nothing is skipped (no commit of a record only fetched)."""
    bootstrap = platform.kafka
    topic = await _topic(bootstrap)
    group = f"it-route-{uuid.uuid4().hex[:8]}"
    await _publish(bootstrap, topic, 300)
    a = Owner(bootstrap, topic, group)
    b = Owner(bootstrap, topic, group)
    await a.loop.start()
    try:
        await _until(lambda: a.batches >= 2, within=30, what="the first owner's batches")
        await b.loop.start()  # a rebalance while the first owner routes
        await _publish(bootstrap, topic, 300, start=300)
        await _until(lambda: len(_positions([a, b])) >= 2400, within=60, what="every record")
        await _until(lambda: bool(b.handled), within=30, what="the second owner's share")
        await a.loop.stop()  # a rebalance while the second owner may route
        await _publish(bootstrap, topic, 300, start=600)
        await _until(lambda: len(_positions([a, b])) >= 3600, within=60, what="every record")
    finally:
        await a.loop.stop()
        await b.loop.stop()
    positions = _positions([a, b])
    assert len(positions) == len(set(positions)), "a record was routed twice"
    assert sorted(positions) == [(p, o) for p in range(PARTITIONS) for o in range(900)]
    for owner in (a, b):  # each owner saw each partition in order
        for p in range(PARTITIONS):
            offsets = [r.source.offset for r in owner.handled if r.source.partition == p]
            assert offsets == sorted(offsets)
    assert await committed(bootstrap, group) == {
        TopicPartition(topic, p): 900 for p in range(PARTITIONS)
    }


async def test_records_published_over_every_partition_are_routed_in_publish_order(
    platform: Endpoints,
) -> None:
    """A sync is published referenced objects first, keyed by object over every
    partition; a consumer is handed a fetch of one partition after another. The route
    loop must hand the records on in publish (timestamp) order all the same, or the
    derive stage meets pods before their owners, configs and claims."""
    bootstrap = platform.kafka
    topic = await _topic(bootstrap)
    count, start_ms = 2000, int(time.time() * 1000) - 10_000
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        sent = [
            await producer.send(
                topic,
                value=b"%d" % i,
                key=b"k",
                partition=zlib.crc32(b"%d" % i) % PARTITIONS,
                timestamp_ms=start_ms + i,
            )
            for i in range(count)
        ]
        await asyncio.gather(*sent)
    finally:
        await producer.stop()
    owner = Owner(bootstrap, topic, f"it-route-{uuid.uuid4().hex[:8]}")
    await owner.loop.start()
    try:
        await _until(lambda: len(owner.handled) >= count, within=30, what="every record")
    finally:
        await owner.loop.stop()
    assert owner.batches > 10  # handed on in many batches, not one
    assert [int(r.value or b"") for r in owner.handled] == list(range(count))


async def test_a_failing_batch_crashes_the_loop_and_is_routed_again_by_the_next(
    platform: Endpoints,
) -> None:
    bootstrap = platform.kafka
    topic = await _topic(bootstrap)
    group = f"it-route-{uuid.uuid4().hex[:8]}"
    await _publish(bootstrap, topic, 100)
    first = Owner(bootstrap, topic, group, fail_on=3)
    await first.loop.start()
    try:
        await _until(lambda: first.loop.crashed, within=30, what="the crash")
    finally:
        await first.loop.stop()
    assert isinstance(first.loop.crash_reason, RuntimeError)
    # The two delivered batches were committed (on stop); the failed one was not.
    assert first.handled
    assert sum((await committed(bootstrap, group)).values()) == len(first.handled)
    second = Owner(bootstrap, topic, group)
    await second.loop.start()
    try:
        await _until(lambda: len(_positions([first, second])) >= 400, within=30, what="the rest")
    finally:
        await second.loop.stop()
    positions = _positions([first, second])
    assert sorted(positions) == [(p, o) for p in range(PARTITIONS) for o in range(100)]


async def test_an_error_in_the_route_stage_stops_the_worker_without_committing(
    run: Run,
) -> None:
    await run.create_topics()
    await run.publish_raw([(b"k", b'{"v": 1}')])
    patch = (
        "import processors.routing as r\n"
        "def boom(*a, **k): raise RuntimeError('a bug in routing')\n"
        "r.route = boom"
    )
    proc = run.start_worker(patch=patch)
    try:
        await asyncio.to_thread(proc.wait, 60)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"the worker did not stop\n{run.log_tail()}") from None
    assert proc.returncode != 0
    assert "a bug in routing" in run.log_tail(200)
    assert await run.committed(run.route_group) == {}
    ends = await end_offsets(run.bootstrap, [run.settings.topic_resources])
    assert sum(ends.values()) == 1
