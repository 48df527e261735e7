"""The graph model shared by processors, store and gateway (Skydive-compatible shape).

Flows in: nothing (pure types).
Flows out: ``Node``/``Edge`` values and ``Change``s; processors emit ``ChangeSet``s on
the graph topic, the store projects them into Redis, the gateway serves them.

Wire form of a ``ChangeSet`` (one Kafka record on the graph topic, orjson)::

    {"v": 1, "time": <epoch s of the source event>, "changes": [
        {"op": "node.upsert", "id": ..., "node": {"ID":..., "Metadata": {...}},
         "source": {"topic":..., "partition":..., "offset":...}},
        {"op": "edge.upsert", "id": ...,
         "edge": {"ID":..., "Parent":..., "Child":..., "Metadata": {...}}},
        {"op": "node.delete", "id": ...},
        {"op": "edge.delete", "id": ...}]}

Upserts carry the element's complete new state (not a patch), so applying a change
twice is harmless and the store can diff against what it holds.
"""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass, field
from typing import Any

import orjson

SCHEMA_VERSION = 1

Metadata = dict[str, Any]


class State(enum.StrEnum):
    UP = "UP"
    DOWN = "DOWN"


class Op(enum.StrEnum):
    NODE_UPSERT = "node.upsert"
    NODE_DELETE = "node.delete"
    EDGE_UPSERT = "edge.upsert"
    EDGE_DELETE = "edge.delete"


#: ``Node``, ``Edge`` and ``Change`` are plain slotted dataclasses, not frozen ones: the
#: deriver builds a dozen per event, and a frozen dataclass's ``__init__`` (one
#: ``object.__setattr__`` per field) costs four times as much. They are values all the
#: same: nobody assigns to their fields (their metadata dicts are shared, read-only).


@dataclass(slots=True)
class Node:
    id: str
    metadata: Metadata

    # An explicit ``__init__`` (the dataclass keeps it): compiled, the generated one is
    # interpreted code, ~5x slower to call (millions per sync; docs/processors.md).
    def __init__(self, id: str, metadata: Metadata) -> None:
        self.id = id
        self.metadata = metadata

    def to_dict(self) -> dict[str, Any]:
        return {"ID": self.id, "Metadata": self.metadata}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Node:
        return cls(id=data["ID"], metadata=data["Metadata"])


@dataclass(slots=True)
class Edge:
    id: str
    parent: str
    child: str
    metadata: Metadata

    # An explicit ``__init__`` (the dataclass keeps it): compiled, the generated one is
    # interpreted code, ~5x slower to call (millions per sync; docs/processors.md).
    def __init__(self, id: str, parent: str, child: str, metadata: Metadata) -> None:
        self.id = id
        self.parent = parent
        self.child = child
        self.metadata = metadata

    def to_dict(self) -> dict[str, Any]:
        return {
            "ID": self.id,
            "Parent": self.parent,
            "Child": self.child,
            "Metadata": self.metadata,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Edge:
        return cls(
            id=data["ID"], parent=data["Parent"], child=data["Child"], metadata=data["Metadata"]
        )


@dataclass(frozen=True, slots=True)
class Source:
    """Provenance: the resource-topic record that caused a change."""

    topic: str
    partition: int
    offset: int

    def to_dict(self) -> dict[str, Any]:
        return {"topic": self.topic, "partition": self.partition, "offset": self.offset}


@dataclass(slots=True)
class Change:
    op: Op
    id: str
    node: Node | None = None
    edge: Edge | None = None
    source: Source | None = None

    # An explicit ``__init__`` (the dataclass keeps it): compiled, the generated one is
    # interpreted code, ~5x slower to call (millions per sync; docs/processors.md).
    def __init__(
        self,
        op: Op,
        id: str,
        node: Node | None = None,
        edge: Edge | None = None,
        source: Source | None = None,
    ) -> None:
        self.op = op
        self.id = id
        self.node = node
        self.edge = edge
        self.source = source

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"op": self.op.value, "id": self.id}
        if self.node is not None:
            out["node"] = self.node.to_dict()
        if self.edge is not None:
            out["edge"] = self.edge.to_dict()
        if self.source is not None:
            out["source"] = self.source.to_dict()
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Change:
        src = data.get("source")
        return cls(
            op=Op(data["op"]),
            id=data["id"],
            node=Node.from_dict(data["node"]) if "node" in data else None,
            edge=Edge.from_dict(data["edge"]) if "edge" in data else None,
            source=Source(**src) if src else None,
        )


@dataclass(slots=True)
class ChangeSet:
    time: float
    changes: list[Change] = field(default_factory=list)

    def to_json(self) -> bytes:
        """The wire form: the same bytes as ``orjson.dumps`` of each ``Change.to_dict()``,
        built with fewer steps (changesets hold thousands of changes; the changes of
        one event share one ``Source``, whose dict is built once)."""
        changes: list[dict[str, Any]] = []
        add = changes.append
        last: Source | None = None
        last_dict: dict[str, Any] = {}
        for c in self.changes:
            # ``Op`` is a ``str``: orjson writes its value.
            out: dict[str, Any] = {"op": c.op, "id": c.id}
            node, edge, source = c.node, c.edge, c.source
            if node is not None:
                out["node"] = {"ID": node.id, "Metadata": node.metadata}
            if edge is not None:
                out["edge"] = {
                    "ID": edge.id,
                    "Parent": edge.parent,
                    "Child": edge.child,
                    "Metadata": edge.metadata,
                }
            if source is not None:
                if source is not last:
                    last = source
                    last_dict = {
                        "topic": source.topic,
                        "partition": source.partition,
                        "offset": source.offset,
                    }
                out["source"] = last_dict
            add(out)
        return orjson.dumps({"v": SCHEMA_VERSION, "time": self.time, "changes": changes})

    @classmethod
    def from_json(cls, raw: bytes | str) -> ChangeSet:
        data = orjson.loads(raw)
        if data.get("v") != SCHEMA_VERSION:
            raise ValueError(f"unknown graph schema version {data.get('v')!r}")
        return cls(time=float(data["time"]), changes=[Change.from_dict(c) for c in data["changes"]])


def edge_id(parent: str, child: str, relation: str, *qualifiers: str) -> str:
    """Deterministic edge id: the same relation between the same nodes always has one id."""
    raw = "|".join((parent, child, relation, *qualifiers))
    return hashlib.sha1(raw.encode()).hexdigest()[:32]


def derived_id(*parts: str) -> str:
    """Deterministic id for nodes without a uid (cluster, containers, dangling refs)."""
    return hashlib.sha1("|".join(parts).encode()).hexdigest()[:32]
