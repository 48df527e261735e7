"""Small graph builders for the store tests."""

from __future__ import annotations

import random

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


def random_changesets(seed: int, count: int, size: int = 4) -> list[graph.ChangeSet]:
    """Random changesets of 1 to ``size`` changes over 8 node ids: same-ms and sub-ms
    times, clock skew, recreations."""
    rnd = random.Random(seed)
    node_ids = [f"n{i}" for i in range(8)]
    out = []
    t = T0
    for _ in range(count):
        t += rnd.choice([0, 0.0004, 0.5, 1, 3, -2])  # same ms, sub-ms, and clock skew
        changes: list[graph.Change] = []
        for _ in range(rnd.randint(1, size)):
            a, b = rnd.choice(node_ids), rnd.choice(node_ids)
            roll = rnd.random()
            if roll < 0.4:
                changes.append(
                    upsert_node(
                        pod(
                            a,
                            f"name-{a}",
                            state=rnd.choice(["UP", "DOWN"]),
                            app=rnd.choice(["x", "y"]),
                        ),
                        rnd.randint(0, 99),
                    )
                )
            elif roll < 0.7:
                changes.append(upsert_edge(link(a, b, rnd.choice(["ownership", "service"]))))
            elif roll < 0.85:
                changes.append(delete_node(a))
            else:
                changes.append(delete_edge(link(a, b).id))
        out.append(changeset(t, *changes))
    return out
