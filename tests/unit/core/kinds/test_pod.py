"""pod: status from phase, container states and readiness; the references a pod declares."""

from __future__ import annotations

from typing import Any

import pytest

from topolog.core.graph import State
from topolog.core.kinds import pod, refs


def _pod(
    phase: str | None = None,
    *,
    conditions: list[dict[str, Any]] | None = None,
    statuses: list[dict[str, Any]] | None = None,
    init_statuses: list[dict[str, Any]] | None = None,
    deleting: bool = False,
    reason: str | None = None,
    spec: dict[str, Any] | None = None,
) -> dict[str, Any]:
    status: dict[str, Any] = {}
    if phase:
        status["phase"] = phase
    if conditions is not None:
        status["conditions"] = conditions
    if statuses is not None:
        status["containerStatuses"] = statuses
    if init_statuses is not None:
        status["initContainerStatuses"] = init_statuses
    if reason:
        status["reason"] = reason
    meta: dict[str, Any] = {"name": "p", "namespace": "ns", "uid": "u"}
    if deleting:
        meta["deletionTimestamp"] = "2024-01-01T00:00:00Z"
    return {
        "metadata": meta,
        "spec": spec or {"containers": [{"name": "c"}]},
        "status": status,
    }


READY = [{"type": "Ready", "status": "True"}]
NOT_READY = [{"type": "Ready", "status": "False", "reason": "ContainersNotReady"}]


def waiting(reason: str) -> list[dict[str, Any]]:
    return [{"name": "c", "state": {"waiting": {"reason": reason}}}]


STATUS_CASES = [
    ("running and ready", _pod("Running", conditions=READY), State.UP, "Running"),
    ("running, not ready", _pod("Running", conditions=NOT_READY), State.DOWN, "ContainersNotReady"),
    ("running, no conditions", _pod("Running"), State.DOWN, "NotReady"),
    ("succeeded", _pod("Succeeded"), State.UP, "Completed"),
    ("failed with reason", _pod("Failed", reason="Evicted"), State.DOWN, "Evicted"),
    ("failed", _pod("Failed"), State.DOWN, "Failed"),
    (
        "unschedulable",
        _pod(
            "Pending",
            conditions=[{"type": "PodScheduled", "status": "False", "reason": "Unschedulable"}],
        ),
        State.DOWN,
        "Unschedulable",
    ),
    (
        "creating",
        _pod("Pending", statuses=waiting("ContainerCreating")),
        State.DOWN,
        "ContainerCreating",
    ),
    ("pending, nothing known", _pod("Pending"), State.DOWN, "Pending"),
    ("manifest without status", _pod(None), State.DOWN, "Pending"),
    (
        "crash loop while running",
        _pod("Running", conditions=NOT_READY, statuses=waiting("CrashLoopBackOff")),
        State.DOWN,
        "CrashLoopBackOff",
    ),
    (
        "image pull",
        _pod("Pending", statuses=waiting("ImagePullBackOff")),
        State.DOWN,
        "ImagePullBackOff",
    ),
    (
        "err image pull",
        _pod("Pending", statuses=waiting("ErrImagePull")),
        State.DOWN,
        "ErrImagePull",
    ),
    (
        "config error",
        _pod("Pending", statuses=waiting("CreateContainerConfigError")),
        State.DOWN,
        "CreateContainerConfigError",
    ),
    (
        "init container crashing",
        _pod(
            "Pending",
            init_statuses=[{"name": "i", "state": {"waiting": {"reason": "CrashLoopBackOff"}}}],
        ),
        State.DOWN,
        "Init:CrashLoopBackOff",
    ),
    (
        "init container failed",
        _pod(
            "Pending",
            init_statuses=[
                {"name": "i", "state": {"terminated": {"exitCode": 1, "reason": "Error"}}}
            ],
        ),
        State.DOWN,
        "Init:Error",
    ),
    ("terminating", _pod("Running", conditions=READY, deleting=True), State.DOWN, "Terminating"),
    ("unknown", _pod("Unknown"), State.DOWN, "Unknown"),
]


@pytest.mark.parametrize(
    ("obj", "state", "reason"),
    [c[1:] for c in STATUS_CASES],
    ids=[c[0] for c in STATUS_CASES],
)
def test_status(obj: dict[str, Any], state: State, reason: str) -> None:
    assert pod.status(obj, 0.0) == (state, reason)


def test_metadata_has_skydives_node_ip_and_status() -> None:
    obj = _pod("Running", conditions=READY, spec={"nodeName": "n1", "containers": []})
    obj["status"]["podIP"] = "10.1.2.3"
    assert pod.metadata(obj) == {
        "Node": "n1",
        "IP": "10.1.2.3",
        "Status": "Running",
        "Phase": "Running",
        "ContainerPorts": [],
    }


def test_metadata_keeps_declared_ports_for_named_policy_ports() -> None:
    spec = {
        "containers": [{"name": "web", "ports": [{"name": "http", "containerPort": 9080}]}],
        "initContainers": [
            {
                "name": "proxy",
                "restartPolicy": "Always",
                "ports": [{"name": "dns", "containerPort": 53, "protocol": "UDP"}],
            },
            {"name": "setup", "ports": [{"name": "ignored", "containerPort": 1}]},
        ],
    }
    obj = _pod("Running", conditions=READY, spec=spec)
    assert pod.metadata(obj)["ContainerPorts"] == [
        {"Name": "http", "ContainerPort": 9080, "Protocol": "TCP"},
        {"Name": "dns", "ContainerPort": 53, "Protocol": "UDP"},
    ]


