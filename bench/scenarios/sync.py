"""Scenario ``sync``: every object of a simulated cluster published → graph complete in Redis.

Flows in: a running ``stack.Stack`` and a size (pods).
Flows out: seconds and envelopes/s from the first publish to the moment the projection
holds the whole graph (alive node and edge counts equal to what the in-memory
``Deriver`` derives from the same envelopes), the publish time alone, and the
simulator state (``Loaded``) for the scenarios that follow (churn, queries, ...).
The stages are started and warmed up (one probe object through the whole pipeline)
before the clock starts, so start-up and group joins are not counted.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from bench.scenarios import stack as stacks
from bench.scenarios import stats
from producers import publishing, simulation
from topolog.core import envelope, graph, simulate
from topolog.core.derive.engine import Deriver

CLUSTER = "bench"


@dataclass
class Loaded:
    """What the scenarios after ``sync`` need: the simulator (to continue its churn) and
    names of objects that exist."""

    sim: simulate.Simulator
    envelopes: list[envelope.Envelope]
    nodes: int
    edges: int
    changes: int
    synced_at: float


def simulated(pods: int, now: float) -> tuple[simulate.Simulator, list[envelope.Envelope]]:
    """The simulator's cluster stamped ``now`` (the store trims history older than its hot
    window, so benchmark data must look recent)."""
    sim = simulate.Simulator(seed=7, pods=pods, now=now)
    envs = [simulation.to_envelope(e, cluster=CLUSTER, now=now) for e in sim.initial()]
    return sim, envs


def expected(envs: list[envelope.Envelope]) -> tuple[Deriver, int]:
    deriver = Deriver(CLUSTER)
    changes = 0
    for i, env in enumerate(envs):
        changes += len(deriver.apply(env, source=graph.Source("bench", 0, i)).changes)
    return deriver, changes


async def run(stack: stacks.Stack, pods: int) -> tuple[stats.Result, Loaded]:
    sim, envs = simulated(pods, time.time())
    probe = stacks.probe_envelope(CLUSTER, 0, now=time.time())
    deriver, _ = expected([probe])
    warm_nodes, warm_edges = (len(x) for x in deriver.snapshot())
    changes = 0
    for i, env in enumerate(envs):
        changes += len(deriver.apply(env, source=graph.Source("bench", 0, i + 1)).changes)
    nodes, edges = (len(x) for x in deriver.snapshot())
    del deriver  # ~20 KB per pod: not kept while the pipeline holds its own copy

    async with publishing.Publisher(
        bootstrap=stack.kafka, topic=stack.topic_resources, client_id="bench"
    ) as publisher:
        await publisher.publish([probe])
        await stack.wait_counts(warm_nodes, warm_edges, limit_s=180)
        alerts_before = await stacks.topic_records(stack.kafka, stack.topic_alerts)
        cpu_before = stack.cpu(broker=True)
        began = time.perf_counter()
        await publisher.publish(envs)
        published = time.perf_counter()
        # As a producer does once every kind is listed: the list's alerts come after it.
        marker = envelope.cluster_synced_marker(cluster=CLUSTER, observed_at=time.time())
        await publisher.publish_marker(marker)
    done = await stack.wait_counts(nodes, edges, limit_s=max(300.0, len(envs) / 200))
    await stack.wait_initial_list(CLUSTER, limit_s=120)
    await asyncio.sleep(0.5)  # sent before the gauge moved; acknowledged a moment later
    seconds = done - began
    # Elements the pipeline made and deleted again during the sync: placeholders replaced
    # by the objects they stood for, and their edges (work that deriving in kind order
    # avoids; the deleted ones stay in the dead sets while their history is kept).
    deleted_nodes, deleted_edges = await stack.deleted()
    # Alerts the sync raised: a healthy simulated cluster has no DOWN object once listed,
    # so each would be a transient one (a "Missing" placeholder until its object came);
    # the processor raises the list's alerts at the marker, from the graph as it stands.
    alerts = await stacks.topic_records(stack.kafka, stack.topic_alerts) - alerts_before
    cpu_done = stack.cpu(broker=True)
    cpu = {name: round(used - cpu_before.get(name, 0.0), 2) for name, used in cpu_done.items()}
    # Nobody streams during the sync: the gateway followed the feed without reading the
    # versions (docs/api.md, "Deferred versions") and reads them once it is quiet. What
    # that costs after the sync, measured apart (the next scenario starts after it).
    deferred = await stack.gateway_deferred()
    read_at = await stack.wait_gateway_read(limit_s=600)
    gateway_after = stack.cpu().get("gateway", 0.0) - cpu_done.get("gateway", 0.0)
    result: stats.Result = {
        "scenario": "sync",
        "pods": pods,
        "objects": len(envs),
        "nodes": nodes,
        "edges": edges,
        "changes": changes,
        "deleted_nodes": deleted_nodes,
        "deleted_edges": deleted_edges,
        "alerts": alerts,
        "seconds": round(seconds, 2),
        "events_per_s": stats.rate(len(envs), seconds),
        "changes_per_s": stats.rate(changes, seconds),
        "publish_seconds": round(published - began, 2),
        "publish_events_per_s": stats.rate(len(envs), published - began),
        "mean_envelope_bytes": round(sum(len(e.to_json()) for e in envs) / len(envs)),
        # CPU seconds each stage used during the sync: on 2 cores, what bounds the rate.
        **{f"cpu_s_{name}": used for name, used in cpu.items()},
        # The pipeline's own stages (the broker, ``cpu_s_kafka``, is not one of them).
        "cpu_s_pipeline": round(sum(v for name, v in cpu.items() if name != "kafka"), 2),
        "gateway_deferred_at_done": deferred,
        "gateway_read_seconds_after": round(read_at - done, 2),
        "cpu_s_gateway_reading_after": round(gateway_after, 2),
    }
    return result, Loaded(sim, envs, nodes, edges, changes, time.time())
