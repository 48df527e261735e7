"""Alerts: state transitions of graph nodes, for downstream consumers.

Flows in: a node's state before and after one resource event (from ``engine``).
Flows out: ``Alert`` values; processors publish them (``to_json``) on the alerts topic.

A transition is a change of ``State`` (type ``State``). A node that appears DOWN is one
(old state ``None``); a node that appears UP, a node that is deleted, or a change of
reason or root cause alone are not.

A pod that gains an entry in ``OutdatedRefs`` (``derive.outdated``: it runs with an
older copy of a ConfigMap/Secret that changed) is one too, of type ``Outdated``, with
its state unchanged and a reason such as ``OutdatedSecret mysql-pass``; when one event
changes both, the state change is the alert (the flag stays on the node).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

import orjson

from topolog.core import graph

SCHEMA_VERSION = 1

#: ``OutdatedRefs`` kinds (node Types) → their name in a reason (``OutdatedSecret``).
_KIND_NAMES = {"secret": "Secret", "configmap": "ConfigMap"}


class AlertType(enum.StrEnum):
    """What the alert is about."""

    #: ``State`` changed (UP ⇄ DOWN, or appeared DOWN).
    STATE = "State"
    #: A pod runs with an outdated copy of a ConfigMap/Secret (``OutdatedRefs`` grew).
    OUTDATED = "Outdated"


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
    type: AlertType = AlertType.STATE

    def to_dict(self) -> dict[str, Any]:
        return {
            "v": SCHEMA_VERSION,
            "type": self.type.value,
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
    # Compared as strings first: most nodes keep their state, and an Enum look-up by
    # value costs more than the whole comparison.
    new_value = meta["State"]
    old_value = before.metadata["State"] if before is not None else None
    if old_value == new_value or (old_value is None and new_value == graph.State.UP.value):
        return _outdated(before, after, time=time, source=source)
    new = graph.State(new_value)
    old = graph.State(old_value) if old_value is not None else None
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


def _outdated(
    before: graph.Node | None,
    after: graph.Node,
    *,
    time: float,
    source: graph.Source | None,
) -> Alert | None:
    """The alert for a pod whose ``OutdatedRefs`` gained entries (none if it did not)."""
    current = after.metadata.get("OutdatedRefs")
    if not current:
        return None
    held = before.metadata.get("OutdatedRefs") or () if before is not None else ()
    seen = {_ref_key(r) for r in held}
    new_refs = [r for r in current if _ref_key(r) not in seen]
    if not new_refs:
        return None
    meta = after.metadata
    state = graph.State(meta["State"])
    k8s = meta.get("K8s") or {}
    reason = ", ".join(
        f"Outdated{_KIND_NAMES.get(str(r.get('Kind')), str(r.get('Kind')))} {r.get('Name')}"
        for r in new_refs
    )
    return Alert(
        id=after.id,
        kind=str(meta.get("Type", "")),
        name=str(meta.get("Name", "")),
        namespace=str(k8s.get("Namespace", "")),
        old_state=graph.State(before.metadata["State"]) if before is not None else state,
        new_state=state,
        reason=reason,
        root_cause=tuple(meta.get("RootCause") or ()),
        time=time,
        source=source,
        type=AlertType.OUTDATED,
    )


def _ref_key(ref: Any) -> tuple[str, str, int]:
    return (str(ref.get("Kind")), str(ref.get("Name")), int(ref.get("ChangedAt") or 0))
