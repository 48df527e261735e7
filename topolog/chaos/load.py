"""Churn while faults happen: the simulator on Kafka, and real objects in the control plane.

Flows in: the resources topic and a Kafka bootstrap (``SimLoad``); a kubeconfig
(``ClusterLoad``); a pace (steps per second).
Flows out: ``SimLoad`` publishes ``topolog.core.simulate.Simulator`` churn as envelopes of
its own cluster, retrying a step whole when Kafka is away (a retried step may publish an
envelope twice: the derivation is idempotent, and the checks compare final states);
``sim.objects`` is then the simulated cluster's final state. ``ClusterLoad`` creates,
relabels and deletes ConfigMaps and scales two Deployments (the control plane's
controllers and kwok make the ReplicaSets and Pods), skipping steps while the apiserver
is away — so the producer has real changes to miss, relist and reconcile. It also owns
the probe ConfigMap whose label the run bumps to time convergence.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer

from producers import kube, simulation
from topolog.core import simulate

log = logging.getLogger(__name__)

NAMESPACE = "chaos"
PROBE = "chaos-probe"
PROBE_LABEL = "chaos-probe"


@dataclass(slots=True)
class SimLoad:
    """Publishes the simulator's initial cluster, then one churn step per ``interval``."""

    sim: simulate.Simulator
    bootstrap: str
    topic: str
    cluster: str
    interval: float = 0.5
    steps: int = 0
    retries: int = 0
    _producer: AIOKafkaProducer | None = None

    async def _send(self, events: list[simulate.Event]) -> None:
        while True:
            try:
                if self._producer is None:
                    self._producer = AIOKafkaProducer(
                        bootstrap_servers=self.bootstrap,
                        client_id="topolog-chaos-sim",
                        enable_idempotence=True,
                        acks="all",
                        request_timeout_ms=10000,
                    )
                    await self._producer.start()
                now = time.time()
                futures = []
                for event in events:
                    env = simulation.to_envelope(event, cluster=self.cluster, now=now)
                    futures.append(
                        await self._producer.send(
                            self.topic, value=env.to_json(), key=env.key.encode()
                        )
                    )
                await asyncio.gather(*futures)
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.retries += 1
                log.info("sim publish failed (%s); retrying the step", exc)
                await self.close()
                await asyncio.sleep(1.0)

    async def initial(self) -> int:
        events = self.sim.initial()
        await self._send(events)
        return len(events)

    async def run(self) -> None:
        """Churn until cancelled; a step is published whole before the next is made."""
        try:
            while True:
                events = self.sim.churn(time.time())
                if events:
                    await self._send(events)
                self.steps += 1
                await asyncio.sleep(self.interval)
        finally:
            await self.close()

    async def close(self) -> None:
        if self._producer is not None:
            producer, self._producer = self._producer, None
            with contextlib.suppress(Exception):
                await producer.stop()


def _configmap(name: str, labels: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": NAMESPACE, "labels": labels},
        "data": {"value": name},
    }


def _deployment(name: str) -> dict[str, Any]:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": NAMESPACE, "labels": labels},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "nodeSelector": {"type": "kwok"},
                    "tolerations": [{"key": "kwok.x-k8s.io/node", "operator": "Exists"}],
                    "containers": [{"name": "app", "image": "registry.local/chaos:1"}],
                },
            },
        },
    }


@dataclass(slots=True)
class ClusterLoad:
    """Small, steady churn of real objects in namespace ``chaos``."""

    kubeconfig: Path
    seed: int = 1
    interval: float = 1.0
    deployments: tuple[str, ...] = ("chaos-a", "chaos-b")
    steps: int = 0
    skipped: int = 0
    rng: random.Random = field(default_factory=random.Random)
    _configmaps: list[str] = field(default_factory=list)
    _next: int = 0

    async def setup(self) -> None:
        self.rng.seed(self.seed)
        async with kube.connect(self.kubeconfig) as client:
            await _create(
                client,
                "/api/v1/namespaces",
                {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}},
            )
            base = f"/api/v1/namespaces/{NAMESPACE}"
            await _create(client, f"{base}/configmaps", _configmap(PROBE, {PROBE_LABEL: "0"}))
            for name in self.deployments:
                await _create(
                    client, f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments", _deployment(name)
                )

    async def run(self) -> None:
        while True:
            try:
                async with kube.connect(self.kubeconfig) as client:
                    while True:
                        await self.step(client)
                        self.steps += 1
                        await asyncio.sleep(self.interval)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.skipped += 1
                log.info("cluster churn step failed (%s); retrying", exc)
                await asyncio.sleep(self.interval)

    async def step(self, client: kube.Kube) -> None:
        base = f"/api/v1/namespaces/{NAMESPACE}/configmaps"
        roll = self.rng.random()
        if roll < 0.35 or not self._configmaps:
            name = f"chaos-cm-{self._next}"
            self._next += 1
            await _create(client, base, _configmap(name, {"gen": "0"}))
            self._configmaps.append(name)
        elif roll < 0.6:
            name = self._configmaps.pop(0)
            with contextlib.suppress(kube.ApiError):
                await client.request_json("DELETE", f"{base}/{name}")
        elif roll < 0.8:
            name = self.rng.choice(self._configmaps)
            await _merge_patch(
                client, f"{base}/{name}", {"metadata": {"labels": {"gen": str(self.steps)}}}
            )
        else:
            name = self.rng.choice(self.deployments)
            await _merge_patch(
                client,
                f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments/{name}",
                {"spec": {"replicas": self.rng.randint(0, 3)}},
            )


async def bump_probe(kubeconfig: Path, value: str) -> None:
    """Set the probe ConfigMap's label; the run waits until the gateway shows it."""
    async with kube.connect(kubeconfig) as client:
        await _merge_patch(
            client,
            f"/api/v1/namespaces/{NAMESPACE}/configmaps/{PROBE}",
            {"metadata": {"labels": {PROBE_LABEL: value}}},
        )


async def _create(client: kube.Kube, path: str, body: dict[str, Any]) -> None:
    try:
        await client.request_json("POST", path, body=body)
    except kube.ApiError as exc:
        if exc.status != 409:
            raise


async def _merge_patch(client: kube.Kube, path: str, body: dict[str, Any]) -> None:
    await client.request_json("PATCH", path, body=body, content_type="application/merge-patch+json")
