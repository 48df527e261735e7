"""namespace: owned by the cluster, owner of every namespaced object.

Flows in: a Namespace object. Flows out: ``Status`` (phase); always UP (a terminating
namespace says so in its reason).
"""

from __future__ import annotations

from typing import Any

from topolog.core import status as st
from topolog.core.kinds import fields, refs

KIND = "Namespace"
NAMESPACED = False


def metadata(obj: fields.Obj) -> dict[str, Any]:
    return {"Status": str(fields.status(obj).get("phase") or "Active")}


def status(obj: fields.Obj, now: float) -> st.Status:
    return st.up(str(fields.status(obj).get("phase") or "Active"))


def references(obj: fields.Obj) -> list[refs.Reference]:
    return fields.cluster_owner()
