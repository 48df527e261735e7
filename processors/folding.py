"""Folding changesets into the graph they end in (the store's semantics, in memory).

Flows in: ``graph.ChangeSet``s in graph-topic order.
Flows out: ``(nodes, edges)`` by id. Upserts replace, deletes remove, deleting a node
removes the edges still attached to it. Tests and the bench compare graphs with it.
"""

from __future__ import annotations

from collections.abc import Iterable

from topolog.core import graph

Graph = tuple[dict[str, graph.Node], dict[str, graph.Edge]]


def fold(changesets: Iterable[graph.ChangeSet]) -> Graph:
    nodes: dict[str, graph.Node] = {}
    edges: dict[str, graph.Edge] = {}
    for changeset in changesets:
        for change in changeset.changes:
            if change.op is graph.Op.NODE_UPSERT and change.node is not None:
                nodes[change.id] = change.node
            elif change.op is graph.Op.EDGE_UPSERT and change.edge is not None:
                edges[change.id] = change.edge
            elif change.op is graph.Op.EDGE_DELETE:
                edges.pop(change.id, None)
            elif change.op is graph.Op.NODE_DELETE:
                nodes.pop(change.id, None)
                for eid in [e.id for e in edges.values() if change.id in (e.parent, e.child)]:
                    del edges[eid]
    return nodes, edges
