"""Running processors workers against the real Kafka, and reading what they produced.

Workers are subprocesses of ``topolog processor`` (so ``kill -9`` is a real crash), each
test with topics and an app id of its own (``Run``).
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import ConsumerRecord
from prometheus_client.parser import text_string_to_metric_families

from processors import app as processors_app
from processors import folding, routeloop
from producers import publishing
from topolog.core import envelope, graph
from topolog.settings import Settings


@dataclass
class Run:
    """One test's topics, app id and workers."""

    bootstrap: str
    logs: Path
    suffix: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    #: Tells apart two apps reading one resources topic (own app id and graph topic).
    name: str = ""
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def app_id(self) -> str:
        return f"it-proc-{self.suffix}{self.name}"

    @property
    def settings(self) -> Settings:
        return Settings(
            kafka_bootstrap=self.bootstrap,
            topic_resources=f"it-res-{self.suffix}",
            topic_graph=f"it-graph-{self.suffix}{self.name}",
            topic_alerts=f"it-alerts-{self.suffix}{self.name}",
            topic_deadletter=f"it-dead-{self.suffix}{self.name}",
        )

    @property
    def cluster_topic(self) -> str:
        return processors_app.cluster_topic(self.app_id)

    def env(self) -> dict[str, str]:
        s = self.settings
        return {
            **os.environ,
            "TOPOLOG_KAFKA_BOOTSTRAP": self.bootstrap,
            "TOPOLOG_TOPIC_RESOURCES": s.topic_resources,
            "TOPOLOG_TOPIC_GRAPH": s.topic_graph,
            "TOPOLOG_TOPIC_ALERTS": s.topic_alerts,
            "TOPOLOG_TOPIC_DEADLETTER": s.topic_deadletter,
        }

    async def create_topics(self) -> None:
        options = processors_app.Options(app_id=self.app_id)
        await processors_app.ensure_topics(self.settings, bootstrap=self.bootstrap, options=options)

    def start_worker(
        self, *, metrics_port: int | None = None, patch: str | None = None
    ) -> subprocess.Popen[bytes]:
        """A ``topolog processor`` subprocess; ``patch`` is Python run in it first (to
        plant a fault)."""
        log = self.logs / f"worker{self.name}-{len(self.workers)}.log"
        extra = ["--metrics-port", str(metrics_port)] if metrics_port is not None else []
        main = ["-m", "topolog.cli.main"]
        if patch is not None:
            main = ["-c", f"{patch}\nfrom topolog.cli.main import app\napp()"]
        with log.open("ab") as out:
            proc = subprocess.Popen(
                [
                    sys.executable,
                    *main,
                    "processor",
                    "--app-id",
                    self.app_id,
                    "--log-level",
                    os.environ.get("IT_WORKER_LOG_LEVEL", "warning"),
                    *extra,
                ],
                env=self.env(),
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.workers.append(proc)
        return proc

    def kill(self, proc: subprocess.Popen[bytes]) -> None:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)

    def stop_all(self) -> None:
        for proc in self.workers:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.workers:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def log_tail(self, lines: int = 40) -> str:
        out = []
        for log in sorted(self.logs.glob("worker*.log")):
            text = log.read_text(errors="replace").splitlines()[-lines:]
            out.append(f"--- {log.name}\n" + "\n".join(text))
        return "\n".join(out)

    # -- input ----------------------------------------------------------------------------

    async def publish(self, envelopes: Iterable[envelope.Envelope]) -> None:
        async with publishing.Publisher(
            bootstrap=self.bootstrap, topic=self.settings.topic_resources, client_id="it-proc"
        ) as publisher:
            await publisher.publish(list(envelopes))

    async def publish_raw(self, items: Iterable[tuple[bytes, bytes]]) -> None:
        producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap, acks="all")
        await producer.start()
        try:
            for key, value in items:
                await producer.send_and_wait(self.settings.topic_resources, value=value, key=key)
        finally:
            await producer.stop()

    # -- progress and output ----------------------------------------------------------------

    @property
    def route_group(self) -> str:
        return routeloop.route_group(self.app_id)

    async def committed(self, group: str | None = None) -> dict[TopicPartition, int]:
        """A group's (the app's by default) committed offset of every partition it has one."""
        return await committed(self.bootstrap, group or self.app_id)

    async def drained(self, route_group: str | None = None) -> bool:
        """Whether the route group (``route_group`` if given) committed the end of the
        resources topic, and the app's group that of the cluster topic."""
        routed = await self.committed(route_group or self.route_group)
        committed = {**routed, **await self.committed()}
        ends = await end_offsets(
            self.bootstrap, [self.settings.topic_resources, self.cluster_topic]
        )
        return all(end <= committed.get(tp, 0) for tp, end in ends.items())

    async def wait_members(self, count: int, *, within: float = 40.0) -> None:
        """Wait until ``count`` workers are in the app's group and in its route group, and
        both are stable."""
        deadline = time.monotonic() + within
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap)
        await admin.start()
        try:
            while time.monotonic() < deadline:
                # One group per request: aiokafka fails to decode a two-group answer.
                groups = [
                    g
                    for group in (self.app_id, self.route_group)
                    for r in await admin.describe_consumer_groups([group])
                    for g in r.to_object()["groups"]
                ]
                if len(groups) == 2 and all(
                    g["state"] == "Stable" and len(g["members"]) == count for g in groups
                ):
                    return
                await asyncio.sleep(0.5)
        finally:
            await admin.close()
        raise AssertionError(f"{count} workers did not join in {within}s\n{self.log_tail()}")

    async def wait_drained(self, *, within: float = 40.0, route_group: str | None = None) -> None:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            for proc in self.workers:
                if proc.poll() not in (None, -signal.SIGKILL):
                    raise AssertionError(f"worker exited ({proc.returncode})\n{self.log_tail()}")
            if await self.drained(route_group):
                return
            await asyncio.sleep(0.5)
        raise AssertionError(f"processors did not catch up in {within}s\n{self.log_tail()}")

    async def changesets(self) -> list[graph.ChangeSet]:
        """Every changeset on the graph topic, partition by partition, in offset order."""
        records = await read_all(self.bootstrap, self.settings.topic_graph)
        return [graph.ChangeSet.from_json(r.value) for r in records if r.value is not None]

    async def graph(self) -> folding.Graph:
        # A cluster's changesets are all in one partition: folding partitions one after
        # the other keeps each cluster's order.
        return folding.fold(await self.changesets())


