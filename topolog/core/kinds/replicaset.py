"""replicaset: owned by a deployment, owns pods; UP when its replicas are available.

Flows in: a ReplicaSet. Flows out: DesiredReplicas/Replicas/ReadyReplicas/
AvailableReplicas/FullyLabeledReplicas; available-vs-desired status; namespace, owner
and ownerless-pod selector references.
"""

from __future__ import annotations

from typing import Any

from topolog.core import status as st
from topolog.core.kinds import fields, refs

KIND = "ReplicaSet"
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
        "FullyLabeledReplicas": fields.integer(s.get("fullyLabeledReplicas")),
    }


def status(obj: fields.Obj, now: float) -> st.Status:
    failure = fields.condition(obj, "ReplicaFailure")
    if failure is not None and failure.get("status") == "True":
        # The controller cannot create pods (quota, admission): say why.
        return st.down(fields.reason_of(failure, "ReplicaFailure"))
    return st.replicas(
        desired=_desired(obj), available=fields.integer(fields.status(obj).get("availableReplicas"))
    )


def references(obj: fields.Obj) -> list[refs.Reference]:
    return [
        *fields.namespace_owner(obj),
        *fields.owners(obj),
        *fields.pod_selector(obj, "replicaset", ownerless_only=True),
    ]
