"""The whole graph at one revision, advanced by change-feed entries.

Flows in: a starting ``Snapshot`` (at a revision) and ``FeedEntry`` values in revision
order. Flows out: per entry, one ``Transition`` per change — the element before and after,
plus what a filter needs to decide about the element's neighbourhood at that moment
(an edge's ends; a node's incident edges with their other ends; a DOWN node's root
causes). ``events.render`` turns transitions into stream events per subscriber, purely.

Invariant: after ``apply(entry)``, the mirror equals the store's graph at
``entry.revision`` — upserts carry complete states, a node's edge deletes come in the
same entry before the node's own.

Deferred upserts (``defer``): while nobody listens, the hub advances the mirror with
unresolved entries (each change only its op, id, ``Revision`` and time): deletes are
applied, upserts remembered by element (the latest ``Revision`` wins) until ``settle``
applies their versions. A version is immutable once written, so resolving it later
gives what resolving it at once would have. Until settled the mirror holds the older
version of a deferred element (or none): ``deferred`` says how many; only a settled
mirror (``deferred == 0``) equals the store's graph at its revision.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from collections.abc import Set as AbstractSet
from types import MappingProxyType
from typing import Any

from store.feedrecords import Wanted
from store.history import FeedEntry
from store.keys import Kind
from store.snapshot import Snapshot

Element = dict[str, Any]
Ends = tuple[Element | None, Element | None]
#: Whether a node's change (before, after) needs its neighbourhood: the incident edges
#: and their other ends (``events.needs_neighbourhood`` for a subscriber's visibility).
NeedsNeighbourhood = Callable[[Element | None, Element | None], bool]

_NO_ENDS: Ends = (None, None)
_NO_NEIGHBOURS: Mapping[str, Element] = MappingProxyType({})
_NO_IDS: AbstractSet[str] = frozenset()
#: A deferred upsert: the ``Revision`` of the version and its time (ms).
Deferred = tuple[int, int]


class Transition:
    """One change as a subscriber's filter needs to judge it (read-only by convention:
    a plain slotted class because one is built per change of every revision)."""

    __slots__ = (
        "after",
        "before",
        "causes",
        "ends_after",
        "ends_before",
        "id",
        "incident",
        "kind",
        "neighbours",
        "source",
        "time",
    )

    def __init__(
        self,
        kind: Kind,
        id: str,
        before: Element | None,
        after: Element | None,
        *,
        ends_before: Ends = _NO_ENDS,
        ends_after: Ends = _NO_ENDS,
        incident: tuple[tuple[Element, str], ...] = (),
        neighbours: Mapping[str, Element] = _NO_NEIGHBOURS,
        causes: tuple[tuple[str, Element | None], ...] = (),
        time: int = 0,
        source: dict[str, Any] | None = None,
    ) -> None:
        self.kind = kind
        self.id = id
        self.before = before
        self.after = after
        #: An edge's (parent, child) nodes before and after the change.
        self.ends_before = ends_before
        self.ends_after = ends_after
        #: A node's alive incident edges at the change, each with its other end's node
        #: id — only when the mirror was told a subscriber needs them (see ``apply``).
        self.incident = incident
        #: Other end nodes of ``incident`` (id → node), as they are at the change.
        self.neighbours = neighbours
        #: The RootCause ids of a node (before and after) resolved to nodes (None: unknown).
        self.causes = causes
        self.time = time
        self.source = source


class Mirror:
    def __init__(
        self,
        *,
        revision: int = 0,
        nodes: dict[str, Element] | None = None,
        edges: dict[str, Element] | None = None,
    ) -> None:
        self.revision = revision
        self.nodes: dict[str, Element] = dict(nodes or {})
        self.edges: dict[str, Element] = dict(edges or {})
        self._incident: dict[str, set[str]] = {}
        for edge in self.edges.values():
            self._link(edge)
        #: Upserts applied by ``defer`` without their versions, per element id.
        self._deferred_nodes: dict[str, Deferred] = {}
        self._deferred_edges: dict[str, Deferred] = {}

    @classmethod
    def from_snapshot(cls, snapshot: Snapshot, revision: int) -> Mirror:
        node_ids = sorted(snapshot.all_node_ids())
        edge_ids = sorted(snapshot.all_edge_ids())
        return cls(
            revision=revision,
            nodes={i: n for i, n in zip(node_ids, snapshot.nodes(node_ids), strict=True) if n},
            edges={i: e for i, e in zip(edge_ids, snapshot.edges(edge_ids), strict=True) if e},
        )

    def copy(self) -> Mirror:
        out = Mirror(revision=self.revision, nodes=self.nodes, edges=self.edges)
        out._deferred_nodes = dict(self._deferred_nodes)
        out._deferred_edges = dict(self._deferred_edges)
        return out

    @property
    def deferred(self) -> int:
        """How many elements have an upsert not settled yet (0: the mirror is complete)."""
        return len(self._deferred_nodes) + len(self._deferred_edges)

    def defer(self, entry: FeedEntry) -> None:
        """Advance to ``entry.revision`` from an unresolved entry (changes with ``op``,
        ``id``, ``Revision`` and ``At``): deletes applied, upserts deferred."""
        for change in entry.changes:
            op: str = change["op"]
            element_id: str = change["id"]
            pending = self._deferred_nodes if op.startswith("node") else self._deferred_edges
            if op.endswith("upsert"):
                pending[element_id] = (change["Revision"], change["At"])
            else:
                self._update(change)  # which forgets a deferred upsert of the element
        self.revision = entry.revision

    def deferred_wanted(self, limit: int) -> Wanted:
        """Up to ``limit`` deferred upserts: per kind (``n``, ``e``) the ids and
        Revisions of their versions, as ``Backend.deferred_versions`` reads them and ``settle``
        takes them back."""
        out: Wanted = {}
        room = limit
        for name, pending in (("n", self._deferred_nodes), ("e", self._deferred_edges)):
            ids: list[str] = []
            revisions: list[int] = []
            for element_id, (revision, _at) in itertools.islice(pending.items(), room):
                ids.append(element_id)
                revisions.append(revision)
            room -= len(ids)
            out[name] = (ids, revisions)
        return out

    def settle(self, wanted: Wanted, found: Mapping[str, list[Element | None]]) -> None:
        """Apply the versions of deferred upserts (``deferred_wanted``, read: fresh
        elements with their ``CreatedAt``, kept as they are). A version whose element
        was deferred again since (another ``Revision``) or deleted is skipped.
        ``LookupError`` when a deferred version is gone (trimmed from the history): the
        mirror cannot be completed from the feed."""
        for name, (ids, revisions) in wanted.items():
            node = name == "n"
            pending = self._deferred_nodes if node else self._deferred_edges
            for element_id, revision, element in zip(ids, revisions, found[name], strict=True):
                deferred = pending.get(element_id)
                if deferred is None or deferred[0] != revision:
                    continue
                if element is None:
                    raise LookupError(
                        f"version {revision} of {element_id} left the history before"
                        " the mirror read it"
                    )
                del pending[element_id]
                # As ``_version`` makes it, without a copy: the element is the mirror's.
                element["UpdatedAt"] = deferred[1]
                element["Revision"] = revision
                if node:
                    self.nodes[element_id] = element
                    continue
                before = self.edges.get(element_id)
                if before is not None:
                    self._unlink(before)
                self.edges[element_id] = element
                self._link(element)

    def incident_ids(self, node_id: str) -> AbstractSet[str]:
        """Ids of the alive edges with ``node_id`` as an end (do not modify)."""
        return self._incident.get(node_id, _NO_IDS)

    def _link(self, edge: Element) -> None:
        for end in (edge["Parent"], edge["Child"]):
            self._incident.setdefault(end, set()).add(edge["ID"])

    def _unlink(self, edge: Element) -> None:
        for end in (edge["Parent"], edge["Child"]):
            ids = self._incident.get(end)
            if ids is not None:
                ids.discard(edge["ID"])
                if not ids:
                    del self._incident[end]

    def _ends(self, edge: Element | None) -> Ends:
        if edge is None:
            return (None, None)
        return (self.nodes.get(edge["Parent"]), self.nodes.get(edge["Child"]))

    def apply(
        self, entry: FeedEntry, neighbourhood: NeedsNeighbourhood | None = None
    ) -> list[Transition]:
        """Advance to ``entry.revision``; the transitions of its changes, in order.

        A node's transition carries its incident edges and their other ends only when
        ``neighbourhood(before, after)`` says a subscriber needs them (None: always) —
        collecting them is most of the cost of a node with many edges."""
        out = [self._apply_change(change, entry.time, neighbourhood) for change in entry.changes]
        self.revision = entry.revision
        return out

    def advance(self, entry: FeedEntry) -> None:
        """Advance to ``entry.revision`` without transitions (nobody is listening)."""
        for change in entry.changes:
            self._update(change)
        self.revision = entry.revision

    def _update(self, change: dict[str, Any]) -> None:
        op: str = change["op"]
        element_id: str = change["id"]
        if op.startswith("node"):
            if self._deferred_nodes:
                self._forget_deferred(self._deferred_nodes, element_id, change)
            body = change.get("node")
            if op.endswith("upsert"):
                if body is not None:
                    self.nodes[element_id] = _version(body, change)
            else:
                self.nodes.pop(element_id, None)
            return
        if self._deferred_edges:
            self._forget_deferred(self._deferred_edges, element_id, change)
        body = change.get("edge")
        if op.endswith("upsert") and body is None:
            return
        before = self.edges.pop(element_id, None)
        if before is not None:
            self._unlink(before)
        if op.endswith("upsert") and body is not None:
            after = self.edges[element_id] = _version(body, change)
            self._link(after)

    @staticmethod
    def _forget_deferred(
        pending: dict[str, Deferred], element_id: str, change: dict[str, Any]
    ) -> None:
        """A resolved change at or after a deferred upsert of the element replaces it."""
        found = pending.get(element_id)
        if found is not None and found[0] <= change["Revision"]:
            del pending[element_id]

    def _apply_change(
        self, change: dict[str, Any], time: int, neighbourhood: NeedsNeighbourhood | None
    ) -> Transition:
        op: str = change["op"]
        element_id: str = change["id"]
        kind = Kind.NODE if op.startswith("node") else Kind.EDGE
        store = self.nodes if kind is Kind.NODE else self.edges
        deferred = self._deferred_nodes if kind is Kind.NODE else self._deferred_edges
        if deferred:
            self._forget_deferred(deferred, element_id, change)
        before = store.get(element_id)
        after: Element | None
        body = change.get("node" if kind is Kind.NODE else "edge")
        if op.endswith("upsert") and body is None:
            # The version left the history while being read: keep the last known state.
            return Transition(kind, element_id, before, before, time=time)
        after = _version(body, change) if body is not None and op.endswith("upsert") else None
        source = change.get("Source")
        if kind is Kind.EDGE:
            ends_before = self._ends(before)
            if before is not None:
                self._unlink(before)
                del self.edges[element_id]
            if after is not None:
                self.edges[element_id] = after
                self._link(after)
            return Transition(
                kind,
                element_id,
                _deleted(before, change) if after is None else before,
                after,
                ends_before=ends_before,
                ends_after=self._ends(after),
                time=time,
                source=source,
            )
        if after is None:
            self.nodes.pop(element_id, None)
        else:
            self.nodes[element_id] = after
        incident: list[tuple[Element, str]] = []
        neighbours: dict[str, Element] = {}
        if neighbourhood is None or neighbourhood(before, after):
            for edge_id in sorted(self._incident.get(element_id, ())):
                edge = self.edges[edge_id]
                other = edge["Child"] if edge["Parent"] == element_id else edge["Parent"]
                incident.append((edge, other))
                node = self.nodes.get(other)
                if node is not None:
                    neighbours[other] = node
        root = [
            str(c)
            for version in (before, after)
            for c in (version or {}).get("Metadata", {}).get("RootCause") or []
        ]
        causes = tuple((c, self.nodes.get(c)) for c in dict.fromkeys(root))
        return Transition(
            kind,
            element_id,
            _deleted(before, change) if after is None else before,
            after,
            incident=tuple(incident),
            neighbours=neighbours,
            causes=causes,
            time=time,
            source=source,
        )


def _version(body: Element, change: dict[str, Any]) -> Element:
    """The element as streams show it: its body plus the version's times and revision."""
    out = dict(body)
    out["CreatedAt"] = change["CreatedAt"]
    out["UpdatedAt"] = change["UpdatedAt"]
    out["Revision"] = change["Revision"]
    return out


def _deleted(before: Element | None, change: dict[str, Any]) -> Element | None:
    """The last state of a deleted element, with its ``DeletedAt``."""
    if before is None:
        return None
    out = dict(before)
    if "DeletedAt" in change:
        out["DeletedAt"] = change["DeletedAt"]
    return out
