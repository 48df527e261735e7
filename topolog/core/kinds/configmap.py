"""configmap: read by pods (pod → configmap); only its keys are shown.

Flows in: a sanitized ConfigMap (values dropped upstream, keys kept in ``dataKeys``).
Flows out: ``Data`` = the sorted keys; always UP.
"""

from __future__ import annotations

from typing import Any

from topolog.core import status as st
from topolog.core.kinds import fields, refs

KIND = "ConfigMap"
NAMESPACED = True


def metadata(obj: fields.Obj) -> dict[str, Any]:
    return {"Data": fields.data_keys(obj, "data", "binaryData")}


def status(obj: fields.Obj, now: float) -> st.Status:
    return st.up()


def references(obj: fields.Obj) -> list[refs.Reference]:
    return [*fields.namespace_owner(obj), *fields.owners(obj)]
