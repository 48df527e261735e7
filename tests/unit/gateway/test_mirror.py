"""The live mirror: transitions without the neighbourhood when no subscriber needs it, and
advancing without transitions, leave the same graph and the same events."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from gateway import events
from gateway.mirror import Element, Mirror, Transition
from gateway.scope import Scope
from store.history import FeedEntry
from store.keys import Kind
from topolog.core import query


def node(uid: str, ns: str | None, kind: str = "pod", app: str = "web") -> Element:
    k8s: dict[str, Any] = {"Labels": {"app": app}}
    if ns is not None:
        k8s["Namespace"] = ns
    metadata = {"Type": kind, "Name": uid, "State": "UP", "RootCause": [], "K8s": k8s}
    return {"ID": uid, "Metadata": metadata}


NODES: list[Element | None] = [
    None,
    node("x", "shop"),
    node("x", "shop", app="db"),
    node("x", "other"),
    node("x", None, kind="node"),
    node("x", None, kind="namespace"),
]
FAR: list[Element | None] = [None, node("far", "shop"), node("far", "other", app="db")]


def vis(scope: Scope, gremlin: str | None, alerts_only: bool = False) -> events.Visibility:
    flt = query.element_filter(query.parse(gremlin)) if gremlin else None
    return events.Visibility(scope, flt, alerts_only=alerts_only)


VISIBILITIES = [
    vis(scope, gremlin, alerts)
    for scope in (Scope(), Scope(frozenset({"shop"})), Scope(frozenset({"other"})))
    for gremlin in (
        None,
        "G.V().Has('K8s.Namespace', 'shop')",
        "G.V().Has('K8s.Labels.app', 'web')",
        "G.E().Has('RelationType', 'ownership')",
    )
    for alerts in (False, True)
]


def test_a_node_change_that_needs_no_neighbourhood_flips_no_incident_edge() -> None:
    checked = 0
    for before, after, far, parent_side in itertools.product(NODES, NODES, FAR, (True, False)):
        edge = {
            "ID": "e",
            "Parent": "x" if parent_side else "far",
            "Child": "far" if parent_side else "x",
            "Metadata": {"RelationType": "ownership"},
        }
        tr = Transition(
            Kind.NODE,
            "x",
            before,
            after,
            incident=((edge, "far"),),
            neighbours={"far": far} if far is not None else {},
        )
        for v in VISIBILITIES:
            if v.alerts_only or events.needs_neighbourhood(v, before, after):
                continue
            checked += 1
            assert events._incident_flips(tr, v) == [], (before, after, far, v)
    assert checked > 1000
    # It is not vacuous: some changes do need it.
    assert events.needs_neighbourhood(VISIBILITIES[2], NODES[1], NODES[3])


def upsert(kind: str, element: Element, revision: int) -> dict[str, Any]:
    return {
        "op": f"{kind}.upsert",
        "id": element["ID"],
        "Revision": revision,
        "CreatedAt": 1,
        "UpdatedAt": revision,
        "Source": None,
        kind: element,
    }


def delete(kind: str, element_id: str, revision: int) -> dict[str, Any]:
    return {"op": f"{kind}.delete", "id": element_id, "Revision": revision, "DeletedAt": revision}


def entries() -> list[FeedEntry]:
    def edge(parent: str, child: str) -> Element:
        return {"ID": f"{parent}>{child}", "Parent": parent, "Child": child, "Metadata": {}}

    changes: list[list[dict[str, Any]]] = [
        [upsert("node", node("ns", None, kind="namespace"), 1)]
        + [upsert("node", node(f"p{i}", "shop"), 1) for i in range(4)]
        + [upsert("edge", edge("ns", f"p{i}"), 1) for i in range(4)],
        [upsert("node", node("p1", "other"), 2), upsert("edge", edge("p1", "p2"), 2)],
        [delete("edge", "ns>p0", 3), delete("node", "p0", 3)],
        [upsert("node", node("p2", "shop", app="db"), 4), delete("edge", "p1>p2", 4)],
        [{"op": "node.upsert", "id": "p3", "Revision": 5, "node": None}],
    ]
    return [FeedEntry(revision=r + 1, time=r, changes=c) for r, c in enumerate(changes)]


def state(mirror: Mirror) -> tuple[Any, ...]:
    return (mirror.revision, mirror.nodes, mirror.edges, mirror._incident)


def test_advancing_without_transitions_leaves_the_same_graph() -> None:
    applied, advanced = Mirror(), Mirror()
    for entry in entries():
        applied.apply(entry)
        advanced.advance(entry)
        assert state(advanced) == state(applied)
    assert set(applied.nodes) == {"ns", "p1", "p2", "p3"}


def test_events_are_the_same_with_the_neighbourhood_only_where_needed() -> None:
    for v in VISIBILITIES:
        full, lean = Mirror(), Mirror()
        for entry in entries():
            want = events.render(full.apply(entry), v)
            got = events.render(
                lean.apply(entry, lambda b, a, v=v: events.needs_neighbourhood(v, b, a)), v
            )
            assert got == want, v


def reference_sync(mirror: Mirror, v: events.Visibility) -> dict[str, Any]:
    """The definition: every node ``v`` shows, every edge ``v`` shows, by id."""

    def in_scope(node_id: str) -> bool:
        return v.scope.node_visible(mirror.nodes.get(node_id))

    nodes = [v.scope.redact(n, in_scope) for _, n in sorted(mirror.nodes.items()) if v.node(n)]
    edges = [
        e
        for _, e in sorted(mirror.edges.items())
        if v.edge(e, (mirror.nodes.get(e["Parent"]), mirror.nodes.get(e["Child"])))
    ]
    if v.alerts_only:
        nodes, edges = [n for n in nodes if n["Metadata"]["State"] == "DOWN"], []
    return {"Nodes": nodes, "Edges": edges, "Revision": mirror.revision}


def test_the_sync_of_a_view_holds_exactly_what_it_shows() -> None:
    nodes: dict[str, Element] = {}
    for i, (ns, app) in enumerate(itertools.product(["shop", "other", None], ["web", "db"])):
        n = node(f"n{i}", ns, kind="pod" if ns else "node", app=app)
        if i % 2:
            n["Metadata"].update(State="DOWN", RootCause=["n0", "n2", "gone"])
        nodes[n["ID"]] = n
    ids = [*nodes, "gone"]  # an edge may point at a node the mirror does not hold
    edges = {
        f"{p}>{c}": {
            "ID": f"{p}>{c}",
            "Parent": p,
            "Child": c,
            "Metadata": {"RelationType": "ownership" if (i + j) % 2 else "pod"},
        }
        for i, p in enumerate(ids)
        for j, c in enumerate(ids)
        if p != c and (i + j) % 3
    }
    mirror = Mirror(revision=7, nodes=nodes, edges=edges)
    shown = 0
    for v in VISIBILITIES:
        got = events.sync(mirror, v)
        assert got.name == "Sync"
        assert got.data == reference_sync(mirror, v), v
        shown += len(got.data["Edges"])
    assert shown > 0


def test_a_revisions_edges_ask_the_filter_about_each_end_node_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ns = {**node("ns", None, kind="namespace"), "CreatedAt": 1, "UpdatedAt": 1, "Revision": 1}
    pods = {
        f"p{i}": {**node(f"p{i}", "shop"), "CreatedAt": 1, "UpdatedAt": 1, "Revision": 1}
        for i in range(5)
    }
    mirror = Mirror(revision=1, nodes={"ns": ns, **pods})
    edges = [
        {
            "op": "edge.upsert",
            "id": f"ns>{p}",
            "Revision": 2,
            "CreatedAt": 2,
            "UpdatedAt": 2,
            "Source": None,
            "edge": {"ID": f"ns>{p}", "Parent": "ns", "Child": p, "Metadata": {}},
        }
        for p in pods
    ]
    transitions = mirror.apply(FeedEntry(revision=2, time=2, changes=edges))
    asked: list[str | None] = []
    real = events.Visibility.node

    def counting(self: events.Visibility, n: Element | None) -> bool:
        asked.append(n["ID"] if n else None)
        return real(self, n)

    monkeypatch.setattr(events.Visibility, "node", counting)
    v = vis(Scope(), "G.V().Has('Type', 'namespace')")
    assert events.render(transitions, v) == []  # no pod is a namespace: no edge visible
    assert sorted(asked) == ["ns", *pods]  # once each, not once per edge
    asked.clear()
    w = vis(Scope(), "G.V()")
    assert [e.name for e in events.render(transitions, w)] == ["EdgeAdded"] * 5
    assert asked.count("ns") == 1
