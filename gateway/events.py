"""Stream events for one subscriber: pure functions of transitions and a ``Visibility``.

Flows in: ``mirror.Transition`` lists (one per feed revision) or a ``Mirror`` (for the
initial sync), and the subscriber's ``Visibility`` (its token's scope and its filter).
Flows out: ``Event`` values named as Skydive's websocket messages — ``NodeAdded``,
``NodeUpdated``, ``NodeDeleted``, ``EdgeAdded``, ``EdgeUpdated``, ``EdgeDeleted`` — plus
``Alert`` (a node's state transition, with its root cause) and ``Sync`` (a whole view).

What a subscriber sees at revision r is a function of the graph at r only: a node when
the scope and a node filter allow it; an edge when both its ends are visible nodes (or,
with an edge filter, when it matches and both ends are in scope). So an element entering
or leaving the view is an Added/Deleted event, and a node entering or leaving brings its
incident edges with it (edges before a leaving node, after an entering one).

Event ids: ``<history>:<revision>.<index>`` — the index in the revision's event list for
that subscriber — and ``<history>:<revision>`` for a sync. ``Cursor`` parses them back: a
client that saw ``r.i`` continues with event ``i + 1`` of revision ``r``. ``history`` names
the projection's identity (``P epoch``, see ``store.feed``): revision numbers start again
at 1 when the projection is rebuilt, so ``r`` alone would not say which graph a client saw.
Ids without it (``r.i``, from before it was added) are still accepted.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gateway.mirror import Element, Ends, Mirror, Transition
from gateway.scope import Scope
from store.keys import Kind
from topolog.core import graph
from topolog.core.derive import alerts
from topolog.core.query import Kind as QueryKind
from topolog.core.query import matching

NODE_ADDED = "NodeAdded"
NODE_UPDATED = "NodeUpdated"
NODE_DELETED = "NodeDeleted"
EDGE_ADDED = "EdgeAdded"
EDGE_UPDATED = "EdgeUpdated"
EDGE_DELETED = "EdgeDeleted"
ALERT = "Alert"
SYNC = "Sync"
RESYNC = "Resync"


#: Whether a node (or None) is visible to a subscriber: ``Visibility.node`` or a memo.
NodeVisible = Callable[[Element | None], bool]


@dataclass(frozen=True, slots=True)
class Event:
    name: str
    data: Any


@dataclass(frozen=True, slots=True)
class Visibility:
    scope: Scope
    filter: matching.ElementFilter | None = None
    #: Only ``Alert`` events (the ``/api/v1/alerts`` stream).
    alerts_only: bool = False

    def node(self, node: Element | None) -> bool:
        if not self.scope.node_visible(node):
            return False
        flt = self.filter
        if flt is None:
            return True
        return flt.kind is QueryKind.NODES and node is not None and flt.matches(node)

    def edge(
        self, edge: Element | None, ends: Ends, node: Callable[[Element | None], bool] | None = None
    ) -> bool:
        """Whether ``edge`` with these ends is visible; ``node``: ``self.node`` or a
        memo of it (``memo_nodes``)."""
        if edge is None:
            return False
        parent, child = ends
        flt = self.filter
        if flt is None:
            return self.scope.edge_visible(parent, child)
        if flt.kind is QueryKind.EDGES:
            return self.scope.edge_visible(parent, child) and flt.matches(edge)
        visible = self.node if node is None else node
        return visible(parent) and visible(child)

    def memo_nodes(self) -> Callable[[Element | None], bool]:
        """``self.node`` remembering its answer per node object: an edge filter through
        its ends asks about the same few parents (namespace, cluster, host) for every
        edge of a revision. Only while the nodes asked about stay alive (keyed by
        identity): one rendering or one sync."""
        seen: dict[int, bool] = {}

        def node(element: Element | None) -> bool:
            if element is None:
                return self.node(None)
            found = seen.get(id(element))
            if found is None:
                found = seen[id(element)] = self.node(element)
            return found

        return node


def history_tag(epoch: str) -> str:
    """The short name of a projection identity in event ids (8 hex digits)."""
    return hashlib.sha1(epoch.encode()).hexdigest()[:8]


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where a client is: after event ``index`` of ``revision`` (None = all of it), in
    the history ``history`` (``history_tag``; None for an id without one)."""

    revision: int
    index: int | None = None
    history: str | None = None

    def __str__(self) -> str:
        at = str(self.revision) if self.index is None else f"{self.revision}.{self.index}"
        return at if self.history is None else f"{self.history}:{at}"


_CURSOR = re.compile(r"(?:([0-9a-f]{8}):)?(\d{1,18})(?:\.(\d{1,9}))?")


def parse_cursor(text: str) -> Cursor:
    """``"5f3a09c1:12.3"``, ``"5f3a09c1:12"`` (or without the history: ``"12.3"``,
    ``"12"``) → ``Cursor``; ValueError for anything else."""
    match = _CURSOR.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"{text[:40]!r} is not an event id of this stream (like '5f3a09c1:12.3')")
    history, revision, index = match.groups()
    return Cursor(int(revision), int(index) if index is not None else None, history)


