"""The projector on a real graph topic: live projection, restart, rebuild, cold travel.

Uses the ``platform`` fixture (real Kafka) and the store's own throwaway Redis.
"""

from __future__ import annotations

import random
import time
import uuid
from typing import Any

import pytest
import redis.asyncio as aioredis
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from store import cold, dump, rebuild, scripts, trimmer
from store.keys import Keys
from store.projection import LayoutMismatch
from store.projector import Projector
from store.reader import GraphReader
from store.snapshot import Snapshot
from tests.integration.processors.harness import committed
from tests.integration.store.builders import (
    changeset,
    delete_edge,
    delete_node,
    link,
    pod,
    upsert_edge,
    upsert_node,
)
from topolog.core import graph
from topolog.platform import state

pytestmark = pytest.mark.integration

HOUR = 3600.0
WINDOW_MS = int(24 * HOUR * 1000)


def _changesets(seed: int, count: int, start: float) -> list[graph.ChangeSet]:
    """A churn of pods and edges from ``start`` on (about 15 hours for 400 changesets)."""
    rnd = random.Random(seed)
    ids = [f"pod-{i}" for i in range(30)]
    t = start
    out = []
    for _ in range(count):
        t += rnd.choice([0.0, 0.5, 60, 600, -1])
        changes: list[graph.Change] = []
        for _ in range(rnd.randint(1, 5)):
            a, b = rnd.choice(ids), rnd.choice(ids)
            roll = rnd.random()
            if roll < 0.45:
                labels = {"app": rnd.choice(["web", "db"])}
                node = pod(a, a, state=rnd.choice(["UP", "DOWN"]), **labels)
                changes.append(upsert_node(node, rnd.randint(0, 10**6)))
            elif roll < 0.75:
                changes.append(upsert_edge(link(a, b)))
            elif roll < 0.9:
                changes.append(delete_node(a))
            else:
                changes.append(delete_edge(link(a, b).id))
        out.append(changeset(t, *changes))
    return out


async def _topic(bootstrap: str, partitions: int = 1) -> str:
    name = f"test.store.{uuid.uuid4().hex[:10]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)])
    finally:
        await admin.close()
    return name


