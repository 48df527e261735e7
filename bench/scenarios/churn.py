"""Scenario ``churn``: steady changes at a given rate; publish → SSE delivery latency.

Flows in: a loaded stack (``sync.Loaded``), the churn rate (envelopes/s) and duration.
Flows out: p50/p99/max latency from just before a probe object's change is handed to the
Kafka producer to its arrival at an SSE subscriber of the gateway, measured while the
simulator's churn (rolling updates, crash loops, relabels, replacements) runs at the
given rate; the rate achieved; how long the pipeline took to deliver the last probe
after publishing stopped (its backlog); probes that never arrived.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

from bench.scenarios import selfcheck, sse, stages, stats
from bench.scenarios import stack as stacks
from bench.scenarios.sync import CLUSTER, Loaded
from producers import publishing, simulation
from topolog import stopping
from topolog.core import envelope

PROBE_FILTER = "G.V().Has('K8s.Labels.bench', 'probe')"
TICK_S = 0.05
#: Longest wait for the last probes after publishing stops.
DRAIN_S = 120.0
#: Longest wait for the stream's Sync before the churn starts.
SYNC_LIMIT_S = 300.0


async def run(
    stack: stacks.Stack,
    loaded: Loaded,
    *,
    rate: float,
    seconds: float,
    probes_per_s: float = 10.0,
    first_seq: int = 1,
) -> tuple[stats.Result, int]:
    """Returns the figures and the next free probe sequence number."""
    sent: dict[int, float] = {}
    latencies: list[float] = []
    # Wall-clock times (Kafka's record timestamps are wall clock) for the hop breakdown.
    wall = time.time() - time.perf_counter()
    published: dict[int, float] = {}
    arrived: dict[int, float] = {}
    all_in = asyncio.Event()
    synced = asyncio.Event()
    publishing_done = False

    def on_event(name: str, data: bytes, at: float) -> None:
        if name == "Sync":
            synced.set()
        seq = sse.probe_seq(data)
        if seq is not None and seq in sent and name.startswith("Node"):
            latencies.append(at - sent.pop(seq))
            arrived[seq] = at + wall
            if publishing_done and not sent:
                all_in.set()

    subscriber = asyncio.create_task(
        sse.subscribe("127.0.0.1", stack.gateway_port, sse.stream_path(PROBE_FILTER), on_event)
    )
    # Probes published before the stream's Sync would be in the Sync, not events: wait
    # for it (a gateway whose hub was parked loads the graph first).
    connecting = time.perf_counter()
    await asyncio.wait_for(synced.wait(), SYNC_LIMIT_S)
    first_sync_s = time.perf_counter() - connecting
    # The churn is generated before the clock starts: this process shares the two cores
    # with the pipeline, and the simulator is not what is measured.
    wanted = int(rate * seconds)
    backlog: list[envelope.Envelope] = []
    step = 0
    while len(backlog) < wanted:
        t = time.time() + step * 0.1
        backlog += [simulation.to_envelope(e, cluster=CLUSTER, now=t) for e in loaded.sim.churn(t)]
        step += 1
    del backlog[wanted:]
    seq = first_seq
    churned = 0
    assert stack.redis is not None
    async with (
        selfcheck.SelfCheck() as check,
        stages.feed_watched(stack.redis, stack.keys.feed) as feed,
        publishing.Publisher(
            bootstrap=stack.kafka, topic=stack.topic_resources, client_id="bench-churn", linger_ms=0
        ) as publisher,
    ):
        cpu_before = stack.cpu()
        began = time.perf_counter()
        next_probe = began
        tick = 0
        while (now := time.perf_counter()) - began < seconds and churned < wanted:
            due = min(int((now - began + TICK_S) * rate), wanted)
            for env in backlog[churned:due]:
                await publisher.submit(env)
            churned = max(churned, due)
            while now >= next_probe:
                sent[seq] = time.perf_counter()
                published[seq] = sent[seq] + wall
                await publisher.submit(stacks.probe_envelope(CLUSTER, seq, now=time.time()))
                seq += 1
                next_probe += 1 / probes_per_s
            tick += 1
            await asyncio.sleep(max(0.0, began + tick * TICK_S - time.perf_counter()))
        elapsed = time.perf_counter() - began
        stopped = time.perf_counter()
        publishing_done = True
        if not sent:
            all_in.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(all_in.wait(), DRAIN_S)  # the backlog, if any, drains
        drained = time.perf_counter() - stopped
    # CPU per stage per second of churn (publishing + drain): a stage near 1.0 is saturated.
    busy_s = elapsed + drained
    cpu = {name: used - cpu_before.get(name, 0.0) for name, used in stack.cpu().items()}
    await stopping.cancel_and_wait(subscriber)
    since = began + wall - 1.0
    routed = await stages.topic_stamps(stack.kafka, stack.topic_clusters, since)
    derived = await stages.topic_stamps(stack.kafka, stack.topic_graph, since)
    per_hop = stages.hops(CLUSTER, published, arrived, routed, derived, feed)
    result: stats.Result = {
        "scenario": "churn",
        "target_rate": rate,
        "churn_events": churned,
        "achieved_rate": stats.rate(churned, elapsed),
        "probes": seq - first_seq,
        "probes_lost": len(sent),
        "drain_seconds": round(drained, 2),
        "first_sync_seconds": round(first_sync_s, 2),
        **stats.latency_ms(latencies, "latency"),
        **stages.summary(per_hop),
        **{f"cores_{name}": round(used / busy_s, 2) for name, used in cpu.items()},
        **check.result(),
    }
    return result, seq
