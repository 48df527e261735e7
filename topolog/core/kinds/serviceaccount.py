"""serviceaccount: the identity pods run as (pod → serviceaccount).

Flows in: a ServiceAccount. Flows out: the names of its secrets and image pull secrets
and whether tokens are mounted; always UP.
"""

from __future__ import annotations

from typing import Any

from topolog.core import status as st
from topolog.core.kinds import fields, refs

KIND = "ServiceAccount"
NAMESPACED = True


def metadata(obj: fields.Obj) -> dict[str, Any]:
    automount = obj.get("automountServiceAccountToken")
    return {
        "Secrets": sorted(str(s.get("name")) for s in fields.items(obj.get("secrets"))),
        "ImagePullSecrets": sorted(
            str(s.get("name")) for s in fields.items(obj.get("imagePullSecrets"))
        ),
        "AutomountServiceAccountToken": automount is not False,
    }


def status(obj: fields.Obj, now: float) -> st.Status:
    return st.up()


def references(obj: fields.Obj) -> list[refs.Reference]:
    return [*fields.namespace_owner(obj), *fields.owners(obj)]
