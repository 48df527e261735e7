"""The fault types of a chaos run, and how each is injected and healed.

Flows in: a ``Target`` (the run's platform state, its stages, its environment).
Flows out: the fault done and undone — every ``inject`` returns once the broken part
runs again (the pipeline may still be catching up: the run measures that).

Each fault is what operators meet in production: a process killed without warning
(OOM kill, node loss: SIGKILL, no flush, no offset commit), a broker or Redis restart,
a projection lost and rebuilt from Kafka, an apiserver restart, and a producer that was
away while etcd compacted its history (its watch resumes from a resourceVersion that no
longer exists: 410 Gone, relist, reconcile).
"""

from __future__ import annotations

import asyncio
import enum
import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass

import httpx
import redis.asyncio as aioredis

from store import dump
from store.keys import Keys
from topolog.chaos.stages import Stages
from topolog.platform import kafka, kube, redis
from topolog.platform.state import PlatformState


class Fault(enum.StrEnum):
    KILL_PRODUCER = "kill-producer"
    KILL_PROCESSOR = "kill-processor"
    KILL_PROJECTOR = "kill-projector"
    KILL_GATEWAY = "kill-gateway"
    RESTART_KAFKA = "restart-kafka"
    RESTART_REDIS = "restart-redis"
    FLUSH_REDIS = "flush-redis"
    REBUILD_REDIS = "rebuild-redis"
    RESTART_APISERVER = "restart-apiserver"
    COMPACT_ETCD = "compact-etcd"


#: The order faults are cycled through: N faults cover every type once N >= len(CYCLE).
CYCLE: tuple[Fault, ...] = tuple(Fault)

_KILLS = {
    Fault.KILL_PRODUCER: "producer",
    Fault.KILL_PROCESSOR: "processor",
    Fault.KILL_PROJECTOR: "projector",
    Fault.KILL_GATEWAY: "gateway",
}


@dataclass(slots=True)
class Target:
    platform: PlatformState
    stages: Stages
    env: Mapping[str, str]
    prefix: str
    #: Seconds the producer stays frozen while the cluster changes and etcd compacts.
    outage_s: float = 3.0


def plan(count: int) -> list[Fault]:
    return [CYCLE[i % len(CYCLE)] for i in range(count)]


async def inject(fault: Fault, target: Target) -> None:
    stages = target.stages
    st = target.platform
    if fault in _KILLS:
        await asyncio.to_thread(stages.restart, _KILLS[fault])
    elif fault is Fault.RESTART_KAFKA:
        await asyncio.to_thread(kafka.process(st).kill)
        await asyncio.to_thread(kafka.start, st)
    elif fault is Fault.RESTART_REDIS:
        # SIGTERM: Redis writes its append-only file before exiting (see docs/reliability.md
        # for why a SIGKILL of Redis is not in the model).
        await asyncio.to_thread(redis.process(st).stop)
        await asyncio.to_thread(redis.start, st)
    elif fault is Fault.FLUSH_REDIS:
        # The projection is lost; the projector, restarted, finds no high-water marks and
        # replays the graph topic from its beginning.
        stages.paused.add("projector")
        try:
            await asyncio.to_thread(stages.kill, "projector")
            client = aioredis.Redis.from_url(st.endpoints.redis)
            try:
                await dump.drop(client, Keys(target.prefix))
            finally:
                await client.aclose()
            await asyncio.to_thread(stages.start, "projector")
        finally:
            stages.paused.discard("projector")
    elif fault is Fault.REBUILD_REDIS:
        stages.paused.add("projector")
        try:
            await asyncio.to_thread(stages.kill, "projector")
            await asyncio.to_thread(_rebuild, target.env)
            await asyncio.to_thread(stages.start, "projector")
        finally:
            stages.paused.discard("projector")
    elif fault is Fault.RESTART_APISERVER:
        await asyncio.to_thread(_restart_apiserver, st)
    elif fault is Fault.COMPACT_ETCD:
        stages.paused.add("producer")
        stages.freeze("producer")
        try:
            await asyncio.sleep(target.outage_s)  # the cluster keeps changing meanwhile
            await compact_etcd(st.endpoints.etcd)
            # A fresh apiserver's watch cache starts at etcd's current revision, so the
            # producer's resumed watches ask for a compacted resourceVersion: 410 Gone.
            await asyncio.to_thread(_restart_apiserver, st)
        finally:
            stages.thaw("producer")
            stages.paused.discard("producer")
    else:  # pragma: no cover - every member is handled above
        raise AssertionError(fault)


def _restart_apiserver(st: PlatformState) -> None:
    kube.processes(st)["kube-apiserver"].kill()
    kube.start(st)


def _rebuild(env: Mapping[str, str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "topolog.cli.main", "rebuild"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"topolog rebuild failed: {result.stderr[-2000:]}")


async def compact_etcd(endpoint: str) -> int:
    """Compact etcd's whole history up to its current revision; returns that revision."""
    async with httpx.AsyncClient(timeout=30) as client:
        status = await client.post(f"{endpoint}/v3/maintenance/status", json={})
        status.raise_for_status()
        revision = int(status.json()["header"]["revision"])
        done = await client.post(
            f"{endpoint}/v3/kv/compaction", json={"revision": revision, "physical": True}
        )
        done.raise_for_status()
    return revision
