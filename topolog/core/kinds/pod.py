"""pod: the unit everything else points at.

Flows in: a Pod object. Flows out: Skydive's Node/IP/Status fields; a status from the
phase, the container states and the Ready condition; the references a pod declares:
its namespace and owners, node → pod, and pod → configmap/secret/pvc/serviceaccount
(the dependencies that explain a DOWN pod); for ``derive.outdated``, when the pod started
and which ConfigMaps/Secrets its containers hold a copy of.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

from topolog.core import status as st
from topolog.core.kinds import fields, refs
from topolog.core.netpol import policy as netpol_policy

KIND = "Pod"
NAMESPACED = True

#: Container waiting reasons that mean the container cannot start (not merely "yet").
FAILING_WAITING_REASONS = frozenset(
    {
        "CrashLoopBackOff",
        "ImagePullBackOff",
        "ErrImagePull",
        "ErrImageNeverPull",
        "InvalidImageName",
        "CreateContainerConfigError",
        "CreateContainerError",
        "RunContainerError",
        "PreCreateHookError",
        "PostStartHookError",
    }
)

_CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")


def metadata(obj: fields.Obj) -> dict[str, Any]:
    st_ = fields.status(obj)
    return {
        "Node": str(fields.spec(obj).get("nodeName") or ""),
        "IP": str(st_.get("podIP") or ""),
        "Status": _status(obj).reason,
        "Phase": str(st_.get("phase") or "Pending"),
        "ContainerPorts": _container_ports(obj),
    }


def _container_ports(obj: fields.Obj) -> list[dict[str, Any]]:
    """Declared ports, so named NetworkPolicy ports can be resolved from the graph alone."""
    try:
        declared = netpol_policy.container_ports(fields.spec(obj))
    except netpol_policy.NetpolError:
        return []
    return [
        {"Name": cp.name or "", "ContainerPort": cp.port, "Protocol": cp.protocol.value}
        for cp in declared
    ]


def status(obj: fields.Obj, now: float) -> st.Status:
    return _status(obj)


def _status(obj: fields.Obj) -> st.Status:
    st_ = fields.status(obj)
    phase = str(st_.get("phase") or "Pending")
    if fields.meta(obj).get("deletionTimestamp"):
        # Being deleted: it no longer serves, whatever its phase says.
        return st.down("Terminating")
    if phase == "Succeeded":
        # A finished job pod did its work.
        return st.up("Completed")
    if phase == "Failed":
        return st.down(str(st_.get("reason") or "Failed"))
    failing = _failing_container(obj)
    if failing:
        # A container that cannot start explains more than the phase does.
        return st.down(failing)
    if phase == "Pending":
        scheduled = fields.condition(obj, "PodScheduled")
        if scheduled is not None and scheduled.get("status") == "False":
            return st.down(fields.reason_of(scheduled, "Unschedulable"))
        return st.down(_waiting_reason(obj) or "Pending")
    if phase == "Running":
        ready = fields.condition(obj, "Ready")
        if ready is not None and ready.get("status") == "True":
            return st.up("Running")
        return st.down(fields.reason_of(ready, "NotReady"))
    # Unknown: the node stopped reporting.
    return st.down(phase)


def _container_statuses(obj: fields.Obj) -> Iterator[tuple[bool, fields.Obj]]:
    st_ = fields.status(obj)
    for cs in fields.items(st_.get("initContainerStatuses")):
        yield True, cs
    for cs in fields.items(st_.get("containerStatuses")):
        yield False, cs


def _failing_container(obj: fields.Obj) -> str:
    """The reason of the first container that cannot start ("Init:" for init containers)."""
    for init, cs in _container_statuses(obj):
        state = fields.mapping(cs.get("state"))
        prefix = "Init:" if init else ""
        waiting = fields.mapping(state.get("waiting"))
        reason = str(waiting.get("reason") or "")
        if reason in FAILING_WAITING_REASONS:
            return prefix + reason
        terminated = fields.mapping(state.get("terminated"))
        if init and terminated and fields.integer(terminated.get("exitCode")) != 0:
            return prefix + str(terminated.get("reason") or "Error")
    return ""


def _waiting_reason(obj: fields.Obj) -> str:
    for _, cs in _container_statuses(obj):
        waiting = fields.mapping(fields.mapping(cs.get("state")).get("waiting"))
        if waiting.get("reason"):
            return str(waiting["reason"])
    return ""


def containers(obj: fields.Obj) -> Iterator[tuple[str, fields.Obj]]:
    """Every container spec with the list it comes from (init containers first)."""
    spec = fields.spec(obj)
    for list_name in _CONTAINER_LISTS:
        for container in fields.items(spec.get(list_name)):
            yield list_name, container


def config_references(obj: fields.Obj) -> dict[tuple[str, str], bool]:
    """``(kind, name) → required`` for every ConfigMap and Secret the pod reads.

    Sources: env ``valueFrom`` and ``envFrom`` of every container (init and ephemeral
    too), volumes, projected volume sources and imagePullSecrets. A reference is required
    unless every use of it is ``optional: true``; pull secrets are never required (a
    public image pulls without one).
    """
    return _config_uses(obj, pull_secrets=True)


def config_reads(obj: fields.Obj) -> list[tuple[str, str]]:
    """``(kind, name)`` of the ConfigMaps and Secrets whose content the containers hold.

    The sources of ``config_references`` (optional ones included) except imagePullSecrets:
    a pull secret is used to fetch the image, the running containers hold no copy of it.
    """
    return sorted(_config_uses(obj, pull_secrets=False))


def started_at(obj: fields.Obj) -> float | None:
    """When the pod started (``status.startTime``, else its creation), epoch seconds."""
    st_ = fields.status(obj)
    started = fields.timestamp(st_.get("startTime"))
    if started is None:
        started = fields.timestamp(fields.meta(obj).get("creationTimestamp"))
    return started


def finished(obj: fields.Obj) -> bool:
    """Whether every container has terminated for good (phase Succeeded or Failed)."""
    return fields.status(obj).get("phase") in ("Succeeded", "Failed")


def _config_uses(obj: fields.Obj, *, pull_secrets: bool) -> dict[tuple[str, str], bool]:
    out: dict[tuple[str, str], bool] = {}

    def use(kind: str, name: Any, optional: Any) -> None:
        if not isinstance(name, str) or not name:
            return
        key = (kind, name)
        out[key] = out.get(key, False) or not optional

    for _, container in containers(obj):
        for env in fields.items(container.get("env")):
            value_from = fields.mapping(env.get("valueFrom"))
            cm = fields.mapping(value_from.get("configMapKeyRef"))
            use("ConfigMap", cm.get("name"), cm.get("optional"))
            secret = fields.mapping(value_from.get("secretKeyRef"))
            use("Secret", secret.get("name"), secret.get("optional"))
        for env_from in fields.items(container.get("envFrom")):
            cm = fields.mapping(env_from.get("configMapRef"))
            use("ConfigMap", cm.get("name"), cm.get("optional"))
            secret = fields.mapping(env_from.get("secretRef"))
            use("Secret", secret.get("name"), secret.get("optional"))
    for volume in fields.items(fields.spec(obj).get("volumes")):
        cm = fields.mapping(volume.get("configMap"))
        use("ConfigMap", cm.get("name"), cm.get("optional"))
        secret = fields.mapping(volume.get("secret"))
        use("Secret", secret.get("secretName"), secret.get("optional"))
        for source in fields.items(fields.mapping(volume.get("projected")).get("sources")):
            cm = fields.mapping(source.get("configMap"))
            use("ConfigMap", cm.get("name"), cm.get("optional"))
            secret = fields.mapping(source.get("secret"))
            use("Secret", secret.get("name"), secret.get("optional"))
    if pull_secrets:
        for pull in fields.items(fields.spec(obj).get("imagePullSecrets")):
            use("Secret", pull.get("name"), True)
    return out


def claim_names(obj: fields.Obj) -> list[str]:
    """The PersistentVolumeClaims the pod mounts (generic ephemeral volumes included)."""
    out: list[str] = []
    for volume in fields.items(fields.spec(obj).get("volumes")):
        claim = fields.mapping(volume.get("persistentVolumeClaim")).get("claimName")
        if isinstance(claim, str) and claim:
            out.append(claim)
        elif isinstance(volume.get("ephemeral"), dict) and volume.get("name"):
            # The ephemeral-volume controller names the claim <pod>-<volume>.
            out.append(f"{fields.name(obj)}-{volume['name']}")
    return sorted(set(out))


def references(obj: fields.Obj) -> list[refs.Reference]:
    ns = fields.namespace(obj)
    spec = fields.spec(obj)
    out: list[refs.Reference] = [*fields.namespace_owner(obj), *fields.owners(obj)]
    node_name = spec.get("nodeName")
    if isinstance(node_name, str) and node_name:
        out.append(_node_ref(node_name))
    for (kind, name), required in sorted(config_references(obj).items()):
        out.append(_used_ref(kind, ns, name, required))
    for claim in claim_names(obj):
        out.append(_used_ref("PersistentVolumeClaim", ns, claim, True))
    account = spec.get("serviceAccountName") or spec.get("serviceAccount") or "default"
    # Every namespace gets "default" from the controller manager; only a named account
    # that does not exist is a dangling reference.
    out.append(_used_ref("ServiceAccount", ns, str(account), account != "default"))
    return out


# References are immutable and the deriver keeps every pod's: the ones many pods declare
# (node, service account, config) are one shared object each, from bounded caches.
@functools.lru_cache(maxsize=4096)
def _node_ref(node_name: str) -> refs.ByName:
    return refs.ByName(
        kind="Node",
        namespace="",
        name=node_name,
        relation=refs.Relation.NODE,
        declarer=refs.End.CHILD,
        dependent=refs.End.CHILD,
    )


@functools.lru_cache(maxsize=16384)
def _used_ref(kind: str, namespace: str, name: str, required: bool) -> refs.ByName:
    """pod → what it uses (the pod depends on it)."""
    return refs.ByName(
        kind=kind,
        namespace=namespace,
        name=name,
        relation=refs.Relation.POD,
        dependent=refs.End.PARENT,
        required=required,
    )
