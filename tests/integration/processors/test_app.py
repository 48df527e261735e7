"""The processors app against the real Kafka: envelopes in, the graph out."""

from __future__ import annotations

import asyncio
import signal
import time

import orjson
import pytest
from aiokafka import AIOKafkaProducer

from processors import folding, pipeline
from processors.deriving import Derivation
from tests.integration.processors.harness import (
    Run,
    counter,
    describe_difference,
    free_port,
    partitions,
    read_all,
)
from tests.unit.processors import scenario
from topolog.core import envelope, graph, kinds

pytestmark = [pytest.mark.integration, pytest.mark.timeout(90)]


def _clusters() -> list[list[envelope.Envelope]]:
    """The envelopes of each cluster, in the order its producer would publish them."""
    return [
        scenario.cluster("east", seed=21, pods=300, churn=60, with_demo=True),
        scenario.cluster("west", seed=22, pods=100, churn=30),
    ]


def _input() -> list[envelope.Envelope]:
    return [e for envs in _clusters() for e in envs]


def _thirds() -> list[list[envelope.Envelope]]:
    """``_input()`` in three consecutive parts, each with envelopes of every cluster."""
    parts: list[list[envelope.Envelope]] = [[], [], []]
    for envs in _clusters():
        bounds = [0, len(envs) // 3, 2 * len(envs) // 3, len(envs)]
        for i, part in enumerate(parts):
            part.extend(envs[bounds[i] : bounds[i + 1]])
    return parts


def _reference(envs: list[envelope.Envelope]) -> folding.Graph:
    out = pipeline.process(Derivation(), scenario.records(envs))
    return folding.fold(cs for _, cs in out.changesets)


async def test_published_envelopes_become_the_graph_on_the_graph_topic(run: Run) -> None:
    envs = _input()
    await run.create_topics()
    await run.publish(envs)
    run.start_worker()
    await run.wait_drained()
    changesets = await run.changesets()
    got, want = folding.fold(changesets), _reference(envs)
    assert got == want, describe_difference(got, want)
    # Many changes per record (batches of envelopes, fewer when the machine is slow and
    # batches close on time), each naming the resource record it came from.
    assert len(changesets) < len(envs) / 2
    sources = {c.source for cs in changesets for c in cs.changes}
    assert None not in sources
    assert {s.topic for s in sources if s is not None} == {run.settings.topic_resources}
    alerts = [
        orjson.loads(r.value) for r in await read_all(run.bootstrap, run.settings.topic_alerts)
    ]
    assert any(a["newState"] == "DOWN" for a in alerts)


async def test_malformed_records_go_to_the_dead_letter_topic_and_the_rest_is_derived(
    run: Run,
) -> None:
    envs = scenario.cluster("east", seed=23, pods=40, churn=0)
    future = orjson.loads(envs[0].to_json()) | {"v": 2}
    widget = orjson.loads(envs[0].to_json()) | {"kind": "Widget"}
    await run.create_topics()
    await run.publish(envs[:50])
    await run.publish_raw(
        [
            (b"garbage", b"\x00\x01 not json"),
            (b"future", orjson.dumps(future)),
            (b"widget", orjson.dumps(widget)),
        ]
    )
    await run.publish(envs[50:])
    run.start_worker()
    await run.wait_drained()
    dead = await read_all(run.bootstrap, run.settings.topic_deadletter)
    reasons = {r.key: dict(r.headers)["topolog-reason"] for r in dead}
    assert reasons == {
        b"garbage": b"undecodable",
        b"future": b"schema-version",
        b"widget": b"unknown-kind",
    }
    assert next(r for r in dead if r.key == b"garbage").value == b"\x00\x01 not json"
    assert await run.graph() == _reference(envs)


async def test_one_and_two_workers_derive_the_same_graph(run: Run) -> None:
    envs = _input()
    half = len(envs) // 2
    await run.create_topics()
    await run.publish(envs[:half])
    ports = [free_port(), free_port()]
    workers = [run.start_worker(metrics_port=p) for p in ports]
    await run.wait_drained(within=50)
    await run.wait_members(2)
    # Both are in the group now: the second half is shared between them.
    await run.publish(envs[half:])
    await run.wait_drained(within=50)
    assert all(w.poll() is None for w in workers)
    got, want = await run.graph(), _reference(envs)
    assert got == want, describe_difference(got, want)
    routed = [counter(p, "topolog_processor_records_total", stage="route") for p in ports]
    assert all(n > 0 for n in routed), f"a worker routed nothing: {routed}"
    dead = [counter(p, "topolog_processor_deadletters_total") for p in ports]
    assert dead == [0.0, 0.0]


async def test_a_worker_killed_mid_stream_restarts_without_losing_or_inventing_changes(
    run: Run,
) -> None:
    first, middle, last = _thirds()
    await run.create_topics()
    await run.publish(first)
    worker = run.start_worker()
    await run.wait_drained()
    derived_before = len(await run.changesets())
    publishing = asyncio.create_task(run.publish(middle))
    # Kill -9 as soon as the worker has produced part of the middle's graph. Where the
    # kill lands is up to the scheduler: before the middle was derived, with an
    # uncommitted tail (redelivered to the next worker), or after it was all committed.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if len(await run.changesets()) > derived_before:
            break
        await asyncio.sleep(0.05)
    run.kill(worker)
    await publishing
    # Whatever the timing, every cluster's partition of the cluster topic has committed
    # history (the first part), and the last part, published while no worker runs,
    # appends to each of them: the next worker has to rebuild each one's state.
    committed = {
        tp.partition: offset
        for tp, offset in (await run.committed()).items()
        if tp.topic == run.cluster_topic
    }
    assert sum(committed.values()) > 0, committed
    await run.publish(last)
    port = free_port()
    run.start_worker(metrics_port=port)
    await run.wait_drained()
    changesets = await run.changesets()
    got, want = folding.fold(changesets), _reference(first + middle + last)
    assert got == want, describe_difference(got, want)
    # The state was rebuilt by replaying exactly what had been committed, without emitting.
    replayed = counter(port, "topolog_processor_replayed_records_total")
    assert replayed == sum(committed.values())
    # A redelivered record re-emits exactly what it emitted before, nothing else.
    seen: dict[tuple[object, str, str], object] = {}
    for change in (c for cs in changesets for c in cs.changes):
        key = (change.source, change.op.value, change.id)
        assert seen.setdefault(key, change) == change


async def test_a_route_group_without_offsets_re_routes_everything_and_emits_nothing_new(
    run: Run,
) -> None:
    """The upgrade from the faust route agent, whose resources offsets are in another
    group (the app's): the route group starts from the beginning, and the derive stage
    drops every re-routed envelope by its offset marks."""
    envs = _input()
    await run.create_topics()
    await run.publish(envs)
    before = f"{run.app_id}.before"
    patch = f"import processors.routeloop as r\nr.route_group = lambda app_id: {before!r}"
    first = run.start_worker(patch=patch)
    await run.wait_drained(route_group=before)
    first.send_signal(signal.SIGTERM)
    first.wait(timeout=30)
    run.workers.remove(first)
    emitted = len(await run.changesets())
    assert await run.committed(run.route_group) == {}
    port = free_port()
    run.start_worker(metrics_port=port)
    await run.wait_drained()
    assert len(await run.changesets()) == emitted
    assert await run.graph() == _reference(envs)
    # Every envelope but the kinds' SYNCED markers (dropped by the route stage).
    derived = sum(
        1 for e in envs if e.type is not envelope.EventType.SYNCED or envelope.is_cluster_synced(e)
    )
    assert counter(port, "topolog_processor_duplicates_total") == derived
    assert counter(port, "topolog_processor_envelopes_total") == 0


async def test_replaying_the_same_input_gives_the_same_graph(run: Run) -> None:
    envs = _input()
    await run.create_topics()
    await run.publish(envs)
    run.start_worker()
    # The same resource records through a second app (own group, state and graph topic).
    again = Run(bootstrap=run.bootstrap, logs=run.logs, suffix=run.suffix, name="-again")
    try:
        await again.create_topics()
        again.start_worker()
        await run.wait_drained()
        await again.wait_drained()
        first = await run.graph()
        assert first == _reference(envs)
        assert await again.graph() == first
    finally:
        again.stop_all()
    # Every envelope published a second time: the objects pass through their history
    # again and end where they were.
    await run.publish(envs)
    await run.wait_drained()
    assert await run.graph() == first


async def test_an_initial_list_read_out_of_order_pages_nobody_for_what_it_found_fine(
    run: Run,
) -> None:
    """The alerts topic is what an alerting system pages on. A list read referring objects
    first makes "Missing" placeholders (DOWN) on the way; the alerts say only what is
    DOWN once the list is complete (the cluster's SYNCED marker), each as found."""
    from tests.unit.core.derive import objects as o

    initial = scenario.cluster(o.CLUSTER, seed=31, pods=120, churn=0)
    *listed, marker = initial
    assert envelope.is_cluster_synced(marker)
    # Referring kinds first, and a pod that cannot be scheduled: really DOWN.
    listed.sort(key=lambda e: -kinds.derive_rank(e.kind))
    listed.append(o.env(o.pending_pod("stuck", namespace=listed[-1].name), at=scenario.T0))
    await run.create_topics()
    port = free_port()
    run.start_worker(metrics_port=port)
    await run.wait_members(1)
    # Small batches, derived as they come (in source order, not kind order).
    for start in range(0, len(listed), 50):
        await run.publish(listed[start : start + 50])
        await asyncio.sleep(0.2)
    await run.wait_drained()
    # Derived, and nothing on the alerts topic: the list is not complete yet.
    assert counter(port, "topolog_processor_initial_list", cluster=o.CLUSTER) == 1
    assert await read_all(run.bootstrap, run.settings.topic_alerts) == []
    await run.publish([marker])
    await run.wait_drained()
    assert counter(port, "topolog_processor_alerts_total") > 0
    assert counter(port, "topolog_processor_initial_list", cluster=o.CLUSTER) == 0
    changesets = await run.changesets()
    placeholders_replaced = sum(
        1 for cs in changesets for c in cs.changes if c.op is graph.Op.NODE_DELETE
    )
    assert placeholders_replaced > 10  # the list did go through "Missing" moments
    nodes, _ = folding.fold(changesets)
    down = {i for i, n in nodes.items() if n.metadata["State"] == "DOWN"}
    alerts = [
        orjson.loads(r.value) for r in await read_all(run.bootstrap, run.settings.topic_alerts)
    ]
    assert {a["id"] for a in alerts} == down and len(alerts) == len(down)
    assert {(a["kind"], a["name"]) for a in alerts} >= {("pod", "stuck")}
    assert all(a["oldState"] is None and a["newState"] == "DOWN" for a in alerts)


async def test_the_list_ends_only_once_every_partition_s_marker_was_read(run: Run) -> None:
    """The route stage keeps only per-partition order. A partition whose fetch comes late
    (here: published last) still holds objects listed before the marker; the copies of
    the other partitions must not end the list, or its "Missing" moments page someone."""
    from aiokafka.partitioner import DefaultPartitioner

    from tests.unit.core.derive import objects as o

    *listed, _ = scenario.cluster(o.CLUSTER, seed=32, pods=120, churn=0)
    listed.sort(key=lambda e: -kinds.derive_rank(e.kind))  # referring kinds first
    await run.create_topics()
    topic = run.settings.topic_resources
    count = len(await partitions(run.bootstrap, topic))
    ids = list(range(count))
    late = 0

    def partition(env: envelope.Envelope) -> int:
        return int(DefaultPartitioner()(env.key.encode(), ids, ids))

    marker = envelope.cluster_synced_marker(
        cluster=o.CLUSTER, observed_at=scenario.T0 + 1, partitions=count
    )

    async def send_markers(on: list[int]) -> None:
        producer = AIOKafkaProducer(bootstrap_servers=run.bootstrap, acks="all")
        await producer.start()
        try:
            for p in on:
                await producer.send_and_wait(
                    topic, value=marker.to_json(), key=marker.key.encode(), partition=p
                )
        finally:
            await producer.stop()

    port = free_port()
    run.start_worker(metrics_port=port)
    await run.wait_members(1)
    await run.publish([e for e in listed if partition(e) != late])
    await send_markers([p for p in ids if p != late])
    await run.wait_drained()
    nodes, _ = folding.fold(await run.changesets())
    missing = {i for i, n in nodes.items() if n.metadata.get("StateReason") == "Missing"}
    assert missing  # what the late partition holds is still a placeholder
    assert counter(port, "topolog_processor_initial_list", cluster=o.CLUSTER) == 1
    assert await read_all(run.bootstrap, run.settings.topic_alerts) == []
    await run.publish([e for e in listed if partition(e) == late])
    await send_markers([late])
    await run.wait_drained()
    assert counter(port, "topolog_processor_initial_list", cluster=o.CLUSTER) == 0
    nodes, _ = folding.fold(await run.changesets())
    down = {i for i, n in nodes.items() if n.metadata["State"] == "DOWN"}
    alerts = [
        orjson.loads(r.value) for r in await read_all(run.bootstrap, run.settings.topic_alerts)
    ]
    assert {a["id"] for a in alerts} == down
    assert not missing & {a["id"] for a in alerts}