async def committed(bootstrap: str, group: str) -> dict[TopicPartition, int]:
    """``group``'s committed offset of every partition it committed one for."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    return {tp: meta.offset for tp, meta in offsets.items() if meta.offset >= 0}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def counter(port: int, name: str, **labels: str) -> float:
    """A counter's value scraped from a worker's ``--metrics-port``."""
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return 0.0


async def partitions(bootstrap: str, topic: str) -> list[TopicPartition]:
    """Every partition of ``topic`` (waits for its metadata)."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        return [TopicPartition(topic, p) for p in sorted(await producer.partitions_for(topic))]
    finally:
        await producer.stop()


async def end_offsets(bootstrap: str, topics: list[str]) -> dict[TopicPartition, int]:
    tps = [tp for topic in topics for tp in await partitions(bootstrap, topic)]
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        return dict(await consumer.end_offsets(tps))
    finally:
        await consumer.stop()


async def read_all(bootstrap: str, topic: str) -> list[ConsumerRecord[bytes, bytes]]:
    """Every record of ``topic`` up to its current end, partition by partition."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        tps = await partitions(bootstrap, topic)
        ends = await consumer.end_offsets(tps)
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        out: dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]] = {tp: [] for tp in tps}

        async def behind() -> bool:
            return any([await consumer.position(tp) < ends[tp] for tp in tps])

        while await behind():
            fetched = await consumer.getmany(timeout_ms=2000)
            for tp, records in fetched.items():
                out[tp].extend(r for r in records if r.offset < ends[tp])
        return [r for tp in tps for r in out[tp]]
    finally:
        await consumer.stop()


def describe_difference(got: folding.Graph, want: folding.Graph) -> str:
    """A short account of how two graphs differ (for assertion messages)."""
    lines = []
    for what, g, w in (("nodes", got[0], want[0]), ("edges", got[1], want[1])):
        missing = sorted(set(w) - set(g))
        extra = sorted(set(g) - set(w))
        changed = sorted(k for k in set(g) & set(w) if g[k] != w[k])
        lines.append(f"{what}: {len(missing)} missing, {len(extra)} extra, {len(changed)} differ")
        for k in missing[:3]:
            lines.append(f"  missing {w[k]}")
        for k in extra[:3]:
            lines.append(f"  extra {g[k]}")
        for k in changed[:3]:
            lines.append(f"  got  {g[k]}\n  want {w[k]}")
    return "\n".join(lines)