def _names(references: list[refs.Reference], kind: str) -> dict[str, tuple[bool, refs.End | None]]:
    return {
        r.name: (r.required, r.dependent)
        for r in references
        if isinstance(r, refs.ByName) and r.kind == kind
    }


CONFIG_SPEC: dict[str, Any] = {
    "initContainers": [
        {
            "name": "init",
            "env": [
                {"name": "A", "valueFrom": {"configMapKeyRef": {"name": "init-cm", "key": "k"}}}
            ],
        }
    ],
    "containers": [
        {
            "name": "c",
            "env": [
                {"name": "B", "valueFrom": {"secretKeyRef": {"name": "env-secret", "key": "k"}}},
                {
                    "name": "C",
                    "valueFrom": {"secretKeyRef": {"name": "opt", "key": "k", "optional": True}},
                },
            ],
            "envFrom": [{"configMapRef": {"name": "from-cm"}}, {"secretRef": {"name": "from-s"}}],
        }
    ],
    "volumes": [
        {"name": "v1", "configMap": {"name": "vol-cm"}},
        {"name": "v2", "secret": {"secretName": "vol-secret"}},
        {
            "name": "v3",
            "projected": {
                "sources": [{"configMap": {"name": "proj-cm"}}, {"secret": {"name": "proj-s"}}]
            },
        },
        {"name": "data", "persistentVolumeClaim": {"claimName": "claim"}},
        {"name": "scratch", "ephemeral": {"volumeClaimTemplate": {}}},
    ],
    "imagePullSecrets": [{"name": "pull"}],
    "serviceAccountName": "robot",
    "nodeName": "n1",
}


def test_references_cover_every_way_a_pod_reads_configmaps_and_secrets() -> None:
    declared = pod.references(_pod(spec=CONFIG_SPEC))
    dep = refs.End.PARENT
    assert _names(declared, "ConfigMap") == {
        "init-cm": (True, dep),
        "from-cm": (True, dep),
        "vol-cm": (True, dep),
        "proj-cm": (True, dep),
    }
    assert _names(declared, "Secret") == {
        "env-secret": (True, dep),
        "opt": (False, dep),
        "from-s": (True, dep),
        "vol-secret": (True, dep),
        "proj-s": (True, dep),
        "pull": (False, dep),
    }
    assert _names(declared, "PersistentVolumeClaim") == {
        "claim": (True, dep),
        "p-scratch": (True, dep),
    }
    assert _names(declared, "ServiceAccount") == {"robot": (True, dep)}


def test_node_reference_makes_the_pod_the_child_and_the_dependent() -> None:
    [node] = [r for r in pod.references(_pod(spec=CONFIG_SPEC)) if getattr(r, "kind", "") == "Node"]
    assert isinstance(node, refs.ByName)
    assert (node.name, node.relation, node.declarer, node.dependent) == (
        "n1",
        "node",
        refs.End.CHILD,
        refs.End.CHILD,
    )


def test_the_implicit_default_service_account_is_optional() -> None:
    assert _names(pod.references(_pod()), "ServiceAccount") == {"default": (False, refs.End.PARENT)}


def test_a_secret_used_both_optionally_and_not_is_required() -> None:
    spec = {
        "containers": [
            {"name": "c", "envFrom": [{"secretRef": {"name": "s", "optional": True}}]},
        ],
        "volumes": [{"name": "v", "secret": {"secretName": "s"}}],
    }
    assert _names(pod.references(_pod(spec=spec)), "Secret") == {"s": (True, refs.End.PARENT)}


def test_owner_references_make_workload_owners_depend_on_the_pod() -> None:
    obj = _pod()
    obj["metadata"]["ownerReferences"] = [
        {"kind": "ReplicaSet", "name": "rs", "uid": "rs-uid"},
        {"kind": "Node", "name": "n1", "uid": "node-uid"},  # a mirror pod: nodeName covers it
        {"kind": "Rollout", "name": "r", "uid": "r-uid"},  # not watched: no placeholder
    ]
    owners = [r for r in pod.references(obj) if isinstance(r, refs.ByUid)]
    assert owners == [
        refs.ByUid(
            uid="rs-uid",
            kind="ReplicaSet",
            namespace="ns",
            name="rs",
            relation="replicaset",
            dependent=refs.End.PARENT,
        )
    ]


def test_namespace_owns_the_pod() -> None:
    first = pod.references(_pod())[0]
    assert first == refs.ByName(
        kind="Namespace",
        namespace="",
        name="ns",
        relation="ownership",
        declarer=refs.End.CHILD,
    )


def test_the_start_is_start_time_else_creation() -> None:
    started = {"metadata": {"creationTimestamp": "2024-05-01T10:00:00Z"}}
    assert pod.started_at(started) == 1714557600.0
    started["status"] = {"startTime": "2024-05-01T10:00:05Z"}
    assert pod.started_at(started) == 1714557605.0
    assert pod.started_at({}) is None


def test_config_reads_are_the_references_without_pull_secrets() -> None:
    spec = {
        "containers": [
            {"name": "c", "envFrom": [{"secretRef": {"name": "opt", "optional": True}}]}
        ],
        "volumes": [{"name": "v", "configMap": {"name": "conf"}}],
        "imagePullSecrets": [{"name": "registry"}],
    }
    obj = _pod("Running", spec=spec)
    assert set(pod.config_references(obj)) == {
        ("Secret", "opt"),
        ("ConfigMap", "conf"),
        ("Secret", "registry"),
    }
    assert pod.config_reads(obj) == [("ConfigMap", "conf"), ("Secret", "opt")]
