"""An in-memory graph at one time or over a time slice: a ``GraphView`` (query/view.py).

Flows in: the versions in view (from Redis through ``store.reader`` or from a Kafka
replay through ``store.history``).
Flows out: synchronous reads in Skydive shape (``{ID, Metadata, CreatedAt, UpdatedAt,
Revision}`` plus ``DeletedAt`` for a revision that ended with its deletion; edges with
``Parent``/``Child``), with the same indexes as the live store. This is how the store
serves the evaluator's synchronous protocol: prefetch a snapshot, then evaluate.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from store import encoding
from topolog.core.query import view

Direction = view.Direction
Element = dict[str, Any]


class Snapshot:
    """The graph at ``time`` (epoch ms; ``None`` = the latest state) or over a slice."""

    def __init__(
        self,
        *,
        time: int | None,
        revision: int,
        nodes: Mapping[str, encoding.Version],
        edges: Mapping[str, encoding.Version],
    ) -> None:
        self.time = time
        #: The global revision the snapshot was read at (0 for a past time or a slice).
        self.revision = revision
        self._nodes = {i: v.element() for i, v in nodes.items()}
        self._edges = {i: v.element() for i, v in edges.items()}
        self._out: dict[str, list[str]] = defaultdict(list)
        self._in: dict[str, list[str]] = defaultdict(list)
        for edge_id in sorted(self._edges):
            edge = self._edges[edge_id]
            self._out[edge["Parent"]].append(edge_id)
            self._in[edge["Child"]].append(edge_id)
        self._index: dict[str, list[str]] = defaultdict(list)
        for node_id in sorted(self._nodes):
            for term in encoding.node_terms(self._nodes[node_id].get("Metadata", {})):
                self._index[term].append(node_id)

    # --- GraphView -------------------------------------------------------------------
    def nodes(self, ids: Sequence[str]) -> list[Element | None]:
        return [self._nodes.get(i) for i in ids]

    def edges(self, ids: Sequence[str]) -> list[Element | None]:
        return [self._edges.get(i) for i in ids]

    def all_node_ids(self) -> Iterable[str]:
        return list(self._nodes)

    def all_edge_ids(self) -> Iterable[str]:
        return list(self._edges)

    def nodes_by_index(self, key: str, value: str) -> Iterable[str]:
        if not encoding.is_indexed(key):
            raise KeyError(f"{key!r} is not indexed")
        return list(self._index.get(encoding.term(key, value), ()))

    def edges_of(self, node_ids: Sequence[str], direction: view.Direction) -> list[list[str]]:
        out: list[list[str]] = []
        for node_id in node_ids:
            ids: list[str] = []
            if direction is not Direction.IN:
                ids.extend(self._out.get(node_id, ()))
            if direction is not Direction.OUT:
                ids.extend(i for i in self._in.get(node_id, ()) if i not in ids)
            out.append(ids)
        return out

    # --- conveniences ----------------------------------------------------------------
    def node(self, node_id: str) -> Element | None:
        return self._nodes.get(node_id)

    def edge(self, edge_id: str) -> Element | None:
        return self._edges.get(edge_id)

    def topology(self) -> dict[str, list[Element]]:
        """``GET /api/topology``'s shape: ``{"Nodes": [...], "Edges": [...]}``."""
        return {"Nodes": list(self._nodes.values()), "Edges": list(self._edges.values())}
