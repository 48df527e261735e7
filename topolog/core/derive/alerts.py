"""Alerts: state transitions of graph nodes, for downstream consumers.

Flows in: a node's state before and after one resource event (from ``engine``).
Flows out: ``Alert`` values; processors publish them (``to_json``) on the alerts topic.

A transition is a change of ``State``. A node that appears DOWN is one (old state
``None``); a node that appears UP, a node that is deleted, or a change of reason or
root cause alone are not.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from topolog.core import graph

SCHEMA_VERSION = 1


@dataclass(frozen=True, slots=True)
class Alert:
    id: str
    #: The node Type (lower-case kind).
    kind: str
    name: str
    namespace: str
    old_state: graph.State | None
    new_state: graph.State
    reason: str
    root_cause: tuple[str, ...]
    #: ``observed_at`` of the resource event that caused the transition (epoch seconds).
    time: float
    source: graph.Source | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "v": SCHEMA_VERSION,
            "id": self.id,
            "kind": self.kind,
            "name": self.name,
            "namespace": self.namespace,
            "oldState": self.old_state.value if self.old_state is not None else None,
            "newState": self.new_state.value,
            "reason": self.reason,
            "rootCause": list(self.root_cause),
            "time": self.time,
            "source": self.source.to_dict() if self.source is not None else None,
        }

    def to_json(self) -> bytes:
        return orjson.dumps(self.to_dict())


def transition(
    before: graph.Node | None,
    after: graph.Node | None,
    *,
    time: float,
    source: graph.Source | None,
) -> Alert | None:
    """The alert for a node that was ``before`` and is ``after`` (``None``: absent)."""
    if after is None:
        return None
    meta = after.metadata
    new = graph.State(meta["State"])
    old = graph.State(before.metadata["State"]) if before is not None else None
    if old == new or (old is None and new is graph.State.UP):
        return None
    k8s = meta.get("K8s") or {}
    return Alert(
        id=after.id,
        kind=str(meta.get("Type", "")),
        name=str(meta.get("Name", "")),
        namespace=str(k8s.get("Namespace", "")),
        old_state=old,
        new_state=new,
        reason=str(meta.get("StateReason", "")),
        root_cause=tuple(meta.get("RootCause") or ()),
        time=time,
        source=source,
    )
