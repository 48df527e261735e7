from __future__ import annotations

from processors import folding
from topolog.core import graph


def _node(i: str) -> graph.Change:
    return graph.Change(graph.Op.NODE_UPSERT, i, node=graph.Node(i, {"Name": i}))


def _edge(i: str, parent: str, child: str) -> graph.Change:
    return graph.Change(graph.Op.EDGE_UPSERT, i, edge=graph.Edge(i, parent, child, {}))


def test_deleting_a_node_removes_the_edges_still_attached_to_it() -> None:
    nodes, edges = folding.fold(
        [
            graph.ChangeSet(1.0, [_node("a"), _node("b"), _node("c"), _edge("ab", "a", "b")]),
            graph.ChangeSet(2.0, [_edge("bc", "b", "c"), graph.Change(graph.Op.NODE_DELETE, "a")]),
        ]
    )
    assert sorted(nodes) == ["b", "c"]
    assert sorted(edges) == ["bc"]


def test_a_later_upsert_replaces_the_element() -> None:
    later = graph.Change(graph.Op.NODE_UPSERT, "a", node=graph.Node("a", {"Name": "new"}))
    nodes, _ = folding.fold([graph.ChangeSet(1.0, [_node("a")]), graph.ChangeSet(2.0, [later])])
    assert nodes["a"].metadata == {"Name": "new"}
