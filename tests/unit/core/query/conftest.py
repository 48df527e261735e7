"""Fixtures: a small Kubernetes topology with history, in Skydive's shape.

Ownership tree (parent → child):
  cluster → namespaces default, kube-system; pv pv-1; node kind-worker
  default → deployments mysql, wordpress; replicasets mysql-5d8f, wordpress-7c9d;
            pods mysql-5d8f-abc, wordpress-7c9d-x1, wordpress-7c9d-x2 (DOWN),
            wordpress-7c9d-old (deleted at T0+100); secret mysql-pass;
            configmap wp-config; pvc mysql-pv-claim
  kube-system → pod coredns-1
  each running pod → its container
Other edges, named after their source kind:
  deployment → its replicaset, replicaset → its pods; pod → secret mysql-pass (all three
  pods), configmap wp-config (wordpress pods), pvc (mysql pod); pvc → pv;
  node kind-worker → every live pod.

The wordpress deployment has two revisions: Replicas 1 from T0, Replicas 2 from T0+200.
Edges exist from T0+10.

Tests reach it through fixtures only (``history``, ``q``, ``t0``, ``now``, ``sample_nodes``),
so they need no import of this module under any import mode.
"""

from __future__ import annotations

from typing import Any

import pytest

from topolog.core.query import Limits, memory, run

T0 = 1_700_000_000.0
NOW = T0 + 1000


def _md(kind: str, name: str, namespace: str | None = None, **fields: Any) -> dict[str, Any]:
    labels = fields.pop("labels", {})
    k8s: dict[str, Any] = {"Name": name, "Labels": labels, **fields.pop("k8s", {})}
    if namespace is not None:
        k8s["Namespace"] = namespace
    return {"Manager": "k8s", "Type": kind, "Name": name, "K8s": k8s, **fields}


NODES: list[dict[str, Any]] = [
    memory.node("cluster", _md("cluster", "kind"), created=T0),
    memory.node("ns-default", _md("namespace", "default"), created=T0 + 1),
    memory.node("ns-kube-system", _md("namespace", "kube-system"), created=T0 + 1),
    memory.node(
        "dep-mysql",
        _md(
            "deployment", "mysql", "default", labels={"app": "mysql"}, Replicas=1, DesiredReplicas=1
        ),
        created=T0 + 2,
    ),
    memory.node(
        "dep-wordpress",
        _md(
            "deployment",
            "wordpress",
            "default",
            labels={"app": "wordpress"},
            Replicas=1,
            DesiredReplicas=2,
        ),
        created=T0 + 2,
    ),
    memory.node(
        "dep-wordpress",
        _md(
            "deployment",
            "wordpress",
            "default",
            labels={"app": "wordpress"},
            Replicas=2,
            DesiredReplicas=2,
        ),
        created=T0 + 2,
        updated=T0 + 200,
        revision=2,
    ),
    memory.node(
        "rs-mysql",
        _md("replicaset", "mysql-5d8f", "default", labels={"app": "mysql"}),
        created=T0 + 3,
    ),
    memory.node(
        "rs-wordpress",
        _md("replicaset", "wordpress-7c9d", "default", labels={"app": "wordpress"}),
        created=T0 + 3,
    ),
    memory.node(
        "pod-mysql",
        _md(
            "pod",
            "mysql-5d8f-abc",
            "default",
            labels={"app": "mysql", "tier": "db"},
            IP="10.244.0.5",
            Node="kind-worker",
            Status="Running",
            State="UP",
        ),
        created=T0 + 4,
    ),
    memory.node(
        "pod-wp1",
        _md(
            "pod",
            "wordpress-7c9d-x1",
            "default",
            labels={"app": "wordpress", "tier": "web"},
            IP="10.244.0.6",
            Node="kind-worker",
            Status="Running",
            State="UP",
        ),
        created=T0 + 5,
    ),
    memory.node(
        "pod-wp2",
        _md(
            "pod",
            "wordpress-7c9d-x2",
            "default",
            labels={"app": "wordpress", "tier": "web"},
            IP="10.244.1.7",
            Node="kind-worker",
            Status="CrashLoopBackOff",
            State="DOWN",
        ),
        created=T0 + 6,
    ),
    memory.node(
        "pod-wp-old",
        _md(
            "pod",
            "wordpress-7c9d-old",
            "default",
            labels={"app": "wordpress"},
            IP="10.244.0.9",
            Node="kind-worker",
            Status="Running",
            State="UP",
        ),
        created=T0 + 10,
        deleted=T0 + 100,
    ),
    memory.node(
        "pod-coredns",
        _md(
            "pod",
            "coredns-1",
            "kube-system",
            labels={"k8s-app": "kube-dns", "app.kubernetes.io/name": "coredns"},
            IP="10.244.0.2",
            Node="kind-worker",
            Status="Running",
            State="UP",
        ),
        created=T0 + 1,
    ),
    memory.node(
        "ctr-mysql", _md("container", "mysql", "default", Image="mysql:5.6"), created=T0 + 4
    ),
    memory.node(
        "ctr-wp1", _md("container", "wordpress", "default", Image="wordpress:4.8"), created=T0 + 5
    ),
    memory.node(
        "ctr-wp2", _md("container", "wordpress", "default", Image="wordpress:4.8"), created=T0 + 6
    ),
    memory.node(
        "secret-mysql",
        _md("secret", "mysql-pass", "default", k8s={"Type": "Opaque"}, Data=["password"]),
        created=T0 + 2,
    ),
    memory.node(
        "cm-wp",
        _md("configmap", "wp-config", "default", Data=["WORDPRESS_DB_HOST", "WORDPRESS_DEBUG"]),
        created=T0 + 2,
    ),
    memory.node(
        "pvc-mysql",
        _md(
            "persistentvolumeclaim",
            "mysql-pv-claim",
            "default",
            VolumeName="pv-1",
            Status="Bound",
            AccessModes=["ReadWriteOnce"],
        ),
        created=T0 + 2,
    ),
    memory.node(
        "pv-1",
        _md(
            "persistentvolume",
            "pv-1",
            Capacity="20Gi",
            Status="Bound",
            AccessModes=["ReadWriteOnce"],
        ),
        created=T0 + 1,
    ),
    memory.node(
        "node-worker",
        _md("node", "kind-worker", InternalIP="172.18.0.2", Arch="amd64"),
        created=T0 + 1,
    ),
]

