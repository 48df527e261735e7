"""cluster: the derived top node every cluster-scoped object hangs from.

Flows in: ``{"metadata": {"name": <cluster name>}}`` (no Kubernetes object exists).
Flows out: the cluster node's fields; it is always UP and declares nothing.
"""

from __future__ import annotations

from typing import Any

from topolog.core import status as st
from topolog.core.kinds import fields, refs

KIND = refs.CLUSTER
NAMESPACED = False


def stub(cluster: str) -> dict[str, Any]:
    """The object the cluster node is derived from."""
    return {"metadata": {"name": cluster}}


def metadata(obj: fields.Obj) -> dict[str, Any]:
    return {}


def status(obj: fields.Obj, now: float) -> st.Status:
    return st.up()


def references(obj: fields.Obj) -> list[refs.Reference]:
    return []
