"""replicationcontroller: the ReplicaSet's predecessor, with a plain map selector.

Flows in: a ReplicationController. Flows out: DesiredReplicas/Replicas/ReadyReplicas/
AvailableReplicas; available-vs-desired status; namespace, owner and ownerless-pod
selector references.
"""

from __future__ import annotations

from typing import Any

from topolog.core import status as st
from topolog.core.kinds import fields, refs

KIND = "ReplicationController"
NAMESPACED = True


def _desired(obj: fields.Obj) -> int:
    return fields.integer(fields.spec(obj).get("replicas"), 1)


def metadata(obj: fields.Obj) -> dict[str, Any]:
    s = fields.status(obj)
    return {
        "DesiredReplicas": _desired(obj),
        "Replicas": fields.integer(s.get("replicas")),
        "ReadyReplicas": fields.integer(s.get("readyReplicas")),
        "AvailableReplicas": fields.integer(s.get("availableReplicas")),
    }


def status(obj: fields.Obj, now: float) -> st.Status:
    return st.replicas(
        desired=_desired(obj), available=fields.integer(fields.status(obj).get("availableReplicas"))
    )


def references(obj: fields.Obj) -> list[refs.Reference]:
    return [
        *fields.namespace_owner(obj),
        *fields.owners(obj),
        *fields.pod_selector(obj, "replicationcontroller", map_selector=True, ownerless_only=True),
    ]
