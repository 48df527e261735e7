"""The root cause of a node: its RootCause ids resolved to nodes, with their provenance.

Flows in: a backend, the caller's scope, a node id and an optional time (ms).
Flows out: ``{"Node", "Source", "RootCause": [{"Node", "Source"}], "Hidden"}`` — each
``Source`` the resource-topic record (topic, partition, offset) that produced that
version of the node, so the event behind a failure can be read back; ``Hidden`` counts
causes outside the scope (their ids are not shown). None when the node is not visible.
"""

from __future__ import annotations

from typing import Any

from gateway.backend import Backend, Kind, Version
from gateway.scope import Scope


def _entry(version: Version) -> dict[str, Any]:
    return {
        "Node": version.element(),
        "Source": version.source.to_dict() if version.source is not None else None,
    }


async def root_cause(
    backend: Backend, scope: Scope, node_id: str, at_ms: int | None = None
) -> dict[str, Any] | None:
    found = (await backend.versions(Kind.NODE, [node_id], at_ms)).get(node_id)
    if found is None or not scope.node_visible(found.element()):
        return None
    metadata = found.body.get("Metadata") or {}
    ids = [str(i) for i in metadata.get("RootCause") or []]
    causes = await backend.versions(Kind.NODE, ids, at_ms)
    visible = [causes[i] for i in ids if i in causes and scope.node_visible(causes[i].element())]
    shown = {i for i in ids if i in causes and scope.node_visible(causes[i].element())}
    node = scope.redact(found.element(), shown.__contains__)
    return {
        "Node": node,
        "Source": found.source.to_dict() if found.source is not None else None,
        "State": metadata.get("State"),
        "StateReason": metadata.get("StateReason"),
        "RootCause": [_entry(v) for v in visible],
        "Hidden": len(ids) - len(visible) if not scope.unrestricted else 0,
    }
