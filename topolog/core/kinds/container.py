"""container: derived from a pod, one node per init, regular and ephemeral container.

Flows in: a Pod object (``from_pod``) — there is no Container object in Kubernetes.
Flows out: container objects of the shape the other kinds take (``metadata``/``spec``/
``status``), ids stable across restarts (``graph.derived_id(pod_uid, "container",
name)``), each status matched to its container **by name**, never by index.
"""

from __future__ import annotations

from typing import Any

from topolog.core import graph
from topolog.core import status as st
from topolog.core.kinds import fields, refs

KIND = "Container"
NAMESPACED = True

_STATUS_LISTS = {
    "initContainers": "initContainerStatuses",
    "containers": "containerStatuses",
    "ephemeralContainers": "ephemeralContainerStatuses",
}


def container_id(pod_uid: str, name: str) -> str:
    return graph.derived_id(pod_uid, "container", name)


def from_pod(pod: fields.Obj, pod_uid: str) -> list[dict[str, Any]]:
    """The containers of ``pod`` as objects, init containers first."""
    pod_status = fields.status(pod)
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    spec = fields.spec(pod)
    for list_name, status_list in _STATUS_LISTS.items():
        statuses = {str(cs.get("name")): cs for cs in fields.items(pod_status.get(status_list))}
        for container in fields.items(spec.get(list_name)):
            name = str(container.get("name") or "")
            if not name or name in seen:
                continue
            seen.add(name)
            out.append(
                {
                    "kind": KIND,
                    "metadata": {
                        "name": name,
                        "namespace": fields.namespace(pod),
                        "uid": container_id(pod_uid, name),
                        "labels": fields.labels(pod),
                    },
                    "spec": dict(container),
                    "status": dict(statuses.get(name) or {}),
                    "pod": {"name": fields.name(pod), "uid": pod_uid},
                    "init": list_name == "initContainers",
                    "ephemeral": list_name == "ephemeralContainers",
                }
            )
    return out


def metadata(obj: fields.Obj) -> dict[str, Any]:
    runtime, _, cid = str(fields.status(obj).get("containerID") or "").partition("://")
    return {
        "Pod": str(fields.mapping(obj.get("pod")).get("name") or ""),
        "Image": str(fields.spec(obj).get("image") or ""),
        "Runtime": runtime if cid else "",
        "ContainerID": cid,
        "Init": bool(obj.get("init")),
        "Ready": bool(fields.status(obj).get("ready")),
        "RestartCount": fields.integer(fields.status(obj).get("restartCount")),
    }


def status(obj: fields.Obj, now: float) -> st.Status:
    state = fields.mapping(fields.status(obj).get("state"))
    waiting = state.get("waiting")
    if isinstance(waiting, dict):
        return st.down(str(waiting.get("reason") or "Waiting"))
    terminated = state.get("terminated")
    if isinstance(terminated, dict):
        if fields.integer(terminated.get("exitCode")) == 0:
            return st.up(str(terminated.get("reason") or "Completed"))
        return st.down(str(terminated.get("reason") or "Error"))
    if isinstance(state.get("running"), dict):
        if obj.get("init") or obj.get("ephemeral") or fields.status(obj).get("ready"):
            # Init and ephemeral containers have no readiness of their own.
            return st.up("Running")
        return st.down("NotReady")
    # No status yet: the pod is not scheduled or the kubelet has not reported.
    return st.down("NotStarted")


def references(obj: fields.Obj) -> list[refs.Reference]:
    pod = fields.mapping(obj.get("pod"))
    return [
        refs.ByUid(
            uid=str(pod.get("uid") or ""),
            kind="Pod",
            namespace=fields.namespace(obj),
            name=str(pod.get("name") or ""),
            relation=refs.Relation.OWNERSHIP,
        )
    ]
