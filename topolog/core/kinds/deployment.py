"""deployment: owns replicasets (ownerReferences), UP when its replicas are available.

Flows in: a Deployment. Flows out: Skydive's DesiredReplicas/Replicas/ReadyReplicas/
AvailableReplicas/UnavailableReplicas; a status from available vs desired (a progress
deadline exceeded is DOWN with that reason); namespace, owner and — for pods without
ownerReferences only — selector references.
"""

from __future__ import annotations

from typing import Any

from topolog.core import status as st
from topolog.core.kinds import fields, refs

KIND = "Deployment"
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
        "UnavailableReplicas": fields.integer(s.get("unavailableReplicas")),
    }


def status(obj: fields.Obj, now: float) -> st.Status:
    progressing = fields.condition(obj, "Progressing")
    if progressing is not None and progressing.get("status") == "False":
        # The controller gave up on the rollout (ProgressDeadlineExceeded).
        return st.down(fields.reason_of(progressing, "NotProgressing"))
    return st.replicas(
        desired=_desired(obj), available=fields.integer(fields.status(obj).get("availableReplicas"))
    )


def references(obj: fields.Obj) -> list[refs.Reference]:
    return [
        *fields.namespace_owner(obj),
        *fields.owners(obj),
        *fields.pod_selector(obj, "deployment", ownerless_only=True),
    ]
