from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from topolog.core import manifests
from topolog.core.netpol import inventory, ports
from topolog.core.netpol import policy as np

TEMPLATE = {
    "metadata": {"labels": {"app": "api"}},
    "spec": {"containers": [{"name": "c", "ports": [{"name": "http", "containerPort": 8080}]}]},
}


def workload(kind: str, name: str = "api", ns: str | None = "prod", **extra: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, **extra}
    if ns:
        meta["namespace"] = ns
    spec: dict[str, Any]
    if kind == "CronJob":
        spec = {"schedule": "* * * * *", "jobTemplate": {"spec": {"template": TEMPLATE}}}
    elif kind == "ReplicationController":
        spec = {"template": TEMPLATE}
    else:
        spec = {"selector": {"matchLabels": {"app": "api"}}, "template": TEMPLATE}
    return {"apiVersion": "apps/v1", "kind": kind, "metadata": meta, "spec": spec}


def build(tmp_path: Path, *docs: dict[str, Any]) -> inventory.Inventory:
    (tmp_path / "all.yaml").write_text(yaml.safe_dump_all(docs))
    return inventory.build(manifests.load([tmp_path]))


@pytest.mark.parametrize("kind", sorted(inventory.WORKLOAD_KINDS))
def test_a_workload_without_pods_becomes_one_pod_from_its_template(
    tmp_path: Path, kind: str
) -> None:
    inv = build(tmp_path, workload(kind))
    (entry,) = inv.entries
    assert (entry.id, entry.workload, entry.workload_kind) == ("prod/api", "prod/api", kind)
    assert dict(entry.pod.labels) == {"app": "api"}
    assert entry.pod.named_port("http", ports.Protocol.TCP) == 8080


def test_owned_workloads_are_left_to_their_owner(tmp_path: Path) -> None:
    rs = workload("ReplicaSet", "api-7d9f", ownerReferences=[{"kind": "Deployment", "name": "api"}])
    inv = build(tmp_path, workload("Deployment"), rs)
    assert [(e.id, e.workload_kind) for e in inv.entries] == [("prod/api", "Deployment")]


def test_pods_in_the_manifests_stand_for_their_workload(tmp_path: Path) -> None:
    rs = workload("ReplicaSet", "api-7d9f", ownerReferences=[{"kind": "Deployment", "name": "api"}])
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": "api-7d9f-x1",
            "namespace": "prod",
            "labels": {"app": "api"},
            "ownerReferences": [{"kind": "ReplicaSet", "name": "api-7d9f"}],
        },
        "spec": {"containers": [{"name": "c"}]},
    }
    inv = build(tmp_path, workload("Deployment"), rs, pod)
    assert [(e.id, e.workload, e.workload_kind) for e in inv.entries] == [
        ("prod/api-7d9f-x1", "prod/api", "Deployment")
    ]


def test_a_pod_matching_a_workload_selector_counts_as_its_pod(tmp_path: Path) -> None:
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "api-0", "namespace": "prod", "labels": {"app": "api"}},
    }
    inv = build(tmp_path, workload("StatefulSet"), pod)
    assert [(e.id, e.workload, e.workload_kind) for e in inv.entries] == [
        ("prod/api-0", "prod/api-0", "Pod")
    ]


def test_default_namespace_and_undeclared_namespaces(tmp_path: Path) -> None:
    declared = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": "prod", "labels": {"env": "prod"}},
    }
    inv = build(tmp_path, declared, workload("Deployment", ns=None), workload("Job", ns="batch"))
    assert [e.id for e in inv.entries] == ["batch/api", "default/api"]
    assert inv.cluster.namespace_labels("batch") == {np.NAMESPACE_NAME_LABEL: "batch"}
    assert inv.cluster.namespace_labels("default") == {np.NAMESPACE_NAME_LABEL: "default"}
    assert inv.cluster.namespace_labels("prod") == {"env": "prod", np.NAMESPACE_NAME_LABEL: "prod"}


def test_same_named_workloads_of_different_kinds_get_distinct_pods(tmp_path: Path) -> None:
    inv = build(tmp_path, workload("Deployment"), workload("DaemonSet", name="api"))
    assert [(e.id, e.workload, e.workload_kind) for e in inv.entries] == [
        ("prod/api", "prod/api", "Deployment"),
        ("prod/api-daemonset", "prod/api", "DaemonSet"),
    ]
    assert len({e.pod.uid for e in inv.entries}) == 2


def test_a_bad_policy_names_its_file_and_document(tmp_path: Path) -> None:
    good = workload("Deployment")
    bad = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "broken", "namespace": "prod"},
        "spec": {"podSelector": {}, "ingress": [{"ports": [{"port": 80, "protocol": "ICMP"}]}]},
    }
    with pytest.raises(np.NetpolError) as info:
        build(tmp_path, good, bad)
    assert str(info.value).startswith(
        f"{tmp_path / 'all.yaml'} (document 2): networkpolicy prod/broken"
    )
