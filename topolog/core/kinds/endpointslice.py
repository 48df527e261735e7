"""endpointslice: a slice of a service's endpoints (service → endpointslice).

Flows in: an EndpointSlice. Flows out: AddressType, ready addresses, ports, the
service it belongs to (label ``kubernetes.io/service-name``); UP when an endpoint is
ready (an absent ``ready`` condition counts as ready, as for kube-proxy).
"""

from __future__ import annotations

from typing import Any

from topolog.core import status as st
from topolog.core.kinds import fields, refs

KIND = "EndpointSlice"
NAMESPACED = True

SERVICE_NAME_LABEL = "kubernetes.io/service-name"


def _ready_addresses(obj: fields.Obj) -> list[str]:
    out: list[str] = []
    for endpoint in fields.items(obj.get("endpoints")):
        if fields.mapping(endpoint.get("conditions")).get("ready") is False:
            continue
        out += fields.strings(endpoint.get("addresses"))
    return sorted(out)


def metadata(obj: fields.Obj) -> dict[str, Any]:
    ports = sorted(
        (
            {
                "Name": str(p.get("name") or ""),
                "Port": fields.integer(p.get("port")),
                "Protocol": str(p.get("protocol") or "TCP"),
            }
            for p in fields.items(obj.get("ports"))
        ),
        key=lambda p: (p["Name"], p["Port"], p["Protocol"]),
    )
    return {
        "AddressType": str(obj.get("addressType") or ""),
        "Addresses": _ready_addresses(obj),
        "Ports": ports,
        "ServiceName": fields.labels(obj).get(SERVICE_NAME_LABEL, ""),
    }


def status(obj: fields.Obj, now: float) -> st.Status:
    if _ready_addresses(obj):
        return st.up("Ready")
    return st.down("NoReadyEndpoints")


def references(obj: fields.Obj) -> list[refs.Reference]:
    out: list[refs.Reference] = [*fields.namespace_owner(obj), *fields.owners(obj)]
    service = fields.labels(obj).get(SERVICE_NAME_LABEL)
    if service:
        out.append(
            refs.ByName(
                kind="Service",
                namespace=fields.namespace(obj),
                name=service,
                relation=refs.Relation.SERVICE,
                declarer=refs.End.CHILD,
                required=False,
            )
        )
    return out
