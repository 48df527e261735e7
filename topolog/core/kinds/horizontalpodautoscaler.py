"""horizontalpodautoscaler: scales a workload (hpa → its scaleTargetRef).

Flows in: a HorizontalPodAutoscaler (autoscaling/v2; v1 fields read the same). Flows
out: the target, min/max/current/desired replicas; DOWN when it cannot scale (the
AbleToScale or ScalingActive condition False, except scaling disabled on purpose) or,
from its dependencies, when its target does not exist.
"""

from __future__ import annotations

from typing import Any

from topolog.core import status as st
from topolog.core.kinds import fields, refs

KIND = "HorizontalPodAutoscaler"
NAMESPACED = True

#: Kinds an HPA can target that topolog watches.
TARGET_KINDS = frozenset({"Deployment", "StatefulSet", "ReplicaSet", "ReplicationController"})


def _target(obj: fields.Obj) -> tuple[str, str]:
    ref = fields.mapping(fields.spec(obj).get("scaleTargetRef"))
    return str(ref.get("kind") or ""), str(ref.get("name") or "")


def metadata(obj: fields.Obj) -> dict[str, Any]:
    spec, s = fields.spec(obj), fields.status(obj)
    kind, name = _target(obj)
    return {
        "ScaleTargetRef": f"{kind}/{name}" if kind else "",
        "MinReplicas": fields.integer(spec.get("minReplicas"), 1),
        "MaxReplicas": fields.integer(spec.get("maxReplicas")),
        "CurrentReplicas": fields.integer(s.get("currentReplicas")),
        "DesiredReplicas": fields.integer(s.get("desiredReplicas")),
    }


def status(obj: fields.Obj, now: float) -> st.Status:
    able = fields.condition(obj, "AbleToScale")
    if able is not None and able.get("status") == "False":
        return st.down(fields.reason_of(able, "UnableToScale"))
    active = fields.condition(obj, "ScalingActive")
    if (
        active is not None
        and active.get("status") == "False"
        and active.get("reason") != "ScalingDisabled"
    ):
        # Metrics cannot be read (FailedGetResourceMetric, …): the target is not scaled.
        return st.down(fields.reason_of(active, "ScalingInactive"))
    return st.up()


def aggregate(obj: fields.Obj, own: st.Status, deps: st.Dependencies) -> st.Status:
    """DOWN when the workload it scales does not exist."""
    return _target_exists(own, deps)


def aggregator(obj: fields.Obj) -> st.Aggregate | None:
    """``aggregate`` of ``obj`` without a reference to it (it reads nothing of it)."""
    return _target_exists


def _target_exists(own: st.Status, deps: st.Dependencies) -> st.Status:
    if own.is_down:
        return own
    if sum(deps.missing.values()):
        return st.down("TargetMissing")
    return own


def references(obj: fields.Obj) -> list[refs.Reference]:
    out: list[refs.Reference] = [*fields.namespace_owner(obj), *fields.owners(obj)]
    kind, name = _target(obj)
    if kind in TARGET_KINDS and name:
        out.append(
            refs.ByName(
                kind=kind,
                namespace=fields.namespace(obj),
                name=name,
                relation=refs.Relation.HORIZONTALPODAUTOSCALER,
                dependent=refs.End.PARENT,
            )
        )
    return out
