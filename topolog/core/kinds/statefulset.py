"""statefulset: owns its pods; UP when its replicas are available (ready on old servers).

Flows in: a StatefulSet. Flows out: Skydive's DesiredReplicas/ServiceName/Replicas/
ReadyReplicas/CurrentReplicas/UpdatedReplicas/CurrentRevision/UpdateRevision plus
AvailableReplicas; namespace, owner and ownerless-pod selector references.
"""

from __future__ import annotations

from typing import Any

from topolog.core import status as st
from topolog.core.kinds import fields, refs

KIND = "StatefulSet"
NAMESPACED = True


def _desired(obj: fields.Obj) -> int:
    return fields.integer(fields.spec(obj).get("replicas"), 1)


def _available(obj: fields.Obj) -> int:
    s = fields.status(obj)
    if "availableReplicas" in s:
        return fields.integer(s.get("availableReplicas"))
    return fields.integer(s.get("readyReplicas"))


def metadata(obj: fields.Obj) -> dict[str, Any]:
    s = fields.status(obj)
    return {
        "DesiredReplicas": _desired(obj),
        "ServiceName": str(fields.spec(obj).get("serviceName") or ""),
        "Replicas": fields.integer(s.get("replicas")),
        "ReadyReplicas": fields.integer(s.get("readyReplicas")),
        "AvailableReplicas": _available(obj),
        "CurrentReplicas": fields.integer(s.get("currentReplicas")),
        "UpdatedReplicas": fields.integer(s.get("updatedReplicas")),
        "CurrentRevision": str(s.get("currentRevision") or ""),
        "UpdateRevision": str(s.get("updateRevision") or ""),
    }


def status(obj: fields.Obj, now: float) -> st.Status:
    return st.replicas(desired=_desired(obj), available=_available(obj))


def references(obj: fields.Obj) -> list[refs.Reference]:
    return [
        *fields.namespace_owner(obj),
        *fields.owners(obj),
        *fields.pod_selector(obj, "statefulset", ownerless_only=True),
    ]
