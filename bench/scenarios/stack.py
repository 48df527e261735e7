"""The pipeline under test: Kafka topics, a Redis of its own, and the stage processes.

Flows in: the local platform's Kafka (``topolog.platform.local``; started when absent),
whether to run a gateway, and extra environment for the stages.
Flows out: a running ``Stack`` — ``topolog processor``, ``topolog projector`` and
``topolog gateway`` as subprocesses (each in a session of its own, logs in ``workdir``)
over fresh topics, a fresh consumer group and a throwaway ``redis-server`` on a free
loopback port (so memory figures and ``redis-benchmark`` touch nobody else's data).
``stop()`` ends exactly the processes it started, by process group; leaving the context
also deletes the run's topics, and its working directory unless the run failed.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import httpx
import redis.asyncio as aioredis
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from prometheus_client.parser import text_string_to_metric_families

from processors import app as processors_app
from producers import simulation
from store.keys import Keys, Kind
from topolog import runner
from topolog.core import envelope, simulate
from topolog.platform import kafka as platform_kafka
from topolog.platform import local
from topolog.platform import state as platform_state
from topolog.settings import Settings


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def kafka_bootstrap() -> str:
    """The local platform's Kafka (``topolog dev up``), started if it is not running."""
    eps = local.endpoints()
    if eps is None:
        local.up(["kafka"])
        eps = local.endpoints()
    assert eps is not None
    return eps.kafka


def broker_pid(bootstrap: str, state_dir: Path | None = None) -> int | None:
    """The pid of the local platform's Kafka broker when ``bootstrap`` is its address."""
    st = platform_state.load(state_dir or local.state_dir())
    if st is None or st.endpoints.kafka != bootstrap:
        return None
    return platform_kafka.process(st).pid()


