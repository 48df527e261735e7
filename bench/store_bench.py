"""Measure the Redis projection: bytes per node and per edge, projector throughput.

    .venv/bin/python bench/store_bench.py [--pods 10000] [--redis-url URL] [--kafka HOST:PORT]
    .venv/bin/python bench/store_bench.py --simulated [--pods 10000] [--churn 20000]

``--simulated``: the graph records the real pipeline would write for the simulator's
cluster (``topolog.core.simulate``, seed 7, derived in-process by the ``Deriver``, grouped
into changesets like the processor's), then its churn, applied through
``Projection.apply_records`` (the projector's path, without Kafka). Reports bytes per key
family, node, edge, element and version after the sync and after the churn, and per
1,000 changes the CPU seconds of Redis (``INFO cpu``) and of this process (decoding and
sending, as the projector), with ``INFO commandstats``; then the CPU of resolving the
whole feed as the gateway does.

Without ``--redis-url`` a throwaway redis-server (Debian's) is started on a free
loopback port. The sample is a realistic cluster slice: per 10 pods one deployment, one
replicaset and a service; per pod 1-2 containers; namespaces and nodes; ownership,
service, node and pod→configmap edges. Every pod then gets two status updates (history),
and 10 % of pods are deleted and recreated under a new uid (a rollout).

Memory: nodes (with their history, indexes and feed entries) are applied first and
measured, then edges; bytes = sum of ``MEMORY USAGE <key> SAMPLES 0`` over every key of
the projection. Throughput: changes/s applied through ``Projection.apply_many`` (one
pipelined round trip per batch of changesets) for two changeset sizes, and with
``--kafka`` through the real projector from a graph topic.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import redis.asyncio as aioredis

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from store.encoding import Position
from store.keys import Keys
from store.projection import Projection
from topolog.core import graph

T0 = 1_700_000_000.0


def _pod(uid: str, name: str, ns: str, app: str, node: str, state: str) -> graph.Node:
    return graph.Node(
        id=uid,
        metadata={
            "Type": "pod",
            "Name": name,
            "Manager": "k8s",
            "ClusterName": "local",
            "State": state,
            "StateReason": "Running" if state == "UP" else "CrashLoopBackOff",
            "RootCause": [],
            "K8s": {
                "Name": name,
                "Namespace": ns,
                "Labels": {"app": app, "pod-template-hash": "7d9f8b6c5d", "tier": "backend"},
                "Annotations": {"kubectl.kubernetes.io/restartedAt": "2024-01-01T00:00:00Z"},
                "Node": node,
                "IP": "10.{}.{}.{}".format(*(random.randint(1, 254) for _ in range(3))),
                "Status": "Running",
            },
        },
    )


def _simple(uid: str, kind: str, name: str, ns: str | None, **extra: Any) -> graph.Node:
    k8s: dict[str, Any] = {"Name": name, "Labels": {"app": name}}
    if ns:
        k8s["Namespace"] = ns
    k8s.update(extra)
    return graph.Node(
        id=uid,
        metadata={
            "Type": kind,
            "Name": name,
            "Manager": "k8s",
            "ClusterName": "local",
            "State": "UP",
            "StateReason": "",
            "RootCause": [],
            "K8s": k8s,
        },
    )


def _edge(parent: str, child: str, relation: str) -> graph.Edge:
    return graph.Edge(
        id=graph.edge_id(parent, child, relation),
        parent=parent,
        child=child,
        metadata={"RelationType": relation},
    )


def _up(n: graph.Node) -> graph.Change:
    return graph.Change(
        op=graph.Op.NODE_UPSERT,
        id=n.id,
        node=n,
        source=graph.Source("topolog.resources", 0, random.randint(0, 10**7)),
    )


def _ue(e: graph.Edge) -> graph.Change:
    return graph.Change(
        op=graph.Op.EDGE_UPSERT,
        id=e.id,
        edge=e,
        source=graph.Source("topolog.resources", 0, random.randint(0, 10**7)),
    )


def _del(node_id: str) -> graph.Change:
    return graph.Change(op=graph.Op.NODE_DELETE, id=node_id)


def cluster(pods: int) -> tuple[list[graph.Change], list[graph.Change], list[graph.Change]]:
    """(node changes, edge changes, churn changes) of a realistic sample."""
    random.seed(7)
    nodes: list[graph.Node] = []
    edges: list[graph.Edge] = []
    cluster_node = _simple("cluster", "cluster", "local", None)
    nodes.append(cluster_node)
    hosts = [
        _simple(f"node-{i}", "node", f"kwok-node-{i}", None, Arch="amd64", OS="linux")
        for i in range(max(1, pods // 100))
    ]
    nodes += hosts
    edges += [_edge("cluster", h.id, "ownership") for h in hosts]
    namespaces = [
        _simple(f"ns-{i}", "namespace", f"team-{i}", None) for i in range(max(1, pods // 1000))
    ]
    nodes += namespaces
    edges += [_edge("cluster", n.id, "ownership") for n in namespaces]
    pod_ids: list[tuple[str, str, str, str]] = []
    for i in range(pods):
        ns = namespaces[i % len(namespaces)]
        app = f"app-{i // 10}"
        if i % 10 == 0:
            dep = _simple(
                f"dep-{app}",
                "deployment",
                app,
                ns.metadata["Name"],
                DesiredReplicas=10,
                Replicas=10,
                ReadyReplicas=10,
            )
            rs = _simple(f"rs-{app}", "replicaset", f"{app}-7d9f8b6c5d", ns.metadata["Name"])
            svc = _simple(
                f"svc-{app}",
                "service",
                app,
                ns.metadata["Name"],
                ClusterIP="10.96.0.10",
                ServiceType="ClusterIP",
                Ports=[{"Name": "http", "Protocol": "TCP", "Port": 80, "TargetPort": "8080"}],
            )
            cm = _simple(
                f"cm-{app}", "configmap", f"{app}-config", ns.metadata["Name"], Data=["config.yaml"]
            )
            nodes += [dep, rs, svc, cm]
            edges += [_edge(ns.id, x.id, "ownership") for x in (dep, rs, svc, cm)]
            edges.append(_edge(dep.id, rs.id, "deployment"))
        host = hosts[i % len(hosts)]
        name = f"{app}-7d9f8b6c5d-{i:05d}"
        p = _pod(f"pod-{i}", name, ns.metadata["Name"], app, host.metadata["Name"], "UP")
        nodes.append(p)
        pod_ids.append((p.id, name, ns.metadata["Name"], app))
        edges += [
            _edge(ns.id, p.id, "ownership"),
            _edge(f"rs-{app}", p.id, "replicaset"),
            _edge(f"svc-{app}", p.id, "service"),
            _edge(host.id, p.id, "node"),
            _edge(p.id, f"cm-{app}", "pod"),
        ]
        for c in range(1 + i % 2):
            container = _simple(
                graph.derived_id(p.id, str(c)),
                "container",
                f"c{c}",
                ns.metadata["Name"],
                Pod=name,
                Image="nginx:1.25",
                Runtime="containerd",
            )
            nodes.append(container)
            edges.append(_edge(p.id, container.id, "ownership"))
    churn: list[graph.Change] = []
    for uid, name, ns, app in pod_ids:  # two status flips per pod: three versions
        for state in ("DOWN", "UP"):
            churn.append(_up(_pod(uid, name, ns, app, hosts[0].metadata["Name"], state)))
    for uid, name, ns, app in pod_ids[::10]:  # a rollout: delete, recreate under a new uid
        churn.append(_del(uid))
        churn.append(_up(_pod(uid + "-b", name, ns, app, hosts[0].metadata["Name"], "UP")))
    return [_up(n) for n in nodes], [_ue(e) for e in edges], churn


def changesets(changes: list[graph.Change], size: int, start: float) -> Iterator[graph.ChangeSet]:
    for i in range(0, len(changes), size):
        yield graph.ChangeSet(time=start + i / 1000, changes=changes[i : i + size])


async def apply_all(projection: Projection, sets: list[graph.ChangeSet], batch: int = 200) -> float:
    began = time.perf_counter()
    for i in range(0, len(sets), batch):
        await projection.apply_many([(cs, None) for cs in sets[i : i + batch]])
    return time.perf_counter() - began


async def memory(client: aioredis.Redis, keys: Keys) -> int:
    total = 0
    async for name in client.scan_iter(match=keys.pattern, count=1000):
        total += int(await client.memory_usage(name, samples=0) or 0)
    return total


async def measure(redis_url: str, pods: int, kafka: str | None) -> dict[str, Any]:
    client = aioredis.Redis.from_url(redis_url)
    await client.flushdb()
    node_changes, edge_changes, churn = cluster(pods)
    keys = Keys("bench:")
    projection = Projection(client, keys)
    out: dict[str, Any] = {"pods": pods}

    # Memory: nodes (created, then churned: history), then edges.
    node_sets = list(changesets(node_changes, 50, T0))
    await apply_all(projection, node_sets)
    churn_sets = list(changesets(churn, 50, T0 + 3600))
    await apply_all(projection, churn_sets)
    n_nodes = len(node_changes) + len(churn) // 20  # recreated pods are new nodes
    node_bytes = await memory(client, keys)
    edge_sets = list(changesets(edge_changes, 50, T0 + 7200))
    await apply_all(projection, edge_sets)
    all_bytes = await memory(client, keys)
    # Past versions are in ``nv``, the current one of each alive node in ``nodes``.
    versions = int(await client.hlen(keys.prefix + "nv")) + int(
        await client.hlen(keys.prefix + "nodes")
    )
    out |= {
        "nodes": n_nodes,
        "node_versions": versions,
        "edges": len(edge_changes),
        "bytes_per_node": round(node_bytes / n_nodes),
        "bytes_per_edge": round((all_bytes - node_bytes) / len(edge_changes)),
        "bytes_total": all_bytes,
        "feed_bytes": int(await client.memory_usage(keys.feed, samples=0) or 0),
    }

    # Throughput: the same sample applied from scratch, two changeset sizes.
    for size in (1, 50):
        await client.flushdb()
        sets = list(changesets(node_changes + edge_changes, size, T0))
        seconds = await apply_all(projection, sets)
        n = len(node_changes) + len(edge_changes)
        out[f"changes_per_s_changeset_{size}"] = round(n / seconds)
    if kafka:
        out["kafka_projector_changes_per_s"] = await through_kafka(
            client, kafka, node_changes + edge_changes
        )
    await client.aclose()
    return out


async def through_kafka(client: aioredis.Redis, bootstrap: str, changes: list[graph.Change]) -> int:
    from aiokafka import AIOKafkaProducer
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    from store.projector import Projector

    topic = f"bench.store.{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    await admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])
    await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5)
    await producer.start()
    for cs in changesets(changes, 50, T0):
        await producer.send(topic, cs.to_json())
    await producer.flush()
    await producer.stop()
    await client.flushdb()
    keys = Keys("kbench:")
    began = time.perf_counter()
    async with Projector(
        client=client,
        keys=keys,
        bootstrap=bootstrap,
        topic=topic,
        group_id=topic,
        batch_records=500,
    ) as projector:
        while not await projector.caught_up():
            await projector.step(timeout_ms=200)
    _ = Position
    return round(len(changes) / (time.perf_counter() - began))


@contextlib.contextmanager
def throwaway_redis() -> Iterator[str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    workdir = tempfile.mkdtemp(prefix="store-bench-")
    proc = subprocess.Popen(
        [
            shutil.which("redis-server") or "/usr/bin/redis-server",
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            workdir,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        time.sleep(0.3)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)


def simulated_records(pods: int, churn_events: int) -> tuple[list[bytes], list[bytes]]:
    """(sync records, churn records): the changeset JSON the processor would write."""
    from producers import simulation
    from topolog.core import simulate
    from topolog.core.derive.engine import Deriver

    now = 1_790_000_000.0
    sim = simulate.Simulator(seed=7, pods=pods, now=now)
    deriver = Deriver("bench")
    offset = 0

    def derive(events: list[simulate.Event], at: list[float]) -> list[bytes]:
        nonlocal offset
        out: list[bytes] = []
        pending: list[graph.Change] = []
        first = last = 0.0
        for i, (event, t) in enumerate(zip(events, at, strict=True)):
            env = simulation.to_envelope(event, cluster="bench", now=t)
            result = deriver.apply(env, source=graph.Source("bench.resources", 0, offset))
            offset += 1
            if not result.changes:
                continue
            # Like processors.deriving: one changeset per 0.2 s or 2,000 changes, and
            # per fetched batch (64 envelopes here).
            if pending and (t - first > 0.2 or len(pending) > 2000 or i % 64 == 0):
                out.append(graph.ChangeSet(last, pending).to_json())
                pending = []
            if not pending:
                first = last = t
            last = max(last, t)
            pending.extend(result.changes)
        if pending:
            out.append(graph.ChangeSet(last, pending).to_json())
        return out

    initial = sim.initial()
    sync = derive(initial, [now] * len(initial))
    churn: list[simulate.Event] = []
    times: list[float] = []
    step = 0
    while len(churn) < churn_events:
        t = now + 60 + step * 0.1
        step_events = sim.churn(t)
        churn += step_events
        times += [t] * len(step_events)
        step += 1
    return sync, derive(churn[:churn_events], times[:churn_events])


def _family(name: str) -> str:
    for prefix in ("nh:", "eh:", "ix:", "out:", "in:"):
        if name.startswith(prefix):
            return prefix
    return name


async def _families(client: aioredis.Redis, keys: Keys) -> dict[str, int]:
    sizes: dict[str, int] = {}
    names = [k async for k in client.scan_iter(match=keys.pattern, count=2000)]
    for start in range(0, len(names), 2000):
        pipe = client.pipeline(transaction=False)
        for name in names[start : start + 2000]:
            pipe.memory_usage(name, samples=0)
        for name, used in zip(names[start : start + 2000], await pipe.execute(), strict=True):
            family = _family(name.decode()[len(keys.prefix) :])
            sizes[family] = sizes.get(family, 0) + int(used or 0)
    return dict(sorted(sizes.items(), key=lambda kv: -kv[1]))


async def _memory(client: aioredis.Redis, keys: Keys) -> dict[str, Any]:
    families = await _families(client, keys)
    nodes = int(await client.hlen(keys.prefix + "nodes"))
    edges = int(await client.hlen(keys.prefix + "edges"))
    versions = nodes + edges
    versions += int(await client.hlen(keys.prefix + "nv")) + int(
        await client.hlen(keys.prefix + "ev")
    )
    total = sum(families.values())
    node_keys = sum(
        v for k, v in families.items() if k in ("nh:", "nv", "ix:", "nodes", "nodes:dead")
    )
    edge_keys = sum(
        v for k, v in families.items() if k in ("eh:", "ev", "out:", "in:", "edges", "edges:dead")
    )
    share = (total - node_keys - edge_keys) / max(nodes + edges, 1)
    return {
        "nodes": nodes,
        "edges": edges,
        "versions": versions,
        "bytes_total": total,
        "bytes_per_node": round(node_keys / max(nodes, 1) + share),
        "bytes_per_edge": round(edge_keys / max(edges, 1) + share),
        "bytes_per_element": round(total / max(nodes + edges, 1)),
        "bytes_per_version": round(total / max(versions, 1)),
        "bytes_per_element_by_family": {
            k: round(v / max(nodes + edges, 1), 1) for k, v in families.items()
        },
    }


async def _redis_cpu(client: aioredis.Redis) -> float:
    info = await client.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


async def _apply_records(
    client: aioredis.Redis, projection: Projection, records: list[bytes], first: int
) -> dict[str, Any]:
    await client.config_resetstat()
    cpu, redis_cpu = time.process_time(), await _redis_cpu(client)
    changes = 0
    batch: list[tuple[bytes, Position]] = []
    size = 0
    for i, raw in enumerate(records):
        batch.append((raw, Position("bench.graph", 0, first + i)))
        size += raw.count(b'"op":')
        if len(batch) >= 500 or size >= 5000 or i == len(records) - 1:
            changes += size
            await projection.apply_records(batch)
            batch, size = [], 0
    cpu, redis_cpu = time.process_time() - cpu, await _redis_cpu(client) - redis_cpu
    stats = await client.info("commandstats")
    return {
        "records": len(records),
        "changes": changes,
        "projector_cpu_s_per_1k_changes": round(cpu / max(changes, 1) * 1000, 4),
        "redis_cpu_s_per_1k_changes": round(redis_cpu / max(changes, 1) * 1000, 4),
        "commands_per_change": {
            name.removeprefix("cmdstat_"): round(int(v["calls"]) / max(changes, 1), 3)
            for name, v in stats.items()
            if not name.startswith("cmdstat_eval") and int(v["calls"]) >= changes / 100
        },
        "script_us_per_change": round(
            sum(int(v["usec"]) for n, v in stats.items() if n.startswith("cmdstat_eval"))
            / max(changes, 1),
            2,
        ),
    }


async def _read_feed(client: aioredis.Redis, keys: Keys) -> dict[str, Any]:
    from store import feed

    cpu, redis_cpu = time.process_time(), await _redis_cpu(client)
    after = changes = 0
    while entries := await feed.read_after(client, keys, after, count=20):
        after = entries[-1].revision
        changes += sum(len(e.changes) for e in entries)
    cpu, redis_cpu = time.process_time() - cpu, await _redis_cpu(client) - redis_cpu
    return {
        "changes": changes,
        "reader_cpu_s_per_1k_changes": round(cpu / max(changes, 1) * 1000, 4),
        "redis_cpu_s_per_1k_changes": round(redis_cpu / max(changes, 1) * 1000, 4),
    }


async def measure_simulated(redis_url: str, pods: int, churn: int) -> dict[str, Any]:
    sync, churned = simulated_records(pods, churn)
    client = aioredis.Redis.from_url(redis_url)
    await client.flushdb()
    keys = Keys("bench-0123abcd:")  # as long as the pipeline benchmark's prefix
    projection = Projection(client, keys)
    out: dict[str, Any] = {"pods": pods, "churn_events": churn}
    out["sync"] = await _apply_records(client, projection, sync, 0)
    out["after_sync"] = await _memory(client, keys)
    out["feed_read"] = await _read_feed(client, keys)
    out["churn"] = await _apply_records(client, projection, churned, len(sync))
    out["after_churn"] = await _memory(client, keys)
    await client.aclose()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, default=10000)
    parser.add_argument("--redis-url")
    parser.add_argument("--kafka", help="bootstrap; also measure through the real projector")
    parser.add_argument("--simulated", action="store_true", help="the simulator's records")
    parser.add_argument("--churn", type=int, default=20000, help="churn events (--simulated)")
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        url = args.redis_url or stack.enter_context(throwaway_redis())
        if args.simulated:
            figures = asyncio.run(measure_simulated(url, args.pods, args.churn))
        else:
            figures = asyncio.run(measure(url, args.pods, args.kafka))
    print("command:", " ".join(["python", *sys.argv]))
    print(orjson.dumps(figures, option=orjson.OPT_INDENT_2).decode())


if __name__ == "__main__":
    main()
