"""daemonset: one pod per eligible node; UP when every scheduled pod is available.

Flows in: a DaemonSet. Flows out: Skydive's DesiredNumberScheduled/
CurrentNumberScheduled/NumberMisscheduled plus NumberReady/NumberAvailable; namespace,
owner and ownerless-pod selector references.
"""

from __future__ import annotations

from typing import Any

from topolog.core import status as st
from topolog.core.kinds import fields, refs

KIND = "DaemonSet"
NAMESPACED = True


def metadata(obj: fields.Obj) -> dict[str, Any]:
    s = fields.status(obj)
    return {
        "DesiredNumberScheduled": fields.integer(s.get("desiredNumberScheduled")),
        "CurrentNumberScheduled": fields.integer(s.get("currentNumberScheduled")),
        "NumberMisscheduled": fields.integer(s.get("numberMisscheduled")),
        "NumberReady": fields.integer(s.get("numberReady")),
        "NumberAvailable": fields.integer(s.get("numberAvailable")),
    }


def status(obj: fields.Obj, now: float) -> st.Status:
    s = fields.status(obj)
    return st.replicas(
        desired=fields.integer(s.get("desiredNumberScheduled")),
        available=fields.integer(s.get("numberAvailable")),
    )


def references(obj: fields.Obj) -> list[refs.Reference]:
    return [
        *fields.namespace_owner(obj),
        *fields.owners(obj),
        *fields.pod_selector(obj, "daemonset", ownerless_only=True),
    ]
