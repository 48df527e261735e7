"""Small graph builders for the store tests."""

from __future__ import annotations

from topolog.core import graph

T0 = 1_700_000_000.0  # a changeset time in epoch seconds


def pod(
    uid: str, name: str, *, ns: str = "default", state: str = "UP", **labels: str
) -> graph.Node:
    return graph.Node(
        id=uid,
        metadata={
            "Type": "pod",
            "Name": name,
            "Manager": "k8s",
            "State": state,
            "K8s": {"Name": name, "Namespace": ns, "Labels": dict(labels)},
        },
    )


def link(parent: str, child: str, relation: str = "ownership") -> graph.Edge:
    return graph.Edge(
        id=graph.edge_id(parent, child, relation),
        parent=parent,
        child=child,
        metadata={"RelationType": relation},
    )


def src(offset: int) -> graph.Source:
    return graph.Source(topic="topolog.resources", partition=0, offset=offset)


def upsert_node(node: graph.Node, offset: int = 0) -> graph.Change:
    return graph.Change(op=graph.Op.NODE_UPSERT, id=node.id, node=node, source=src(offset))


def upsert_edge(edge: graph.Edge, offset: int = 0) -> graph.Change:
    return graph.Change(op=graph.Op.EDGE_UPSERT, id=edge.id, edge=edge, source=src(offset))


def delete_node(node_id: str, offset: int = 0) -> graph.Change:
    return graph.Change(op=graph.Op.NODE_DELETE, id=node_id, source=src(offset))


def delete_edge(edge_id: str, offset: int = 0) -> graph.Change:
    return graph.Change(op=graph.Op.EDGE_DELETE, id=edge_id, source=src(offset))


def changeset(at: float, *changes: graph.Change) -> graph.ChangeSet:
    return graph.ChangeSet(time=at, changes=list(changes))
