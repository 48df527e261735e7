"""node: a cluster machine; pods bound to it depend on it (node → pod).

Flows in: a Node object. Flows out: Skydive's Hostname/InternalIP/ExternalIP/Arch/
Kernel/OS; UP exactly when the Ready condition is True.
"""

from __future__ import annotations

from typing import Any

from topolog.core import status as st
from topolog.core.kinds import fields, refs

KIND = "Node"
NAMESPACED = False


def _address(obj: fields.Obj, kind: str) -> str:
    for addr in fields.items(fields.status(obj).get("addresses")):
        if addr.get("type") == kind:
            return str(addr.get("address") or "")
    return ""


def metadata(obj: fields.Obj) -> dict[str, Any]:
    info = fields.mapping(fields.status(obj).get("nodeInfo"))
    return {
        "Hostname": _address(obj, "Hostname"),
        "InternalIP": _address(obj, "InternalIP"),
        "ExternalIP": _address(obj, "ExternalIP"),
        "Arch": str(info.get("architecture") or ""),
        "Kernel": str(info.get("kernelVersion") or ""),
        "OS": str(info.get("osImage") or info.get("operatingSystem") or ""),
        "Unschedulable": bool(fields.spec(obj).get("unschedulable")),
    }


def status(obj: fields.Obj, now: float) -> st.Status:
    ready = fields.condition(obj, "Ready")
    if ready is None:
        # A node that never reported is not known to run anything.
        return st.down("NotReady")
    if ready.get("status") == "True":
        return st.up("Ready")
    return st.down(fields.reason_of(ready, "NotReady"))


def references(obj: fields.Obj) -> list[refs.Reference]:
    return fields.cluster_owner()
