"""The hub's fan-out: a group renders only the transitions that concern it, each node is
judged once per revision, and every group gets exactly the events of rendering the whole
revision for it."""

from __future__ import annotations

import itertools
from typing import Any

from gateway import events
from gateway.fanout import Fanout
from gateway.mirror import Element, Mirror
from gateway.scope import Scope
from store.history import FeedEntry
from tests.unit.gateway.test_mirror import VISIBILITIES, delete, entries, node, upsert, vis

#: Every kind of group at once: indexed and unindexed node filters, id starts,
#: alerts-only, edge filters, no filter, restricted scopes.
GROUPS = [
    *VISIBILITIES,
    *(
        vis(scope, gremlin, alerts)
        for scope in (Scope(), Scope(frozenset({"shop"})))
        for gremlin in (
            "G.V().HasEither('K8s.Namespace', 'other', 'K8s.Labels.app', 'db')",
            "G.V('p2')",
            "G.V().Has('Type', Within('pod', 'namespace')).Has('K8s.Labels.app', 'web')",
            "G.V().Has('K8s.Namespace', 'nowhere')",
            "G.V().HasNot('K8s.Namespace')",
        )
        for alerts in (False, True)
    ),
]


def down(element: Element, *causes: str) -> Element:
    out = {**element, "Metadata": {**element["Metadata"], "State": "DOWN"}}
    out["Metadata"]["RootCause"] = list(causes)
    return out


def more_entries() -> list[FeedEntry]:
    """``entries()`` and then state changes (alerts), moves, and edges between namespaces."""

    def edge(parent: str, child: str) -> Element:
        return {"ID": f"{parent}>{child}", "Parent": parent, "Child": child, "Metadata": {}}

    first = entries()
    changes: list[list[dict[str, Any]]] = [
        [upsert("node", node("q1", "other", app="db"), 6), upsert("edge", edge("p1", "q1"), 6)],
        [upsert("node", down(node("p2", "shop", app="db"), "q1", "ns"), 7)],
        [upsert("node", node("q1", "shop"), 8), upsert("edge", edge("ns", "q1"), 8)],
        [upsert("node", node("p2", "shop"), 9), delete("edge", "p1>q1", 9)],
        [delete("edge", "ns>q1", 10), delete("node", "q1", 10), delete("node", "p1", 10)],
    ]
    return first + [FeedEntry(revision=r + 6, time=r, changes=c) for r, c in enumerate(changes)]


def test_each_group_gets_the_events_of_rendering_the_whole_revision() -> None:
    fan = Fanout(GROUPS)
    full, lean = Mirror(), Mirror()
    made = 0
    for entry in more_entries():
        fan.next_revision()
        every = full.apply(entry)
        concerning = fan.concerning(lean.apply(entry, fan.needs))
        for i, v in enumerate(GROUPS):
            node_visible = fan.node_visible(i) if fan.filtered(i) else None
            got = events.render(concerning[i], v, node_visible)
            assert got == events.render(every, v), (entry.revision, v)
            made += len(got)
    assert made > 100


def test_needs_is_whether_any_group_needs_the_neighbourhood() -> None:
    fan = Fanout(GROUPS)
    nodes = [None, node("x", "shop"), node("x", "other", app="db"), node("x", None, "node")]
    for before, after in itertools.product(nodes, nodes):
        want = any(events.needs_neighbourhood(v, before, after) for v in GROUPS)
        assert fan.needs(before, after) is want


def test_a_group_whose_strings_a_revision_lacks_gets_nothing_to_render() -> None:
    groups = [
        vis(Scope(), f"G.V().Has('K8s.Namespace', '{ns}')") for ns in ("shop", "other", "nowhere")
    ]
    fan = Fanout(groups)
    mirror = Mirror()
    concerning = fan.concerning(mirror.apply(entries()[0], fan.needs))
    # The 4 shop pods; their edges go to the namespace node, which no filter shows.
    assert [len(c) for c in concerning] == [4, 0, 0]
    assert fan.mask(mirror.nodes["p1"]) == 0b001
    assert fan.mask(mirror.nodes["ns"]) == 0  # the namespace node has no K8s.Namespace
