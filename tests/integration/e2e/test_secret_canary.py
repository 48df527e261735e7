"""No secret value leaves the cluster: not in any topic, any Redis key, any API answer.

A canary string is put where Kubernetes keeps secrets and values — a Secret's data, a
ConfigMap's data, a container env ``value`` and the ``kubectl.kubernetes.io/
last-applied-configuration`` annotation (which copies all of them) — then the whole
pipeline (``topolog run``: producer → processor → projector → gateway, on topics, groups
and a Redis prefix of its own) derives the objects. Afterwards every record of every
topic of the run (keys, values, headers; the processors' internal topics included),
every Redis key of the projection (type-aware reads of every value) and the gateway's
answers (whole graph, every node of the namespace by id, root cause, an SSE sync) are
scanned for the canary, plain and base64-encoded: it must be absent.
"""

from __future__ import annotations

import asyncio
import base64
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import redis.asyncio as aioredis
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from store import dump, replay
from store.keys import Keys
from topolog.core import manifests
from topolog.platform.apply import Applier
from topolog.platform.state import Endpoints

from .pipeline import eventually, isolated_env, query, running

pytestmark = pytest.mark.integration

RUN = uuid.uuid4().hex[:8]
CANARY = f"canary-{uuid.uuid4().hex}"
NEEDLES = (CANARY.encode(), base64.b64encode(CANARY.encode()))
NS = f"canary-{RUN}"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def _objects() -> list[dict[str, Any]]:
    def meta(name: str, body: dict[str, Any]) -> dict[str, Any]:
        # What `kubectl apply` writes: the whole manifest, secrets included.
        copy = orjson.dumps(body).decode()
        return {"name": name, "namespace": NS, "annotations": {LAST_APPLIED: copy}}

    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "data": {"password": NEEDLES[1].decode()},
    }
    config = {"apiVersion": "v1", "kind": "ConfigMap", "data": {"token": CANARY}}
    pod_spec = {
        "containers": [
            {
                "name": "app",
                "image": "registry.local/app:1",
                "env": [{"name": "TOKEN", "value": CANARY}],
            }
        ]
    }
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": pod_spec},
        },
    }
    out = []
    for name, body in (("creds", secret), ("settings", config), ("web", deployment)):
        out.append({**body, "metadata": meta(name, body)})
    return out  # fmt: skip


@pytest.fixture(scope="module")
def env(platform: Endpoints) -> dict[str, str]:
    return isolated_env(platform, run=f"canary-{RUN}", cluster="canary")


@pytest.fixture(scope="module")
def gateway(
    env: dict[str, str], platform: Endpoints, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    log = tmp_path_factory.mktemp("canary") / "pipeline.log"
    applier = Applier(platform.kubeconfig)
    try:
        with running(env, log) as url:
            applier.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
            applier.apply(
                manifests.Manifest(Path("canary.yaml"), i, obj)
                for i, obj in enumerate(_objects(), 1)
            )
            eventually(
                lambda: (
                    {"secret", "configmap", "deployment", "replicaset", "pod"}
                    <= {
                        n["Metadata"]["Type"]
                        for n in query(url, f"G.V().Has('K8s.Namespace', '{NS}')")
                    }
                ),
                what="the canary objects and the deployment's pod in the graph",
                timeout=120,
            )
            yield url
    finally:
        applier.delete(api_version="v1", kind="Namespace", name=NS)


def _leaks(where: str, blob: bytes) -> list[str]:
    return [f"{where}: {needle!r}" for needle in NEEDLES if needle in blob]


def test_the_manifests_really_carry_the_canary() -> None:
    # The test would pass vacuously if the canary were not in what the cluster stores.
    assert all(_leaks("manifest", orjson.dumps(obj)) for obj in _objects())


def test_no_topic_of_the_pipeline_holds_the_canary(gateway: str, env: dict[str, str]) -> None:
    async def scan() -> tuple[int, list[str]]:
        bootstrap = env["TOPOLOG_KAFKA_BOOTSTRAP"]
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        await admin.start()
        try:
            names = [t for t in await admin.list_topics() if RUN in t]
        finally:
            await admin.close()
        consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
        await consumer.start()
        count, leaks = 0, []
        try:
            parts = [
                TopicPartition(t, p) for t in names for p in await replay.partitions(bootstrap, t)
            ]
            assert parts, names
            consumer.assign(parts)
            await consumer.seek_to_beginning(*parts)
            ends = await consumer.end_offsets(parts)
            remaining = {tp for tp in parts if ends[tp] > 0}
            while remaining:
                batch = await consumer.getmany(*remaining, timeout_ms=1000)
                for tp, records in batch.items():
                    for r in records:
                        count += 1
                        blob = (
                            (r.key or b"")
                            + (r.value or b"")
                            + b"".join(v for _, v in r.headers or ())
                        )
                        leaks += _leaks(f"{tp.topic}@{r.offset}", blob)
                    if await consumer.position(tp) >= ends[tp]:
                        remaining.discard(tp)
        finally:
            await consumer.stop()
        assert len(names) >= 4, names
        return count, leaks  # fmt: skip

    count, leaks = asyncio.run(scan())
    assert count > 0
    assert leaks == []


def test_no_redis_key_of_the_projection_holds_the_canary(gateway: str, env: dict[str, str]) -> None:
    async def scan() -> dict[str, Any]:
        client = aioredis.Redis.from_url(env["TOPOLOG_REDIS_URL"])
        try:
            return await dump.dump(client, Keys(env["TOPOLOG_STORE_PREFIX"]))
        finally:
            await client.aclose()

    keys = asyncio.run(scan())
    assert any(NS.encode() in repr(v).encode() for v in keys.values()), "projection is empty"
    leaks = [leak for key, value in keys.items() for leak in _leaks(key, repr(value).encode())]
    assert leaks == []


def test_no_gateway_answer_holds_the_canary(gateway: str) -> None:
    answers: dict[str, bytes] = {}
    answers["GET /api/topology"] = httpx.get(f"{gateway}/api/topology", timeout=10).content
    for gremlin in ("G.V()", "G.E()", f"G.V().Has('K8s.Namespace', '{NS}').Values('K8s')"):
        answers[gremlin] = orjson.dumps(query(gateway, gremlin))
    for node in query(gateway, f"G.V().Has('K8s.Namespace', '{NS}')"):
        for path in (f"/api/v1/nodes/{node['ID']}", f"/api/v1/nodes/{node['ID']}/rootcause"):
            answers[path] = httpx.get(f"{gateway}{path}", timeout=10).content
    with httpx.stream("GET", f"{gateway}/api/v1/stream", timeout=30) as stream:
        sync = b""
        for line in stream.iter_lines():
            if line.startswith("data:"):
                sync = line.encode()
                break
    assert NS.encode() in sync, "the SSE sync did not carry the namespace's objects"
    answers["SSE sync"] = sync
    assert NS.encode() in answers["GET /api/topology"]
    leaks = [leak for where, body in answers.items() for leak in _leaks(where, body)]
    assert leaks == []
