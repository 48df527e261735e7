"""An in-memory graph at one time: what a point-in-time read materialises.

Flows in: the versions alive at a time (from Redis through ``store.reader`` or from a
Kafka replay through ``store.history``).
Flows out: synchronous reads in Skydive shape (``{ID, Metadata, CreatedAt, UpdatedAt,
Revision}``, edges with ``Parent``/``Child``), with the same indexes as the live store.
"""

from __future__ import annotations

import enum
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from store import encoding


class Direction(enum.StrEnum):
    """Which edges of a node: OUT where it is the Parent, IN where it is the Child."""

    OUT = "out"
    IN = "in"
    BOTH = "both"


class Snapshot:
    """The graph at ``time`` (epoch ms; ``None`` = the latest state)."""

    def __init__(
        self,
        *,
        time: int | None,
        revision: int,
        nodes: Mapping[str, encoding.Version],
        edges: Mapping[str, encoding.Version],
    ) -> None:
        self.time = time
        #: The global revision the snapshot was read at (0 when unknown, e.g. at a past time).
        self.revision = revision
        self._nodes = {i: v.element() for i, v in nodes.items()}
        self._edges = {i: v.element() for i, v in edges.items()}
        self._out: dict[str, set[str]] = defaultdict(set)
        self._in: dict[str, set[str]] = defaultdict(set)
        for edge_id, edge in self._edges.items():
            self._out[edge["Parent"]].add(edge_id)
            self._in[edge["Child"]].add(edge_id)
        self._index: dict[str, set[str]] = defaultdict(set)
        for node_id, node in self._nodes.items():
            for term in encoding.node_terms(node.get("Metadata", {})):
                self._index[term].add(node_id)

    def node(self, node_id: str) -> dict[str, Any] | None:
        return self._nodes.get(node_id)

    def nodes(self, node_ids: Iterable[str]) -> list[dict[str, Any]]:
        """The nodes among ``node_ids`` that exist, in the given order."""
        return [n for n in (self._nodes.get(i) for i in node_ids) if n is not None]

    def node_ids(self) -> set[str]:
        return set(self._nodes)

    def nodes_by_index(self, key: str, value: str) -> set[str]:
        if not encoding.is_indexed(key):
            raise KeyError(f"{key!r} is not indexed")
        return set(self._index.get(encoding.term(key, value), ()))

    def edge(self, edge_id: str) -> dict[str, Any] | None:
        return self._edges.get(edge_id)

    def edges(self, edge_ids: Iterable[str]) -> list[dict[str, Any]]:
        return [e for e in (self._edges.get(i) for i in edge_ids) if e is not None]

    def edge_ids(self) -> set[str]:
        return set(self._edges)

    def edges_of(self, node_id: str, direction: Direction = Direction.BOTH) -> set[str]:
        out: set[str] = set()
        if direction in (Direction.OUT, Direction.BOTH):
            out |= self._out.get(node_id, set())
        if direction in (Direction.IN, Direction.BOTH):
            out |= self._in.get(node_id, set())
        return out

    def topology(self) -> dict[str, list[dict[str, Any]]]:
        """``GET /api/topology``'s shape: ``{"Nodes": [...], "Edges": [...]}``."""
        return {"Nodes": list(self._nodes.values()), "Edges": list(self._edges.values())}
