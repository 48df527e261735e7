"""Scenario ``fanout``: many concurrent SSE subscribers, delivery latency of each change.

Flows in: a loaded stack, the number of subscribers (loopback connections from this
process), how long to publish probes and how often.
Flows out: how many subscribers connected, p50/p99/max latency from just before a probe
change is handed to the Kafka producer to its arrival at *each* subscriber, and the
share of (probe, subscriber) deliveries that arrived. To tell the pipeline from the
fan-out: the latency to the *first* subscriber a probe reached (pipeline + hub + one
write), the spread of each delivery after that first one (the fan-out itself), and the
gateway's CPU seconds while the probes ran. Bounded: the subscribers are cancelled when
the probes are done; nothing is left running.
"""

from __future__ import annotations

import asyncio
import time

from bench.scenarios import selfcheck, sse, stats
from bench.scenarios import stack as stacks
from bench.scenarios.churn import PROBE_FILTER
from bench.scenarios.sync import CLUSTER
from producers import publishing
from topolog import stopping

CONNECT_BATCH = 50


async def run(
    stack: stacks.Stack,
    *,
    subscribers: int,
    seconds: float,
    probes_per_s: float = 2.0,
    first_seq: int,
) -> tuple[stats.Result, int]:
    sent: dict[int, float] = {}
    latencies: list[float] = []
    #: Per probe, every arrival time (one per subscriber).
    arrivals: dict[int, list[float]] = {}
    synced = 0

    def on_event(name: str, data: bytes, at: float) -> None:
        nonlocal synced
        if name == "Sync":
            synced += 1
            return
        seq = sse.probe_seq(data)
        if seq is not None and seq in sent and name.startswith("Node"):
            latencies.append(at - sent[seq])
            arrivals.setdefault(seq, []).append(at)

    path = sse.stream_path(PROBE_FILTER)
    drain_s = await _drained(stack, first_seq)
    first_seq += 1
    tasks: list[asyncio.Task[None]] = []
    connect_began = time.perf_counter()
    for i in range(0, subscribers, CONNECT_BATCH):
        for _ in range(min(CONNECT_BATCH, subscribers - i)):
            tasks.append(
                asyncio.create_task(sse.subscribe("127.0.0.1", stack.gateway_port, path, on_event))
            )
        await asyncio.sleep(0.05)
    deadline = time.monotonic() + 120
    while synced < subscribers and time.monotonic() < deadline:
        if all(t.done() for t in tasks):
            break
        await asyncio.sleep(0.2)
    connected = synced
    connect_s = time.perf_counter() - connect_began
    seq = first_seq
    cpu_before = stack.cpu().get("gateway", 0.0)
    check = selfcheck.SelfCheck()
    try:
        async with check:  # while probes are published and delivered
            async with publishing.Publisher(
                bootstrap=stack.kafka,
                topic=stack.topic_resources,
                client_id="bench-fanout",
                linger_ms=0,
            ) as publisher:
                began = time.perf_counter()
                while time.perf_counter() - began < seconds:
                    sent[seq] = time.perf_counter()
                    await publisher.submit(stacks.probe_envelope(CLUSTER, seq, now=time.time()))
                    seq += 1
                    await asyncio.sleep(1 / probes_per_s)
            await asyncio.sleep(5.0)
        cpu_gateway = stack.cpu().get("gateway", 0.0) - cpu_before
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            await stopping.cancel_and_wait(task)
    failed = sum(1 for t in tasks if t.done() and not t.cancelled() and t.exception())
    wanted = (seq - first_seq) * connected
    first = [min(times) - sent[s] for s, times in arrivals.items()]
    spread = [t - min(times) for times in arrivals.values() for t in times]
    return {
        "scenario": "fanout",
        "subscribers": subscribers,
        "connected": connected,
        "backlog_drain_seconds": round(drain_s, 2),
        "connect_seconds": round(connect_s, 2),
        "failed_streams": failed,
        "probes": seq - first_seq,
        "delivered_share": stats.ratio(len(latencies), wanted),
        **stats.latency_ms(latencies, "delivery"),
        **stats.latency_ms(first, "first_delivery"),
        **stats.latency_ms(spread, "fanout_spread"),
        "cpu_s_gateway": round(cpu_gateway, 2),
        # The harness reads every stream: a late loop delays every delivery it stamps.
        **check.result(),
    }, seq


async def _drained(stack: stacks.Stack, seq: int) -> float:
    """Wait until one probe goes through (the backlog of earlier scenarios is gone)."""
    arrived = asyncio.Event()

    def on_event(name: str, data: bytes, at: float) -> None:
        if sse.probe_seq(data) == seq:
            arrived.set()

    began = time.perf_counter()
    watcher = asyncio.create_task(
        sse.subscribe("127.0.0.1", stack.gateway_port, sse.stream_path(PROBE_FILTER), on_event)
    )
    try:
        await asyncio.sleep(1.0)
        async with publishing.Publisher(
            bootstrap=stack.kafka, topic=stack.topic_resources, client_id="bench-drain"
        ) as publisher:
            await publisher.publish([stacks.probe_envelope(CLUSTER, seq, now=time.time())])
        await asyncio.wait_for(arrived.wait(), timeout=300)
    finally:
        await stopping.cancel_and_wait(watcher)
    return time.perf_counter() - began