async def topic_partitions(bootstrap: str, topic: str) -> list[TopicPartition]:
    """The partitions of an existing ``topic``, in order (an admin request: never creates it)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics([topic])
    finally:
        await admin.close()
    return sorted(TopicPartition(topic, p["partition"]) for t in described for p in t["partitions"])


async def topic_records(bootstrap: str, topic: str) -> int:
    """Records written to ``topic`` so far (the sum of its partitions' end offsets)."""
    partitions = await topic_partitions(bootstrap, topic)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        return int(sum((await consumer.end_offsets(partitions)).values()))
    finally:
        await consumer.stop()


async def delete_topics(bootstrap: str, topics: list[str]) -> None:
    """Delete the topics a run created (ignoring those already gone)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        doomed = [t for t in topics if t in existing]
        if doomed:
            await admin.delete_topics(doomed)
    finally:
        await admin.close()


def rss_bytes(pid: int) -> int:
    """Resident set size of a process (``VmRSS``), 0 once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def metric(metrics_text: str, name: str, **labels: str) -> float | None:
    """The value of the sample ``name`` with ``labels`` in a ``/metrics`` text (None: none)."""
    for family in text_string_to_metric_families(metrics_text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return None


def deferred_versions(metrics_text: str) -> int | None:
    """``topolog_gateway_deferred_versions`` from the gateway's ``/metrics`` text."""
    found = metric(metrics_text, "topolog_gateway_deferred_versions")
    return None if found is None else int(found)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Stack:
    """One isolated pipeline: use as ``async with Stack(...) as stack``."""

    #: Run the pipeline stages (False: only the throwaway Redis).
    stages: bool = True
    gateway: bool = True
    env: dict[str, str] = field(default_factory=dict)
    processor_args: tuple[str, ...] = ()
    run: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    kafka: str = ""
    redis_port: int = 0
    gateway_port: int = 0
    processor_port: int = 0
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="topolog-bench-")))
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    redis: aioredis.Redis | None = None

    @property
    def topic_resources(self) -> str:
        return f"bench-{self.run}.resources"

    @property
    def topic_graph(self) -> str:
        return f"bench-{self.run}.graph"

    @property
    def topic_alerts(self) -> str:
        return f"bench-{self.run}.alerts"

    @property
    def topic_clusters(self) -> str:
        """The processor's internal topic of cluster batches (written by its route stage)."""
        return processors_app.cluster_topic(f"bench-{self.run}")

    @property
    def redis_url(self) -> str:
        return f"redis://127.0.0.1:{self.redis_port}/0"

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.gateway_port}"

    @property
    def keys(self) -> Keys:
        return Keys(f"bench-{self.run}:")

    def topics(self) -> list[str]:
        """Every topic of this run (deleted at the end: the platform keeps topics forever)."""
        env = self.stage_env()
        names = ("RESOURCES", "GRAPH", "ALERTS", "DEADLETTER")
        return [env[f"TOPOLOG_TOPIC_{n}"] for n in names] + [
            processors_app.cluster_topic(env["TOPOLOG_PROCESSOR_APP_ID"])
        ]

    def stage_env(self) -> dict[str, str]:
        return {
            "TOPOLOG_KAFKA_BOOTSTRAP": self.kafka,
            "TOPOLOG_REDIS_URL": self.redis_url,
            "TOPOLOG_TOPIC_RESOURCES": self.topic_resources,
            "TOPOLOG_TOPIC_GRAPH": self.topic_graph,
            "TOPOLOG_TOPIC_ALERTS": self.topic_alerts,
            "TOPOLOG_TOPIC_DEADLETTER": f"bench-{self.run}.deadletter",
            "TOPOLOG_PROCESSOR_APP_ID": f"bench-{self.run}",
            "TOPOLOG_STORE_GROUP_ID": f"bench-{self.run}-projector",
            "TOPOLOG_STORE_PREFIX": self.keys.prefix,
            "TOPOLOG_GATEWAY_SSE_MAX_CONNECTIONS": "100000",
            "TOPOLOG_GATEWAY_SSE_PING_S": "60",
            **self.env,
        }

    # -- lifecycle ----------------------------------------------------------------------

    async def __aenter__(self) -> Stack:
        try:
            await self.start()
        except BaseException:
            self.stop()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.redis is not None:
            await self.redis.aclose()
        self.stop()
        if self.stages:
            await delete_topics(self.kafka, self.topics())
        if exc is None:
            shutil.rmtree(self.workdir, ignore_errors=True)  # kept (logs) when it failed

    async def start(self) -> None:
        self.kafka = self.kafka or kafka_bootstrap()
        self.redis_port = free_port()
        self._spawn(
            "redis",
            [
                shutil.which("redis-server") or "/usr/bin/redis-server",
                *("--bind", "127.0.0.1", "--port", str(self.redis_port)),
                *("--save", "", "--appendonly", "no", "--dir", str(self.workdir)),
            ],
        )
        self.redis = aioredis.Redis.from_url(self.redis_url)
        await _eventually(self.redis.ping, what="redis-server", limit_s=20)
        if not self.stages:
            return
        # Every topic exists before any stage subscribes (the projector would otherwise
        # wait for a metadata refresh to see the graph topic the processor creates).
        env = self.stage_env()
        settings = Settings(
            kafka_bootstrap=self.kafka,
            topic_resources=env["TOPOLOG_TOPIC_RESOURCES"],
            topic_graph=env["TOPOLOG_TOPIC_GRAPH"],
            topic_alerts=env["TOPOLOG_TOPIC_ALERTS"],
            topic_deadletter=env["TOPOLOG_TOPIC_DEADLETTER"],
        )
        await processors_app.ensure_topics(
            settings,
            bootstrap=self.kafka,
            options=processors_app.Options(app_id=env["TOPOLOG_PROCESSOR_APP_ID"]),
        )
        self.processor_port = free_port()
        self._spawn(
            "processor",
            runner.topolog_command(
                "processor",
                *("--log-level", "warning", "--metrics-port", str(self.processor_port)),
                *self.processor_args,
            ),
        )
        self._spawn("projector", runner.topolog_command("projector", "--log-level", "WARNING"))
        if self.gateway:
            self.gateway_port = free_port()
            self._spawn(
                "gateway",
                runner.topolog_command(
                    "gateway", "--port", str(self.gateway_port), "--log-level", "warning"
                ),
            )

            async def ready() -> bool:
                async with httpx.AsyncClient(timeout=2) as client:
                    return (await client.get(f"{self.gateway_url}/readyz")).status_code == 200

            await _eventually(ready, what="the gateway", limit_s=120, check=self.check)

    def _spawn(self, name: str, args: list[str]) -> None:
        log = (self.workdir / f"{name}.log").open("wb")
        self.procs[name] = subprocess.Popen(
            args,
            cwd=self.workdir,  # faust keeps its table data under the working directory
            env={**os.environ, **self.stage_env()},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()

    def check(self) -> None:
        """Raise when a stage died (with the tail of its log)."""
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                tail = (self.workdir / f"{name}.log").read_text(errors="replace")[-3000:]
                raise RuntimeError(f"{name} exited with {proc.returncode}:\n{tail}")

    def stop(self) -> None:
        """Stop every process this stack started (idempotent)."""
        for proc in reversed(list(self.procs.values())):
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for proc in self.procs.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        self.procs.clear()

    def cpu(self, *, broker: bool = False) -> dict[str, float]:
        """CPU seconds used so far by each process of the stack (Redis included); with
        ``broker``, also the Kafka broker's (``kafka``) when it is the local platform's
        (a process this machine runs: its share of the two cores is part of the picture)."""
        used = {name: cpu_seconds(p.pid) for name, p in self.procs.items()}
        pid = broker_pid(self.kafka) if broker else None
        if pid is not None:
            used["kafka"] = cpu_seconds(pid)
        return used

    def rss(self) -> dict[str, int]:
        return {name: rss_bytes(p.pid) for name, p in self.procs.items() if name != "redis"}

    # -- the graph in Redis -------------------------------------------------------------

    async def counts(self) -> tuple[int, int]:
        """(alive nodes, alive edges) in the projection."""
        assert self.redis is not None
        nodes = await self.redis.hlen(self.keys.alive(Kind.NODE))
        edges = await self.redis.hlen(self.keys.alive(Kind.EDGE))
        return int(nodes), int(edges)

    async def wait_initial_list(self, cluster: str, *, limit_s: float) -> None:
        """Poll until the processor has derived ``cluster``'s SYNCED marker (its gauge
        ``topolog_processor_initial_list`` is 0): the list's alerts were sent."""

        async def closed() -> bool:
            async with httpx.AsyncClient(timeout=10) as client:
                text = (await client.get(f"http://127.0.0.1:{self.processor_port}/metrics")).text
            return metric(text, "topolog_processor_initial_list", cluster=cluster) == 0

        await _eventually(closed, what="the initial list's end", limit_s=limit_s, check=self.check)

    async def deleted(self) -> tuple[int, int]:
        """(nodes, edges) deleted whose history the projection still keeps (its dead sets)."""
        assert self.redis is not None
        nodes = await self.redis.scard(self.keys.dead(Kind.NODE))
        edges = await self.redis.scard(self.keys.dead(Kind.EDGE))
        return int(nodes), int(edges)

    async def gateway_deferred(self) -> int | None:
        """The versions the gateway followed but has not read yet (its metric; None:
        no gateway, or one that does not report it)."""
        if not self.gateway:
            return None
        async with httpx.AsyncClient(timeout=10) as client:
            text = (await client.get(f"{self.gateway_url}/metrics")).text
        return deferred_versions(text)

    async def wait_gateway_read(self, *, limit_s: float) -> float:
        """Poll until the gateway has read every version it deferred; the time then."""
        deadline = time.monotonic() + limit_s
        while await self.gateway_deferred():
            self.check()
            if time.monotonic() > deadline:
                raise TimeoutError(f"the gateway still defers versions; logs in {self.workdir}")
            await asyncio.sleep(0.2)
        return time.perf_counter()

    async def wait_counts(self, nodes: int, edges: int, *, limit_s: float) -> float:
        """Poll until the projection holds exactly that many nodes and edges; the time then."""
        deadline = time.monotonic() + limit_s
        while True:
            if await self.counts() == (nodes, edges):
                return time.perf_counter()
            self.check()
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"projection has {await self.counts()}, want {(nodes, edges)}; "
                    f"logs in {self.workdir}"
                )
            await asyncio.sleep(0.05)


