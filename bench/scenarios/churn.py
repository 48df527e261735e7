"""Scenario ``churn``: steady changes at a given rate; publish → SSE delivery latency.

Flows in: a loaded stack (``sync.Loaded``), the churn rate (envelopes/s), the duration
of the measured window and of the warm-up before it.
Flows out: p50/p99/max latency from just before a probe object's change is handed to the
Kafka producer to its arrival at an SSE subscriber of the gateway, measured while the
simulator's churn (rolling updates, crash loops, relabels, replacements) runs at the
given rate; the rate achieved; how long the pipeline took to deliver the last probe
after publishing stopped (its backlog); probes that never arrived; the same latencies
during the warm-up (``warmup_latency_*``), and the CPU of each stage and of the broker.

Warm-up: the measured window follows ``warmup`` seconds of the same churn (and probes),
and starts once the warm-up's probes have all arrived. A freshly started Kafka broker
is a JVM that has not compiled its request paths yet: at 1,000 envelopes/s (thousands
of small produce and fetch requests a second) it used 0.34-0.59 of a core in the first
minute after ``topolog dev up``, 0.11-0.16 two minutes later, and the processor, short
of CPU, fell seconds behind (docs/benchmarks.md, session 9). The figure the issue asks
for is the steady state; the warm-up's figures are reported beside it, not hidden.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field

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
#: Seconds of the same churn before the measured window (module doc).
WARMUP_S = 30.0


@dataclass
class _Window:
    """The probes of one phase (warm-up or measured): when each was sent and arrived."""

    #: perf_counter time of each probe sent and not arrived yet.
    sent: dict[int, float] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    #: Wall-clock times (Kafka's record timestamps are wall clock) for the hops.
    published: dict[int, float] = field(default_factory=dict)
    arrived: dict[int, float] = field(default_factory=dict)
    publishing_done: bool = False
    all_in: asyncio.Event = field(default_factory=asyncio.Event)

    def arrive(self, seq: int, at: float, wall: float) -> None:
        self.latencies.append(at - self.sent.pop(seq))
        self.arrived[seq] = at + wall
        if self.publishing_done and not self.sent:
            self.all_in.set()

    def done_publishing(self) -> None:
        self.publishing_done = True
        if not self.sent:
            self.all_in.set()

    async def drained(self) -> float:
        """Seconds until every probe arrived (at most ``DRAIN_S``)."""
        stopped = time.perf_counter()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.all_in.wait(), DRAIN_S)
        return time.perf_counter() - stopped


def churn_envelopes(loaded: Loaded, wanted: int) -> list[envelope.Envelope]:
    """``wanted`` envelopes of the simulator's churn, stamped from now on."""
    backlog: list[envelope.Envelope] = []
    step = 0
    while len(backlog) < wanted:
        t = time.time() + step * 0.1
        backlog += [simulation.to_envelope(e, cluster=CLUSTER, now=t) for e in loaded.sim.churn(t)]
        step += 1
    del backlog[wanted:]
    return backlog