async def _publish(bootstrap: str, topic: str, sets: list[graph.ChangeSet]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for cs in sets:
            await producer.send(topic, cs.to_json())
        await producer.flush()
    finally:
        await producer.stop()


async def _project_until_caught_up(
    client: aioredis.Redis, keys: Keys, bootstrap: str, topic: str, group: str
) -> Projector:
    async with Projector(
        client=client,
        keys=keys,
        bootstrap=bootstrap,
        topic=topic,
        group_id=group,
        batch_records=50,
    ) as projector:
        deadline = time.monotonic() + 60
        while not await projector.caught_up():
            assert time.monotonic() < deadline, "projector did not catch up"
            await projector.step(timeout_ms=200)
    return projector


def _by_id(snap: Snapshot) -> dict[str, dict[str, Any]]:
    topology = snap.topology()
    return {e["ID"]: e for e in topology["Nodes"] + topology["Edges"]}


async def test_rebuild_equals_the_live_projection_history_included(
    platform: state.Endpoints, client: aioredis.Redis
) -> None:
    bootstrap = platform.kafka
    topic = await _topic(bootstrap)
    now = time.time()
    sets = _changesets(1, 400, now - 30 * HOUR)  # the 24 h window cuts through it
    live, rebuilt = Keys("live:"), Keys("rebuilt:")
    group = f"g-{uuid.uuid4().hex[:6]}"

    # The live projector sees the topic in two runs (a restart in between).
    await _publish(bootstrap, topic, sets[:250])
    first = await _project_until_caught_up(client, live, bootstrap, topic, group)
    await _publish(bootstrap, topic, sets[250:])
    second = await _project_until_caught_up(client, live, bootstrap, topic, group)
    # A rebalance may redeliver records (at-least-once); each is applied exactly once.
    applied = [p.progress.records - p.progress.redelivered for p in (first, second)]
    assert applied == [250, len(sets) - 250]
    now_ms = int(now * 1000)
    await trimmer.trim(client, live, cutoff=now_ms - WINDOW_MS)

    done = await rebuild.rebuild(
        client, rebuilt, bootstrap=bootstrap, topic=topic, window_ms=WINDOW_MS, now=now_ms
    )
    assert done.records == len(sets)
    assert done.trimmed > 0  # the window really cut history
    live_dump, rebuilt_dump = await dump.dump(client, live), await dump.dump(client, rebuilt)
    assert len(live_dump) > 50
    assert rebuilt_dump == live_dump

    # Rebuilding over an existing projection drops it first: same result again.
    await rebuild.rebuild(
        client, live, bootstrap=bootstrap, topic=topic, window_ms=WINDOW_MS, now=now_ms
    )
    assert await dump.dump(client, live) == rebuilt_dump


async def test_rebuild_until_a_projection_marks_equals_that_projection(
    platform: state.Endpoints, client: aioredis.Redis
) -> None:
    # What the chaos check compares: a live projection that moved on while it was being
    # verified is compared with a rebuild that stops at the projection's high-water mark.
    bootstrap = platform.kafka
    topic = await _topic(bootstrap, partitions=1)
    now = time.time()
    sets = _changesets(5, 80, now - HOUR)
    live, rebuilt = Keys("until-live:"), Keys("until-rebuilt:")
    await _publish(bootstrap, topic, sets[:50])
    await _project_until_caught_up(client, live, bootstrap, topic, f"g-{uuid.uuid4().hex[:6]}")
    marks = await client.hgetall(live.hwm)
    assert marks == {f"{topic}:0".encode(): b"49"}
    at_50 = await dump.dump(client, live)
    await _publish(bootstrap, topic, sets[50:])  # the topic moves on

    now_ms = int(now * 1000)
    done = await rebuild.rebuild(
        client,
        rebuilt,
        bootstrap=bootstrap,
        topic=topic,
        window_ms=WINDOW_MS,
        now=now_ms,
        until=await rebuild.applied_ends(client, live, topic),
    )
    assert done.records == 50
    rebuilt_at_50 = await dump.dump(client, rebuilt)
    rebuilt_at_50.pop("horizon")  # the trim's clock reading
    assert rebuilt_at_50 == at_50
    full = await rebuild.rebuild(
        client, rebuilt, bootstrap=bootstrap, topic=topic, window_ms=WINDOW_MS, now=now_ms
    )
    assert full.records == len(sets)
    assert await dump.dump(client, rebuilt) != at_50


async def test_projector_rebuilds_a_flushed_redis_by_itself(
    platform: state.Endpoints, client: aioredis.Redis
) -> None:
    bootstrap = platform.kafka
    topic = await _topic(bootstrap, partitions=1)
    await _publish(bootstrap, topic, _changesets(2, 60, time.time() - HOUR))
    keys, group = Keys("p:"), f"g-{uuid.uuid4().hex[:6]}"
    await _project_until_caught_up(client, keys, bootstrap, topic, group)
    before = await dump.dump(client, keys)
    await client.flushdb()
    again = await _project_until_caught_up(client, keys, bootstrap, topic, group)
    # Committed offsets are ignored: Redis had nothing, so everything is applied again.
    assert again.progress.records - again.progress.redelivered == 60
    assert await dump.dump(client, keys) == before


async def test_projector_commits_what_it_applied_for_lag_monitoring(
    platform: state.Endpoints, client: aioredis.Redis
) -> None:
    # Commits are on a timer (not per batch) and at stop: after a stop the group's offset
    # is the end of what was applied, so `kafka-consumer-groups` shows no lag.
    bootstrap = platform.kafka
    topic = await _topic(bootstrap, partitions=1)
    await _publish(bootstrap, topic, _changesets(4, 60, time.time() - HOUR))
    keys, group = Keys("lag:"), f"g-{uuid.uuid4().hex[:6]}"
    await _project_until_caught_up(client, keys, bootstrap, topic, group)
    offsets = await committed(bootstrap, group)
    assert {tp.partition: offset for tp, offset in offsets.items()} == {0: 60}


async def test_projector_replaces_a_projection_of_an_older_layout_by_itself(
    platform: state.Endpoints, client: aioredis.Redis
) -> None:
    bootstrap = platform.kafka
    topic = await _topic(bootstrap, partitions=1)
    await _publish(bootstrap, topic, _changesets(3, 60, time.time() - HOUR))
    keys, group = Keys("old:"), f"g-{uuid.uuid4().hex[:6]}"
    await _project_until_caught_up(client, keys, bootstrap, topic, group)
    before = await dump.dump(client, keys)
    await client.delete(keys.layout)  # as written before the layout marker (layout 1)
    refusing = Projector(
        client=client, keys=keys, bootstrap=bootstrap, topic=topic, replace_old_layout=False
    )
    with pytest.raises(LayoutMismatch, match="layout 1"):
        await refusing.__aenter__()
    again = await _project_until_caught_up(client, keys, bootstrap, topic, group)
    assert again.progress.records - again.progress.redelivered == 60  # replayed from 0
    assert await client.get(keys.layout) == scripts.LAYOUT.encode()
    assert await dump.dump(client, keys) == before


async def test_cold_time_travel_answers_like_the_hot_window(
    platform: state.Endpoints, client: aioredis.Redis
) -> None:
    bootstrap = platform.kafka
    topic = await _topic(bootstrap)
    start = time.time() - 10 * HOUR
    sets = _changesets(3, 200, start)
    await _publish(bootstrap, topic, sets)
    keys = Keys("h:")
    await _project_until_caught_up(client, keys, bootstrap, topic, f"g-{uuid.uuid4().hex[:6]}")
    reader = GraphReader(client, keys)
    history = await cold.load(bootstrap, topic)
    times = sorted({round(cs.time * 1000) for cs in sets})
    for t in times[::7]:
        assert _by_id(history.at(t)) == _by_id(await reader.snapshot(t))
    middle = times[len(times) // 2]
    assert _by_id(await cold.graph_at(bootstrap, topic, middle)) == _by_id(
        await reader.snapshot(middle)
    )
    t0, t1 = times[10], times[60]
    assert _by_id(await cold.graph_between(bootstrap, topic, t0, t1)) == _by_id(
        await reader.slice(t0, t1)
    )
