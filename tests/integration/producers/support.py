"""Helpers for the producer integration tests: a producer subprocess, kubectl, topic reads.

Every test gets topics and a cluster name of its own, so tests (and a developer's running
pipeline on the same Kafka) never see each other's records.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient

from tests.integration.processors import harness
from topolog.core.envelope import Envelope, is_cluster_synced
from topolog.platform.state import Endpoints

TOPOLOG = str(Path(sys.executable).parent / "topolog")


@dataclass(frozen=True)
class Run:
    """One test's topics, cluster name and platform endpoints."""

    platform: Endpoints
    prefix: str

    @property
    def cluster(self) -> str:
        return self.prefix

    @property
    def resources(self) -> str:
        return f"{self.prefix}.resources"

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "TOPOLOG_KAFKA_BOOTSTRAP": self.platform.kafka,
            "TOPOLOG_KUBECONFIG": self.platform.kubeconfig,
            "TOPOLOG_CLUSTER_NAME": self.cluster,
            "TOPOLOG_TOPIC_RESOURCES": self.resources,
            "TOPOLOG_TOPIC_GRAPH": f"{self.prefix}.graph",
            "TOPOLOG_TOPIC_ALERTS": f"{self.prefix}.alerts",
            "TOPOLOG_TOPIC_DEADLETTER": f"{self.prefix}.deadletter",
        }

    def topics(self) -> list[str]:
        return [f"{self.prefix}.{t}" for t in ("resources", "graph", "alerts", "deadletter")]


def new_run(platform: Endpoints) -> Run:
    return Run(platform=platform, prefix=f"it-{uuid.uuid4().hex[:8]}")


def start_producer(run: Run, *kinds: str) -> subprocess.Popen[bytes]:
    args = [TOPOLOG, "producer", "--metrics-port", "0", "--partitions", "2"]
    for kind in kinds:
        args += ["--kind", kind]
    log = open(Path("/tmp") / f"{run.prefix}-producer.log", "ab")  # noqa: SIM115
    return subprocess.Popen(args, env=run.env(), stdout=log, stderr=log)


@contextmanager
def producer(run: Run, *kinds: str) -> Iterator[subprocess.Popen[bytes]]:
    proc = start_producer(run, *kinds)
    try:
        yield proc
    finally:
        stop(proc)


def stop(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def kubectl(run: Run, *args: str, stdin: str | None = None) -> str:
    done = subprocess.run(
        ["kubectl", "--kubeconfig", run.platform.kubeconfig, *args],
        input=stdin.encode() if stdin is not None else None,
        capture_output=True,
        timeout=60,
        check=False,
    )
    if done.returncode != 0:
        raise AssertionError(f"kubectl {' '.join(args)}: {done.stderr.decode()}")
    return done.stdout.decode()


def apply(run: Run, objects: list[dict[str, Any]]) -> None:
    kubectl(run, "apply", "-f", "-", stdin=orjson.dumps({"apiVersion": "v1", "kind": "List",
                                                        "items": objects}).decode())  # fmt: skip


async def _read(bootstrap: str, topics: list[str]) -> list[tuple[str, bytes, bytes]]:
    """Every record (topic, key, value) of ``topics`` up to their current end."""
    consumer = AIOKafkaConsumer(
        *topics, bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest"
    )
    await consumer.start()
    out: list[tuple[str, bytes, bytes]] = []
    try:
        idle = 0
        while idle < 2:
            batch = await consumer.getmany(timeout_ms=700)
            if not batch:
                idle += 1
                continue
            idle = 0
            for tp, messages in batch.items():
                out.extend((tp.topic, m.key or b"", m.value or b"") for m in messages)
    finally:
        await consumer.stop()
    return out


def records(run: Run, topics: list[str] | None = None) -> list[tuple[str, bytes, bytes]]:
    return asyncio.run(_read(run.platform.kafka, topics or [run.resources]))


def envelopes(run: Run) -> list[Envelope]:
    """The resources topic; per key in publication order (keys never span partitions)."""
    return [Envelope.from_json(value) for _, _, value in records(run)]


def all_topics(run: Run) -> list[str]:
    async def names() -> list[str]:
        admin = AIOKafkaAdminClient(bootstrap_servers=run.platform.kafka)
        await admin.start()
        try:
            return sorted(await admin.list_topics())
        finally:
            await admin.close()

    return asyncio.run(names())


def delete_topics(run: Run) -> None:
    async def delete() -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=run.platform.kafka)
        await admin.start()
        try:
            existing = set(await admin.list_topics())
            await admin.delete_topics([t for t in run.topics() if t in existing])
        finally:
            await admin.close()

    asyncio.run(delete())


def eventually(check: Callable[[], Any], *, what: str, timeout: float = 90) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(1.0)


def synced(run: Run, kinds: set[str], times: int = 1) -> bool:
    """Whether every kind in ``kinds`` has published ``times`` SYNCED markers (one per list).

    (Records are counted, not sliced: partitions interleave, only per-key order holds.)
    """
    counts: dict[str, int] = {}
    for e in envelopes(run):
        if e.type.value == "SYNCED":
            counts[e.kind] = counts.get(e.kind, 0) + 1
    return all(counts.get(kind, 0) >= times for kind in kinds)


def cluster_markers(run: Run) -> dict[float, list[Envelope]]:
    """The cluster SYNCED markers published, by their time: one per producer run, each a
    copy on every partition."""
    out: dict[float, list[Envelope]] = {}
    for e in envelopes(run):
        if is_cluster_synced(e):
            out.setdefault(e.observed_at, []).append(e)
    return out


def partitions(run: Run) -> int:
    """How many partitions the run's resources topic has."""
    return len(asyncio.run(harness.partitions(run.platform.kafka, run.resources)))


def first_lists_closed(run: Run, kinds: set[str]) -> float:
    """When the last of ``kinds`` finished its first list (its first SYNCED marker)."""
    first: dict[str, float] = {}
    for e in envelopes(run):
        if e.type.value == "SYNCED" and e.kind in kinds:
            first[e.kind] = min(e.observed_at, first.get(e.kind, e.observed_at))
    assert set(first) == kinds, f"kinds never listed: {sorted(kinds - set(first))}"
    return max(first.values())


def etcd_compact(run: Run) -> int:
    """Compact etcd to its current revision (v3 HTTP gateway); returns that revision."""
    import httpx

    base = run.platform.etcd
    head = httpx.post(f"{base}/v3/kv/range", json={"key": "Lw=="}, timeout=10).json()
    revision = int(head["header"]["revision"])
    httpx.post(
        f"{base}/v3/kv/compaction", json={"revision": revision, "physical": True}, timeout=30
    ).raise_for_status()
    return revision