async def run(
    stack: stacks.Stack,
    loaded: Loaded,
    *,
    rate: float,
    seconds: float,
    warmup: float = WARMUP_S,
    probes_per_s: float = 10.0,
    first_seq: int = 1,
) -> tuple[stats.Result, int]:
    """Returns the figures and the next free probe sequence number."""
    wall = time.time() - time.perf_counter()
    synced = asyncio.Event()
    windows: list[_Window] = []

    def on_event(name: str, data: bytes, at: float) -> None:
        if name == "Sync":
            synced.set()
        seq = sse.probe_seq(data)
        if seq is None or not name.startswith("Node"):
            return
        for window in windows:
            if seq in window.sent:
                window.arrive(seq, at, wall)

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
    warm_wanted, wanted = int(rate * warmup), int(rate * seconds)
    backlog = churn_envelopes(loaded, warm_wanted + wanted)
    seq = first_seq
    assert stack.redis is not None
    async with publishing.Publisher(
        bootstrap=stack.kafka, topic=stack.topic_resources, client_id="bench-churn", linger_ms=0
    ) as publisher:

        async def publish(
            window: _Window, churn: list[envelope.Envelope], limit_s: float
        ) -> tuple[float, int]:
            """Publish ``churn`` at ``rate`` with probes: the seconds it took, envelopes sent."""
            nonlocal seq
            churned = 0
            began = time.perf_counter()
            next_probe = began
            tick = 0
            while (now := time.perf_counter()) - began < limit_s and churned < len(churn):
                due = min(int((now - began + TICK_S) * rate), len(churn))
                for env in churn[churned:due]:
                    await publisher.submit(env)
                churned = max(churned, due)
                while now >= next_probe:
                    window.sent[seq] = time.perf_counter()
                    window.published[seq] = window.sent[seq] + wall
                    await publisher.submit(stacks.probe_envelope(CLUSTER, seq, now=time.time()))
                    seq += 1
                    next_probe += 1 / probes_per_s
                tick += 1
                await asyncio.sleep(max(0.0, began + tick * TICK_S - time.perf_counter()))
            window.done_publishing()
            return time.perf_counter() - began, churned

        warm = _Window()
        windows.append(warm)
        warm_cpu = stack.cpu(broker=True)
        warm_elapsed, warm_drained, warm_churned = 0.0, 0.0, 0
        if warm_wanted:
            warm_elapsed, warm_churned = await publish(warm, backlog[:warm_wanted], warmup)
            warm_drained = await warm.drained()
        warm_cores = _cores(warm_cpu, stack.cpu(broker=True), warm_elapsed + warm_drained)

        measured = _Window()
        windows.append(measured)
        async with (
            selfcheck.SelfCheck() as check,
            stages.feed_watched(stack.redis, stack.keys.feed) as feed,
        ):
            cpu_before = stack.cpu(broker=True)
            began = time.perf_counter()
            elapsed, churned = await publish(measured, backlog[warm_wanted:], seconds)
            drained = await measured.drained()
            # CPU per stage per second of churn (publishing + drain): near 1.0 is saturated.
            cores = _cores(cpu_before, stack.cpu(broker=True), elapsed + drained)
    await stopping.cancel_and_wait(subscriber)
    since = began + wall - 1.0
    routed = await stages.topic_stamps(stack.kafka, stack.topic_clusters, since)
    derived = await stages.topic_stamps(stack.kafka, stack.topic_graph, since)
    per_hop = stages.hops(CLUSTER, measured.published, measured.arrived, routed, derived, feed)
    result: stats.Result = {
        "scenario": "churn",
        "target_rate": rate,
        "churn_events": churned,
        "achieved_rate": stats.rate(churned, elapsed),
        "probes": len(measured.published),
        "probes_lost": len(measured.sent),
        "drain_seconds": round(drained, 2),
        "first_sync_seconds": round(first_sync_s, 2),
        **stats.latency_ms(measured.latencies, "latency"),
        **stages.summary(per_hop),
        **{f"cores_{name}": used for name, used in cores.items()},
        **check.result(),
        "warmup_seconds": round(warm_elapsed, 2),
        "warmup_churn_events": warm_churned,
        "warmup_drain_seconds": round(warm_drained, 2),
        **stats.latency_ms(warm.latencies, "warmup_latency"),
        **{f"warmup_cores_{name}": used for name, used in warm_cores.items()},
    }
    return result, seq


def _cores(before: dict[str, float], after: dict[str, float], seconds: float) -> dict[str, float]:
    """CPU per process between two ``Stack.cpu()`` readings, in cores over ``seconds``."""
    return {
        name: round((used - before.get(name, 0.0)) / seconds, 2) if seconds else 0.0
        for name, used in after.items()
    }
