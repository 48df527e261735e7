"""secret: read by pods and ingresses; never its values — only its type and keys.

Flows in: a sanitized Secret (metadata-only from the API, so ``type`` may be absent;
``dataKeys`` from ``topolog.core.sanitize``). Flows out: ``Type`` and ``Data`` = the
sorted keys; always UP.
"""

from __future__ import annotations

from typing import Any

from topolog.core import status as st
from topolog.core.kinds import fields, refs

KIND = "Secret"
NAMESPACED = True


def metadata(obj: fields.Obj) -> dict[str, Any]:
    return {
        "Type": str(obj.get("type") or ""),
        "Data": fields.data_keys(obj, "data", "stringData"),
    }


def status(obj: fields.Obj, now: float) -> st.Status:
    return st.up()


def references(obj: fields.Obj) -> list[refs.Reference]:
    return [*fields.namespace_owner(obj), *fields.owners(obj)]
