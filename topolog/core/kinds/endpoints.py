"""endpoints: the addresses behind a service (service → endpoints, by name).

Flows in: an Endpoints object. Flows out: ready and not-ready addresses and ports; UP
when at least one address is ready.
"""

from __future__ import annotations

from typing import Any

from topolog.core import status as st
from topolog.core.kinds import fields, refs

KIND = "Endpoints"
NAMESPACED = True


def _addresses(obj: fields.Obj, field: str) -> list[str]:
    return sorted(
        str(a.get("ip") or "")
        for subset in fields.items(obj.get("subsets"))
        for a in fields.items(subset.get(field))
    )


def metadata(obj: fields.Obj) -> dict[str, Any]:
    ports = sorted(
        (
            {
                "Name": str(p.get("name") or ""),
                "Port": fields.integer(p.get("port")),
                "Protocol": str(p.get("protocol") or "TCP"),
            }
            for subset in fields.items(obj.get("subsets"))
            for p in fields.items(subset.get("ports"))
        ),
        key=lambda p: (p["Name"], p["Port"], p["Protocol"]),
    )
    return {
        "Addresses": _addresses(obj, "addresses"),
        "NotReadyAddresses": _addresses(obj, "notReadyAddresses"),
        "Ports": ports,
    }


def status(obj: fields.Obj, now: float) -> st.Status:
    if _addresses(obj, "addresses"):
        return st.up("Ready")
    return st.down("NoReadyAddresses")


def references(obj: fields.Obj) -> list[refs.Reference]:
    return [*fields.namespace_owner(obj), *fields.owners(obj)]