async def _eventually(probe: object, *, what: str, limit_s: float, check: object = None) -> None:
    deadline = time.monotonic() + limit_s
    last: object = None
    while time.monotonic() < deadline:
        if callable(check):
            check()
        try:
            assert callable(probe)
            if await probe():
                return
        except Exception as exc:
            last = exc
        await asyncio.sleep(0.3)
    raise TimeoutError(f"timed out waiting for {what}: {last!r}")


#: Probe objects cycled through, so probes a changeset groups stay distinct nodes.
PROBES = 1024


def probe_envelope(cluster: str, seq: int, *, now: float) -> envelope.Envelope:
    """A ConfigMap change labelled ``bench=probe`` and ``bench-seq=<seq>``: one node
    added or updated per call (``PROBES`` objects in turn)."""
    name = f"bench-probe-{seq % PROBES}"
    obj = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": name,
            "namespace": "bench-probe",
            "uid": f"{cluster}-{name}",
            "resourceVersion": str(seq + 1),
            "labels": {"bench": "probe", "bench-seq": str(seq)},
        },
        "data": {"seq": str(seq)},
    }
    kind = envelope.EventType.ADDED if seq < PROBES else envelope.EventType.MODIFIED
    return simulation.to_envelope(simulate.Event(kind, obj), cluster=cluster, now=now)
