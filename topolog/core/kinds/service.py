"""service: selects pods (service → pod) and names its endpoints (service → endpoints).

Flows in: a Service. Flows out: Skydive's Ports/ClusterIP/ServiceType/SessionAffinity/
LoadBalancerIP/ExternalName; own status UP, and — from its dependencies — DOWN when it
has a selector but none of the pods it selects is UP (ready).
"""

from __future__ import annotations

from typing import Any

from topolog.core import status as st
from topolog.core.kinds import fields, refs

KIND = "Service"
NAMESPACED = True


def metadata(obj: fields.Obj) -> dict[str, Any]:
    spec = fields.spec(obj)
    ports = [
        {
            "Name": str(p.get("name") or ""),
            "Protocol": str(p.get("protocol") or "TCP"),
            "Port": fields.integer(p.get("port")),
            "NodePort": fields.integer(p.get("nodePort")),
            "TargetPort": p.get("targetPort") if p.get("targetPort") is not None else p.get("port"),
        }
        for p in fields.items(spec.get("ports"))
    ]
    return {
        "Ports": ports,
        "ClusterIP": str(spec.get("clusterIP") or ""),
        "ServiceType": str(spec.get("type") or "ClusterIP"),
        "SessionAffinity": str(spec.get("sessionAffinity") or "None"),
        "LoadBalancerIP": str(spec.get("loadBalancerIP") or ""),
        "ExternalName": str(spec.get("externalName") or ""),
        "Selector": {str(k): str(v) for k, v in fields.mapping(spec.get("selector")).items()},
    }


def status(obj: fields.Obj, now: float) -> st.Status:
    return st.up(str(fields.spec(obj).get("type") or "ClusterIP"))


def _selects_pods(obj: fields.Obj) -> bool:
    spec = fields.spec(obj)
    return bool(fields.mapping(spec.get("selector"))) and spec.get("type") != "ExternalName"


def aggregate(obj: fields.Obj, own: st.Status, deps: st.Dependencies) -> st.Status:
    """DOWN when the service selects pods and none of them is ready."""
    bound = aggregator(obj)
    return own if bound is None else bound(own, deps)


def aggregator(obj: fields.Obj) -> st.Aggregate | None:
    """``aggregate`` of ``obj`` without a reference to it (the deriver keeps one per node);
    ``None`` when the service selects no pods: its own status stands."""
    return _endpoints_ready if _selects_pods(obj) else None


def _endpoints_ready(own: st.Status, deps: st.Dependencies) -> st.Status:
    if own.is_down:
        return own
    if deps.total["pod"] == 0:
        return st.down("NoEndpoints")
    if deps.up("pod") == 0:
        return st.down("NoReadyEndpoints")
    return own


def references(obj: fields.Obj) -> list[refs.Reference]:
    out: list[refs.Reference] = [*fields.namespace_owner(obj), *fields.owners(obj)]
    if _selects_pods(obj):
        out += fields.pod_selector(obj, refs.Relation.SERVICE, map_selector=True)
    out.append(
        refs.ByName(
            kind="Endpoints",
            namespace=fields.namespace(obj),
            name=fields.name(obj),
            relation=refs.Relation.SERVICE,
            required=False,
        )
    )
    return out
