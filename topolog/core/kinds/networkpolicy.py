"""networkpolicy: a node only; its edges to pods come from ``topolog.core.netpol.edges``.

Flows in: a NetworkPolicy. Flows out: the pod selector, the policy types (inferred as
the API server does when omitted: Ingress always, Egress when egress rules exist) and
the rule counts; always UP.
"""

from __future__ import annotations

from typing import Any

from topolog.core import status as st
from topolog.core.kinds import fields, refs

KIND = "NetworkPolicy"
NAMESPACED = True


def policy_types(obj: fields.Obj) -> list[str]:
    spec = fields.spec(obj)
    declared = fields.strings(spec.get("policyTypes"))
    if declared:
        return declared
    return ["Ingress", "Egress"] if "egress" in spec else ["Ingress"]


def metadata(obj: fields.Obj) -> dict[str, Any]:
    spec = fields.spec(obj)
    return {
        "PodSelector": dict(fields.mapping(spec.get("podSelector"))),
        "PolicyTypes": policy_types(obj),
        "IngressRules": len(fields.items(spec.get("ingress"))),
        "EgressRules": len(fields.items(spec.get("egress"))),
    }


def status(obj: fields.Obj, now: float) -> st.Status:
    return st.up()


def references(obj: fields.Obj) -> list[refs.Reference]:
    return fields.namespace_owner(obj)
