"""Benchmark the processors: resource envelopes/s through ``topolog processor`` workers.

Publishes the synthetic cluster of ``topolog.core.simulate`` (initial objects, then
churn) to fresh topics, starts ``--workers`` ``topolog processor`` subprocesses, and
times from the first cluster batch to the last graph changeset (Kafka record timestamps,
so worker start-up and group joins are not counted). The workers start first; their CPU
time (``/proc``) from the publication to the end, per envelope, is the cost figure to
compare (wall clock is noise on a shared machine). Also times the bare ``Deriver`` on
the same envelopes in this process, for comparison.

    .venv/bin/python bench/processor_bench.py --pods 5000 --churn 500 --workers 1

Needs Kafka: ``TOPOLOG_KAFKA_BOOTSTRAP`` or the local platform (``topolog dev up``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shlex
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.partitioner import murmur2

from processors import app as processors_app
from processors import routeloop
from producers import publishing, simulation
from topolog.core import envelope, graph, simulate
from topolog.core.derive.engine import Deriver
from topolog.settings import Settings

T0 = 1_700_000_000.0


def _envelopes(pods: int, churn: int, cluster: str) -> list[envelope.Envelope]:
    sim = simulate.Simulator(seed=7, pods=pods, now=T0)
    out = [simulation.to_envelope(e, cluster=cluster, now=T0) for e in sim.initial()]
    for step in range(churn):
        now = T0 + 1 + step * 0.1
        out += [simulation.to_envelope(e, cluster=cluster, now=now) for e in sim.churn(now)]
    return out


def _cluster_names(count: int, partitions: int) -> list[str]:
    """Cluster names whose batches land on distinct cluster-topic partitions (murmur2 of
    the key, as the producer places them) while there are partitions left."""
    names: list[str] = []
    used: set[int] = set()
    i = 0
    while len(names) < count:
        name = f"bench-{i}"
        partition = (murmur2(name.encode()) & 0x7FFFFFFF) % partitions
        if partition not in used or len(used) >= partitions:
            names.append(name)
            used.add(partition)
        i += 1
    return names


async def _partitions(bootstrap: str, topic: str) -> list[TopicPartition]:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        return [TopicPartition(topic, p) for p in sorted(await producer.partitions_for(topic))]
    finally:
        await producer.stop()


async def _drained(bootstrap: str, app_id: str, resources: str, clusters: str) -> bool:
    """Whether the route group committed the resources topic's end, and the app's group
    the cluster topic's."""
    return await _committed_ends(
        bootstrap, routeloop.route_group(app_id), [resources]
    ) and await _committed_ends(bootstrap, app_id, [clusters])


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (``/proc/<pid>/stat``)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _committed_ends(bootstrap: str, group: str, topics: list[str]) -> bool:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        committed = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    tps = [tp for t in topics for tp in await _partitions(bootstrap, t)]
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        ends = await consumer.end_offsets(tps)
    finally:
        await consumer.stop()
    return all(
        end <= max(committed[tp].offset if tp in committed else 0, 0) for tp, end in ends.items()
    )


async def _timestamps(bootstrap: str, topic: str) -> tuple[list[int], list[bytes]]:
    """Every record's timestamp (ms) and value of ``topic``."""
    tps = await _partitions(bootstrap, topic)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        ends = await consumer.end_offsets(tps)
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        stamps: list[int] = []
        values: list[bytes] = []
        remaining = {tp for tp in tps if ends[tp] > 0}
        while remaining:
            fetched = await consumer.getmany(timeout_ms=2000)
            for tp, records in fetched.items():
                for r in records:
                    if r.offset < ends[tp]:
                        stamps.append(r.timestamp)
                        values.append(r.value or b"")
                if records and records[-1].offset + 1 >= ends[tp]:
                    remaining.discard(tp)
        return stamps, values
    finally:
        await consumer.stop()


