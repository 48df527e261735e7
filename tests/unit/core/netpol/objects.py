"""Builders for the Kubernetes objects the netpol tests feed in (plain dicts, as the API has)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def namespace(name: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": name, "uid": f"uid-ns-{name}", "labels": dict(labels or {})},
    }


def pod(
    ns: str,
    name: str,
    labels: dict[str, str] | None = None,
    *,
    ip: str | None = None,
    ports: Sequence[tuple[str | None, str, int]] | None = None,
    uid: str | None = None,
) -> dict[str, Any]:
    """A pod; ``ports`` are (name, protocol, containerPort) of one container."""
    container: dict[str, Any] = {"name": "main", "image": "busybox"}
    if ports:
        container["ports"] = [
            {**({"name": n} if n else {}), "protocol": proto, "containerPort": number}
            for n, proto, number in ports
        ]
    obj: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "namespace": ns,
            "name": name,
            "uid": uid or f"uid-pod-{ns}-{name}",
            "labels": dict(labels or {}),
        },
        "spec": {"containers": [container]},
        "status": {},
    }
    if ip:
        obj["status"] = {"podIP": ip, "podIPs": [{"ip": ip}]}
    return obj


def policy(ns: str, name: str, spec: dict[str, Any], *, uid: str | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"namespace": ns, "name": name, "uid": uid or f"uid-np-{ns}-{name}"},
        "spec": spec,
    }
