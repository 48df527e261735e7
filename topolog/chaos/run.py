"""A chaos run: platform, pipeline, churn, N faults, then the checks.

Flows in: ``Options`` (fault count, pace, simulator size, where the run's own platform
lives).
Flows out: a ``Report`` — faults by type, the time each took to converge, and the lost /
duplicated / wrong elements found by ``verify`` (all must be 0) — as ``--json`` prints it.

Isolation: the run starts a local platform (Kafka, Redis, control plane) in a state
directory of its own, and its own topics, consumer groups and Redis prefix in it, because
it restarts the broker, Redis and the apiserver. Everything listens on loopback.

Convergence after a fault: once ``faults.inject`` returns (the broken part runs again),
the probe ConfigMap's label is set to the fault's number in the control plane; the time
until the gateway answers a query for that label is the fault's convergence time — the
whole path apiserver → producer → Kafka → processor → projector → Redis → gateway.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import socket
import statistics
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx
import redis.asyncio as aioredis

from processors import folding
from producers import topics
from store.config import DAY_MS
from store.keys import Keys
from topolog.chaos import faults, load, verify
from topolog.chaos.stages import Stages
from topolog.chaos.watcher import Watcher
from topolog.core import simulate
from topolog.platform import local
from topolog.platform.state import PlatformState
from topolog.settings import Settings

log = logging.getLogger(__name__)

SIM_CLUSTER = "chaos-sim"
CLUSTER = "chaos"


@dataclass(frozen=True, slots=True)
class Options:
    faults: int
    state_dir: Path
    #: Seconds of undisturbed churn between a fault's convergence and the next fault.
    interval: float = 1.0
    pods: int = 60
    seed: int = 1
    converge_timeout: float = 180.0
    settle_timeout: float = 180.0
    keep_platform: bool = False


@dataclass(slots=True)
class FaultResult:
    fault: str
    inject_s: float
    converge_s: float | None


@dataclass(slots=True)
class Report:
    faults: int
    lost: int = 0
    duplicated: int = 0
    wrong: int = 0
    converge_p99_s: float | None = None
    converge_median_s: float | None = None
    converge_max_s: float | None = None
    unconverged: int = 0
    by_fault: dict[str, list[float | None]] = field(default_factory=dict)
    checks: dict[str, Any] = field(default_factory=dict)
    sse: dict[str, Any] = field(default_factory=dict)
    load: dict[str, int] = field(default_factory=dict)
    crash_restarts: dict[str, int] = field(default_factory=dict)
    relists_410: int = 0
    duration_s: float = 0.0

    def summary(self) -> dict[str, Any]:
        return {
            "faults": self.faults,
            "lost": self.lost,
            "duplicated": self.duplicated,
            "wrong": self.wrong,
            "converge_p99_s": self.converge_p99_s,
            "converge_median_s": self.converge_median_s,
            "converge_max_s": self.converge_max_s,
            "unconverged": self.unconverged,
            "by_fault": self.by_fault,
            "checks": self.checks,
            "sse": self.sse,
            "load": self.load,
            "crash_restarts": self.crash_restarts,
            "relists_410": self.relists_410,
            "duration_s": round(self.duration_s, 1),
        }


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def environment(st: PlatformState, run_id: str) -> dict[str, str]:
    eps = st.endpoints
    return {
        "TOPOLOG_STATE_DIR": str(st.state_dir),
        "TOPOLOG_KAFKA_BOOTSTRAP": eps.kafka,
        "TOPOLOG_REDIS_URL": eps.redis,
        "TOPOLOG_KUBECONFIG": eps.kubeconfig,
        "TOPOLOG_CLUSTER_NAME": CLUSTER,
        "TOPOLOG_TOPIC_RESOURCES": f"chaos-{run_id}.resources",
        "TOPOLOG_TOPIC_GRAPH": f"chaos-{run_id}.graph",
        "TOPOLOG_TOPIC_ALERTS": f"chaos-{run_id}.alerts",
        "TOPOLOG_TOPIC_DEADLETTER": f"chaos-{run_id}.deadletter",
        "TOPOLOG_PROCESSOR_APP_ID": f"chaos-{run_id}",
        "TOPOLOG_STORE_GROUP_ID": f"chaos-{run_id}-projector",
        "TOPOLOG_STORE_PREFIX": f"chaos-{run_id}:",
    }


def _settings(env: dict[str, str]) -> Settings:
    return Settings(
        kafka_bootstrap=env["TOPOLOG_KAFKA_BOOTSTRAP"],
        cluster_name=SIM_CLUSTER,
        topic_resources=env["TOPOLOG_TOPIC_RESOURCES"],
        topic_graph=env["TOPOLOG_TOPIC_GRAPH"],
        topic_alerts=env["TOPOLOG_TOPIC_ALERTS"],
        topic_deadletter=env["TOPOLOG_TOPIC_DEADLETTER"],
    )


async def create_topics(settings: Settings, bootstrap: str) -> None:
    """The run's topics; the graph topic has one partition so a rebuild's revisions (and
    hence SSE ids) equal the live ones exactly (see docs/redis-layout.md, Rebuild)."""
    specs = [
        replace(spec, partitions=1) if spec.name == settings.topic_graph else spec
        for spec in topics.specs(settings)
    ]
    await topics.ensure(bootstrap, specs)


def probe_query(value: str) -> str:
    return (
        f"G.V().Has('Type', 'configmap', 'Name', '{load.PROBE}', "
        f"'K8s.Labels.{load.PROBE_LABEL}', '{value}')"
    )


async def wait_probe(url: str, value: str, *, within: float) -> bool:
    deadline = time.monotonic() + within
    body = {"GremlinQuery": probe_query(value)}
    async with httpx.AsyncClient(timeout=5) as client:
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError, ValueError):
                resp = await client.post(f"{url}/api/topology", json=body)
                if resp.status_code == 200 and len(resp.json()) == 1:
                    return True
            await asyncio.sleep(0.2)
    return False


async def bump_probe(kubeconfig: Path, value: str, *, within: float) -> None:
    deadline = time.monotonic() + within
    while True:
        try:
            await load.bump_probe(kubeconfig, value)
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.5)


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.99 * len(ordered)) - 1)]


async def run(options: Options, *, say: Callable[[str], None] = lambda _: None) -> Report:
    began = time.monotonic()
    state_dir = options.state_dir.resolve()
    say(f"starting the run's platform in {state_dir}")
    st = await asyncio.to_thread(local.up, directory=state_dir)
    try:
        return await _run(options, st, say=say, began=began)
    finally:
        if not options.keep_platform:
            say("stopping the run's platform")
            await asyncio.to_thread(local.down, directory=state_dir)


async def _run(
    options: Options, st: PlatformState, *, say: Callable[[str], None], began: float
) -> Report:
    run_id = uuid.uuid4().hex[:8]
    env = environment(st, run_id)
    settings = _settings(env)
    bootstrap = st.endpoints.kafka
    kubeconfig = Path(st.endpoints.kubeconfig)
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    stages = Stages(st.run_dir / f"chaos-{run_id}", env, port)
    target = faults.Target(st, stages, env, env["TOPOLOG_STORE_PREFIX"])
    report = Report(faults=options.faults)

    await create_topics(settings, bootstrap)
    sim = simulate.Simulator(seed=options.seed, pods=options.pods, now=time.time())
    sim_load = load.SimLoad(sim, bootstrap, settings.topic_resources, SIM_CLUSTER)
    cluster_load = load.ClusterLoad(kubeconfig, seed=options.seed)
    initial = await sim_load.initial()
    await cluster_load.setup()
    say(f"run {run_id}: {initial} simulated objects published; starting the pipeline")
    stages.start_all()
    lock = asyncio.Lock()
    watcher = Watcher(url)
    tasks: list[asyncio.Task[None]] = []
    try:
        await bump_probe(kubeconfig, f"{run_id}-0", within=60)
        if not await wait_probe(url, f"{run_id}-0", within=240):
            raise RuntimeError("the pipeline never showed the probe:\n" + _tails(stages))
        say(f"pipeline up (gateway {url})")

        async def supervise() -> None:
            while True:
                async with lock:
                    restarted = await asyncio.to_thread(stages.supervise)
                for stage in restarted:
                    say(f"  {stage} had exited; restarted")
                await asyncio.sleep(0.5)

        tasks = [
            asyncio.create_task(sim_load.run(), name="sim-load"),
            asyncio.create_task(cluster_load.run(), name="cluster-load"),
            asyncio.create_task(watcher.run(), name="sse-watcher"),
            asyncio.create_task(supervise(), name="supervisor"),
        ]
        for number, fault in enumerate(faults.plan(options.faults), start=1):
            await asyncio.sleep(options.interval)
            started = time.monotonic()
            async with lock:
                await faults.inject(fault, target)
            healed = time.monotonic()
            probe = f"{run_id}-{number}"
            await bump_probe(kubeconfig, probe, within=options.converge_timeout)
            ok = await wait_probe(url, probe, within=options.converge_timeout)
            converged = round(time.monotonic() - healed, 2) if ok else None
            report.by_fault.setdefault(fault.value, []).append(converged)
            say(
                f"fault {number}/{options.faults} {fault.value}: injected in "
                f"{healed - started:.1f}s, converged "
                + (f"in {converged:.1f}s" if converged is not None else "NEVER")
            )
            if converged is None:
                say(_tails(stages))
        say("faults done; stopping the churn and checking")
        for task in tasks[:2]:
            task.cancel()
        await asyncio.gather(*tasks[:2], return_exceptions=True)
        await _check(report, options, st, env, settings, sim, watcher, say=say)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await asyncio.to_thread(stages.stop_all)
    times = [t for ts in report.by_fault.values() for t in ts if t is not None]
    report.unconverged = sum(t is None for ts in report.by_fault.values() for t in ts)
    if times:
        report.converge_p99_s = p99(times)
        report.converge_median_s = round(statistics.median(times), 2)
        report.converge_max_s = max(times)
    report.load = {
        "sim_steps": sim_load.steps,
        "sim_retries": sim_load.retries,
        "cluster_steps": cluster_load.steps,
        "cluster_skipped": cluster_load.skipped,
    }
    report.crash_restarts = dict(stages.crash_restarts)
    with contextlib.suppress(OSError):
        text = stages.process("producer").log_file.read_text(errors="replace")
        report.relists_410 = text.count("expired, relisting")
    report.duration_s = time.monotonic() - began
    return report


async def _check(
    report: Report,
    options: Options,
    st: PlatformState,
    env: dict[str, str],
    settings: Settings,
    sim: simulate.Simulator,
    watcher: Watcher,
    *,
    say: Callable[[str], None],
) -> None:
    """Poll the checks until they all pass or ``settle_timeout`` ends; then the history."""
    bootstrap = st.endpoints.kafka
    keys = Keys(env["TOPOLOG_STORE_PREFIX"])
    client = aioredis.Redis.from_url(st.endpoints.redis)
    sim_objects: dict[str, list[dict[str, Any]]] = {}
    for obj in sim.objects.values():
        sim_objects.setdefault(obj["kind"], []).append(obj)
    deadline = time.monotonic() + options.settle_timeout
    reference: folding.Graph | None = None
    seen_records = -1
    try:
        while True:
            records = await verify.read_topic(bootstrap, settings.topic_resources)
            events = verify.envelopes(records)
            listed = await verify.list_cluster(Path(st.endpoints.kubeconfig))
            diffs = {
                "log": verify.log_vs_objects(
                    events, cluster=CLUSTER, listed=listed, count_repeats=True
                ),
                "sim_log": verify.log_vs_objects(
                    events, cluster=SIM_CLUSTER, listed=sim_objects, count_repeats=False
                ),
            }
            if len(records) != seen_records or reference is None:
                reference = await asyncio.to_thread(verify.reference_graph, records)
                seen_records = len(records)
            nodes, edges = await verify.redis_graph(client, keys)
            diffs["graph"] = verify.graph_vs_reference(reference, nodes, edges)
            diffs["sse"] = verify.sse_vs_redis(watcher.nodes, watcher.edges, nodes, edges)
            pending = {name: d.total for name, d in diffs.items() if d.total}
            if not pending or time.monotonic() > deadline:
                break
            say(f"  not settled yet: {pending}")
            await asyncio.sleep(3)
        diffs["history"] = await verify.history_vs_log(
            client,
            keys,
            Keys(f"chaosref-{keys.prefix}"),
            bootstrap=bootstrap,
            topic=settings.topic_graph,
            window_ms=DAY_MS,
            now=int(time.time() * 1000),
        )
    finally:
        await client.aclose()
    report.checks = {name: d.as_dict() for name, d in diffs.items()}
    report.checks["records"] = {"resources": len(records), "nodes": len(nodes), "edges": len(edges)}
    report.sse = {
        "events": watcher.events,
        "connections": watcher.connections,
        "gaps": watcher.gaps,
        "duplicates": watcher.duplicates,
        "resyncs": watcher.resyncs,
        "waits": watcher.waits,
        "problems": watcher.problems[:10],
    }
    report.lost = sum(d.lost for d in diffs.values()) + watcher.gaps + watcher.resyncs
    report.duplicated = sum(d.duplicated for d in diffs.values()) + watcher.duplicates
    report.wrong = sum(d.wrong for d in diffs.values())


def _tails(stages: Stages) -> str:
    return "\n".join(
        f"--- {stage} ---\n{stages.log_tail(stage, 15)}"
        for stage in ("producer", "processor", "projector", "gateway")
    )