def _bare_deriver(envs: list[envelope.Envelope]) -> float:
    deriver = Deriver(envs[0].cluster)
    started = time.perf_counter()
    for i, env in enumerate(envs):
        deriver.apply(env, source=graph.Source("bench", 0, i))
    return len(envs) / (time.perf_counter() - started)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pods", type=int, default=5000)
    parser.add_argument("--churn", type=int, default=500, help="churn steps after the initial list")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--clusters", type=int, default=1, help="copies of the cluster")
    parser.add_argument("--bootstrap", default=None)
    parser.add_argument(
        "--warmup", type=float, default=12.0, help="seconds for the workers to start and join"
    )
    args = parser.parse_args()

    bootstrap = args.bootstrap or os.environ.get("TOPOLOG_KAFKA_BOOTSTRAP")
    if not bootstrap:
        from topolog.platform import local

        eps = local.endpoints()
        if eps is None:
            sys.exit("no TOPOLOG_KAFKA_BOOTSTRAP and no local platform (topolog dev up)")
        bootstrap = eps.kafka
    suffix = uuid.uuid4().hex[:8]
    settings = Settings(
        kafka_bootstrap=bootstrap,
        topic_resources=f"bench-res-{suffix}",
        topic_graph=f"bench-graph-{suffix}",
        topic_alerts=f"bench-alerts-{suffix}",
        topic_deadletter=f"bench-dead-{suffix}",
    )
    options = processors_app.Options(app_id=f"bench-proc-{suffix}")
    await processors_app.ensure_topics(settings, bootstrap=bootstrap, options=options)

    envs = [
        e
        for name in _cluster_names(args.clusters, options.partitions)
        for e in _envelopes(args.pods, args.churn, cluster=name)
    ]
    env = {
        **os.environ,
        "TOPOLOG_KAFKA_BOOTSTRAP": bootstrap,
        "TOPOLOG_TOPIC_RESOURCES": settings.topic_resources,
        "TOPOLOG_TOPIC_GRAPH": settings.topic_graph,
        "TOPOLOG_TOPIC_ALERTS": settings.topic_alerts,
        "TOPOLOG_TOPIC_DEADLETTER": settings.topic_deadletter,
    }
    command = [sys.executable, "-m", "topolog.cli.main", "processor", "--app-id", options.app_id]
    command += ["--log-level", "warning"]
    logs = Path(tempfile.mkdtemp(prefix="processor-bench-"))
    workers = []
    for i in range(args.workers):
        with (logs / f"worker-{i}.log").open("wb") as out:
            workers.append(subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT))  # noqa: ASYNC220
    # Started before the input is published: joins and imports are not counted.
    await asyncio.sleep(args.warmup)
    cpu_before = [_cpu_seconds(w.pid) for w in workers]
    print(f"publishing {len(envs)} envelopes ({args.clusters} cluster(s), {args.pods} pods each)")
    async with publishing.Publisher(
        bootstrap=bootstrap, topic=settings.topic_resources, client_id="bench"
    ) as publisher:
        await publisher.publish(envs)

    cluster_topic = processors_app.cluster_topic(options.app_id)
    try:
        while not await _drained(
            bootstrap, options.app_id, settings.topic_resources, cluster_topic
        ):
            if any(w.poll() is not None for w in workers):
                sys.exit(f"a worker exited; logs in {logs}")
            await asyncio.sleep(1)
        cpu = sum(_cpu_seconds(w.pid) for w in workers) - sum(cpu_before)
    finally:
        for w in workers:
            w.send_signal(signal.SIGTERM)
        for w in workers:
            w.wait(timeout=30)

    batch_ts, _ = await _timestamps(bootstrap, cluster_topic)
    graph_ts, graph_values = await _timestamps(bootstrap, settings.topic_graph)
    changes = sum(len(graph.ChangeSet.from_json(v).changes) for v in graph_values)
    route_s = (max(batch_ts) - min(batch_ts)) / 1000
    total_s = (max(graph_ts) - min(batch_ts)) / 1000
    bare = _bare_deriver(envs[: len(envs) // args.clusters])
    print(f"command:     {shlex.join(command)}  (x{args.workers}, env TOPOLOG_TOPIC_*)")
    print(f"envelopes:   {len(envs)}   changes: {changes}   changesets: {len(graph_values)}")
    print(f"cluster batches: {len(batch_ts)}")
    print(f"route stage: {route_s:.2f}s  {len(envs) / max(route_s, 1e-9):,.0f} envelopes/s")
    print(f"end to end:  {total_s:.2f}s  {len(envs) / total_s:,.0f} envelopes/s", end="")
    print(f"  ({len(envs) / total_s / args.workers:,.0f} per worker)")
    print(f"worker CPU:  {cpu:.2f}s  {cpu / len(envs) * 1e6:,.0f} µs per envelope")
    print(f"bare Deriver in-process: {bare:,.0f} envelopes/s (one cluster)")


if __name__ == "__main__":
    asyncio.run(main())
