"""Builders of Kubernetes objects and envelopes for the deriver's tests."""

from __future__ import annotations

from typing import Any

from topolog.core import envelope

CLUSTER = "test"


def obj(
    kind: str,
    name: str,
    namespace: str = "default",
    *,
    uid: str | None = None,
    labels: dict[str, str] | None = None,
    owners: list[tuple[str, str, str]] | None = None,
    **body: Any,
) -> dict[str, Any]:
    """An object; ``owners`` are (kind, name, uid) ownerReferences."""
    meta: dict[str, Any] = {"name": name, "uid": uid or f"uid-{kind}-{namespace}-{name}"}
    if namespace:
        meta["namespace"] = namespace
    if labels:
        meta["labels"] = labels
    if owners:
        meta["ownerReferences"] = [
            {"kind": k, "name": n, "uid": u, "controller": True} for k, n, u in owners
        ]
    return {"kind": kind, "metadata": meta, **body}


def env(
    o: dict[str, Any],
    type: envelope.EventType = envelope.EventType.ADDED,
    *,
    at: float = 1000.0,
) -> envelope.Envelope:
    meta = o["metadata"]
    return envelope.Envelope(
        cluster=CLUSTER,
        api_version="v1",
        kind=o["kind"],
        namespace=meta.get("namespace", ""),
        name=meta["name"],
        uid=meta["uid"],
        type=type,
        resource_version="1",
        observed_at=at,
        object=o,
    )


def deleted(o: dict[str, Any], *, at: float = 1000.0) -> envelope.Envelope:
    return env(o, envelope.EventType.DELETED, at=at)


def namespace(name: str, **labels: str) -> dict[str, Any]:
    return obj(
        "Namespace",
        name,
        "",
        labels={"kubernetes.io/metadata.name": name, **labels},
        status={"phase": "Active"},
    )


def running_pod(
    name: str,
    namespace: str = "default",
    *,
    labels: dict[str, str] | None = None,
    owners: list[tuple[str, str, str]] | None = None,
    node: str = "",
    spec: dict[str, Any] | None = None,
    ready: bool = True,
    uid: str | None = None,
) -> dict[str, Any]:
    pod_spec: dict[str, Any] = {"containers": [{"name": "main", "image": "img:1"}]}
    pod_spec.update(spec or {})
    if node:
        pod_spec["nodeName"] = node
    statuses = [
        {"name": c["name"], "ready": ready, "state": {"running": {}}}
        for c in pod_spec["containers"]
    ]
    return obj(
        "Pod",
        name,
        namespace,
        uid=uid,
        labels=labels,
        owners=owners,
        spec=pod_spec,
        status={
            "phase": "Running",
            "podIP": "10.0.0.1",
            "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
            "containerStatuses": statuses,
        },
    )


def pending_pod(name: str, namespace: str = "default", **kw: Any) -> dict[str, Any]:
    o = running_pod(name, namespace, **kw)
    o["status"] = {
        "phase": "Pending",
        "conditions": [
            {
                "type": "PodScheduled",
                "status": "False",
                "reason": "Unschedulable",
                "message": "pod has unbound immediate PersistentVolumeClaims",
            }
        ],
    }
    return o