_OWNED = [
    ("cluster", "ns-default"),
    ("cluster", "ns-kube-system"),
    ("cluster", "pv-1"),
    ("cluster", "node-worker"),
    ("ns-default", "dep-mysql"),
    ("ns-default", "dep-wordpress"),
    ("ns-default", "rs-mysql"),
    ("ns-default", "rs-wordpress"),
    ("ns-default", "pod-mysql"),
    ("ns-default", "pod-wp1"),
    ("ns-default", "pod-wp2"),
    ("ns-default", "secret-mysql"),
    ("ns-default", "cm-wp"),
    ("ns-default", "pvc-mysql"),
    ("ns-kube-system", "pod-coredns"),
    ("pod-mysql", "ctr-mysql"),
    ("pod-wp1", "ctr-wp1"),
    ("pod-wp2", "ctr-wp2"),
]
_RELATED = [
    ("dep-mysql", "rs-mysql", "deployment"),
    ("dep-wordpress", "rs-wordpress", "deployment"),
    ("rs-mysql", "pod-mysql", "replicaset"),
    ("rs-wordpress", "pod-wp1", "replicaset"),
    ("rs-wordpress", "pod-wp2", "replicaset"),
    ("pod-mysql", "secret-mysql", "pod"),
    ("pod-wp1", "secret-mysql", "pod"),
    ("pod-wp2", "secret-mysql", "pod"),
    ("pod-wp1", "cm-wp", "pod"),
    ("pod-wp2", "cm-wp", "pod"),
    ("pod-mysql", "pvc-mysql", "pod"),
    ("pvc-mysql", "pv-1", "persistentvolumeclaim"),
    ("node-worker", "pod-mysql", "node"),
    ("node-worker", "pod-wp1", "node"),
    ("node-worker", "pod-wp2", "node"),
    ("node-worker", "pod-coredns", "node"),
]

EDGES: list[dict[str, Any]] = [
    *(
        memory.edge(f"{p}>{c}", p, c, {"RelationType": "ownership"}, created=T0 + 10)
        for p, c in _OWNED
    ),
    *(memory.edge(f"{p}>{c}", p, c, {"RelationType": r}, created=T0 + 10) for p, c, r in _RELATED),
    memory.edge(
        "ns-default>pod-wp-old",
        "ns-default",
        "pod-wp-old",
        {"RelationType": "ownership"},
        created=T0 + 10,
        deleted=T0 + 100,
    ),
    memory.edge(
        "rs-wordpress>pod-wp-old",
        "rs-wordpress",
        "pod-wp-old",
        {"RelationType": "replicaset"},
        created=T0 + 10,
        deleted=T0 + 100,
    ),
]


@pytest.fixture(scope="session")
def history() -> memory.MemoryHistory:
    return memory.MemoryHistory(nodes=NODES, edges=EDGES)


@pytest.fixture(scope="session")
def t0() -> float:
    return T0


@pytest.fixture(scope="session")
def now() -> float:
    """The evaluation time of ``q``."""
    return NOW


@pytest.fixture(scope="session")
def sample_nodes() -> list[dict[str, Any]]:
    return NODES


@pytest.fixture
def q(history: memory.MemoryHistory) -> Any:
    """``q(text)`` runs a query on the sample graph at ``NOW``."""

    def query(text: str, limits: Limits = Limits()) -> Any:
        return run(text, source=history, now=NOW, limits=limits)

    return query
