"""Input for the processors tests: envelopes of demo-like clusters, and records of them.

A cluster is the seeded synthetic cluster of ``topolog.core.simulate`` (deployments,
statefulsets with PVC→PV, cronjobs, services, policies; then churn: rolling updates,
crash loops, relabels, deletions), optionally the embedded demo manifests (bookinfo with
its policies, task-pv, wordpress), and a policy whose peers are chosen by
namespaceSelector in another namespace (a cross-namespace relation).
"""

from __future__ import annotations

import dataclasses
import zlib
from typing import Any

from processors import routing
from producers import ingest, simulation
from topolog.core import envelope, graph, manifests, simulate
from topolog.platform import demo

T0 = 1_700_000_000.0


def cluster(
    name: str, *, seed: int, pods: int, churn: int, with_demo: bool = False
) -> list[envelope.Envelope]:
    sim = simulate.Simulator(seed=seed, pods=pods, now=T0)
    out = [_own_uid(simulation.to_envelope(e, cluster=name, now=T0)) for e in sim.initial()]
    namespaces = sorted(e.name for e in out if e.kind == "Namespace")
    if len(namespaces) >= 2:
        out.append(cross_namespace_policy(name, namespaces[0], namespaces[1], now=T0 + 0.5))
    if with_demo:
        out += ingest.plan(manifests.load([demo.demo_dir()]), cluster=name, now=T0 + 0.5)
    # The initial list is complete; what follows is changes.
    out.append(envelope.cluster_synced_marker(cluster=name, observed_at=T0 + 0.5))
    for step in range(churn):
        now = T0 + 1 + step * 0.25
        out += [simulation.to_envelope(e, cluster=name, now=now) for e in sim.churn(now)]
    return out


def _own_uid(env: envelope.Envelope) -> envelope.Envelope:
    """The simulator gives its StorageClass a fixed uid; node ids are uids, so two
    simulated clusters would share that node. Real uids are unique: make it so."""
    if env.kind != "StorageClass":
        return env
    uid = envelope.stable_uid(env.cluster, env.kind, env.namespace, env.name)
    meta = {**env.object.get("metadata", {}), "uid": uid}
    return dataclasses.replace(env, uid=uid, object={**env.object, "metadata": meta})


def cross_namespace_policy(
    cluster_name: str, namespace: str, peer_namespace: str, *, now: float
) -> envelope.Envelope:
    """Allow ingress to every pod of ``namespace`` from pods of ``peer_namespace``."""
    obj: dict[str, Any] = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "from-peer-team", "namespace": namespace, "uid": "np-cross-1"},
        "spec": {
            "podSelector": {},
            "ingress": [
                {
                    "from": [
                        {
                            "namespaceSelector": {"matchLabels": {"team": peer_namespace}},
                            "podSelector": {},
                        }
                    ]
                }
            ],
        },
    }
    return ingest.to_envelope(obj, cluster=cluster_name, now=now)


def records(
    envelopes: list[envelope.Envelope], *, topic: str = "resources", partitions: int = 8
) -> list[routing.Record]:
    """The envelopes as a resources topic holds them: keyed by object, offsets per partition."""
    offsets = [0] * partitions
    out: list[routing.Record] = []
    for env in envelopes:
        partition = zlib.crc32(env.key.encode()) % partitions
        source = graph.Source(topic, partition, offsets[partition])
        offsets[partition] += 1
        out.append(routing.Record(env.key.encode(), env.to_json(), source))
    return out


def by_partition(recs: list[routing.Record]) -> dict[int, list[routing.Record]]:
    out: dict[int, list[routing.Record]] = {}
    for record in recs:
        out.setdefault(record.source.partition, []).append(record)
    return out