def sync(mirror: Mirror, vis: Visibility) -> Event:
    """The subscriber's whole view of the mirror (``{"Nodes", "Edges", "Revision"}``).

    Nodes and edges in id order. Only the edges that can be visible are looked at: with a
    node filter or a restricted scope an edge needs both ends visible, so the candidates
    are the visible nodes' incident edges — a selective stream on a big graph costs its
    own size, not the graph's (this runs on the event loop).
    """
    node = vis.memo_nodes()  # the mirror keeps every node asked about alive
    visible = {i: n for i, n in mirror.nodes.items() if node(n)}

    def in_scope(node_id: str) -> bool:
        return vis.scope.node_visible(mirror.nodes.get(node_id))

    nodes = [vis.scope.redact(visible[i], in_scope) for i in sorted(visible)]
    if vis.alerts_only:
        nodes = [n for n in nodes if _is_down(n)]
        return Event(SYNC, {"Nodes": nodes, "Edges": [], "Revision": mirror.revision})
    flt = vis.filter
    edges: list[Element]
    if flt is None and vis.scope.unrestricted:
        edges = [mirror.edges[i] for i in sorted(mirror.edges)]
    else:
        if flt is None or flt.kind is QueryKind.NODES:
            ids: set[str] = set()
            for node_id in visible:
                ids.update(mirror.incident_ids(node_id))
            candidates = sorted(ids)
        else:
            candidates = sorted(mirror.edges)
        edges = []
        for edge_id in candidates:
            e = mirror.edges[edge_id]
            if vis.edge(e, (mirror.nodes.get(e["Parent"]), mirror.nodes.get(e["Child"])), node):
                edges.append(e)
    return Event(SYNC, {"Nodes": nodes, "Edges": edges, "Revision": mirror.revision})


def _is_down(node: Element) -> bool:
    return bool((node.get("Metadata") or {}).get("State") == graph.State.DOWN.value)


def needs_neighbourhood(vis: Visibility, before: Element | None, after: Element | None) -> bool:
    """Whether a node changing from ``before`` to ``after`` can flip the visibility of
    one of its incident edges for ``vis`` — if not, ``render`` needs no incident edges.

    An edge's visibility depends on its ends only through the scope (unrestricted: not
    at all) or, with a node filter, through ``vis.node`` of each end; the far end is the
    same before and after, so only a change of the node's own visibility can flip it.
    """
    if vis.alerts_only:
        return False
    flt = vis.filter
    if flt is not None and flt.kind is QueryKind.NODES:
        return vis.node(before) != vis.node(after)
    if vis.scope.unrestricted:
        return False
    return vis.scope.node_visible(before) != vis.scope.node_visible(after)


def render(
    transitions: list[Transition], vis: Visibility, node: NodeVisible | None = None
) -> list[Event]:
    """The events one revision's transitions make for one subscriber, in order;
    ``node``: ``vis.node`` or a memo of it (default: one for this rendering)."""
    out: list[Event] = []
    if node is None:
        node = vis.memo_nodes()  # ``transitions`` keeps every node asked about alive
    for tr in transitions:
        if tr.kind is Kind.EDGE:
            if not vis.alerts_only:
                _edge_events(tr, vis, node, out)
        else:
            _node_events(tr, vis, node, out)
    return out


def _edge_events(tr: Transition, vis: Visibility, node: NodeVisible, out: list[Event]) -> None:
    was = vis.edge(tr.before, tr.ends_before, node)
    now = vis.edge(tr.after, tr.ends_after, node)
    if now:
        out.append(Event(EDGE_UPDATED if was else EDGE_ADDED, tr.after))
    elif was:
        out.append(Event(EDGE_DELETED, tr.before))


def _node_events(tr: Transition, vis: Visibility, node: NodeVisible, out: list[Event]) -> None:
    was, now = node(tr.before), node(tr.after)
    if not (was or now):
        return  # neither shown before nor now: no event, whatever its edges do
    causes = dict(tr.causes)

    def in_scope(node_id: str) -> bool:
        return vis.scope.node_visible(causes.get(node_id))

    before = vis.scope.redact(tr.before, in_scope) if tr.before is not None else None
    after = vis.scope.redact(tr.after, in_scope) if tr.after is not None else None
    if not vis.alerts_only:
        flips = _incident_flips(tr, vis, node)
        if was and not now:
            out.extend(Event(EDGE_DELETED, e) for e, flip in flips if flip < 0)
            out.append(Event(NODE_DELETED, before))
        elif now:
            out.append(Event(NODE_UPDATED if was else NODE_ADDED, after))
            out.extend(Event(EDGE_DELETED, e) for e, flip in flips if flip < 0)
            out.extend(Event(EDGE_ADDED, e) for e, flip in flips if flip > 0)
    if now:
        alert = _alert(tr, vis, after)
        if alert is not None:
            out.append(alert)


def _incident_flips(
    tr: Transition, vis: Visibility, node_visible: NodeVisible | None = None
) -> list[tuple[Element, int]]:
    """Incident edges whose visibility the node's change flips: +1 in, -1 out."""
    flips: list[tuple[Element, int]] = []
    for edge, other in tr.incident:
        parent_side = edge["Parent"] == tr.id

        def ends(node: Element | None, other: str = other, parent_side: bool = parent_side) -> Ends:
            far = node if other == tr.id else tr.neighbours.get(other)
            return (node, far) if parent_side else (far, node)

        was = vis.edge(edge, ends(tr.before), node_visible)
        now = vis.edge(edge, ends(tr.after), node_visible)
        if was != now:
            flips.append((edge, 1 if now else -1))
    return flips


def _alert(tr: Transition, vis: Visibility, shown: Element | None) -> Event | None:
    before = graph.Node.from_dict(tr.before) if tr.before is not None else None
    after = graph.Node.from_dict(tr.after) if tr.after is not None else None
    source = graph.Source(**tr.source) if tr.source else None
    found = alerts.transition(before, after, time=tr.time / 1000, source=source)
    if found is None:
        return None
    data = found.to_dict()
    visible = [(i, n) for i, n in tr.causes if n is not None and vis.scope.node_visible(n)]
    data["rootCause"] = [i for i, _ in visible]
    data["rootCauseNodes"] = [n for _, n in visible]
    data["node"] = shown
    return Event(ALERT, data)
