"""An in-memory graph with history: ``GraphView`` + ``TimeTravel`` over element dicts.

Flows in: every revision of every node and edge, as Skydive-shaped dicts with their
times in epoch ms (``node()``/``edge()`` build them from seconds).
Flows out: ``MemoryView``s — the live graph, the graph at a time, or over a slice.
Used by unit tests, by gateway tests, and wherever a small graph is queried offline.

Validity of a revision (half-open, in epoch ms): the first revision of an element is
valid from its ``CreatedAt``, a later one from its ``UpdatedAt``; each is valid until
the next revision's ``UpdatedAt``, the last one until its ``DeletedAt`` (or for ever).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from topolog.core.query import matching
from topolog.core.query.ast import Direction

Element = dict[str, Any]


def node(
    node_id: str,
    metadata: dict[str, Any],
    *,
    created: float,
    updated: float | None = None,
    deleted: float | None = None,
    revision: int = 1,
) -> Element:
    """A node dict in Skydive's shape; times given in epoch seconds, stored in ms."""
    out: Element = {
        "ID": node_id,
        "Metadata": metadata,
        "CreatedAt": _ms(created),
        "UpdatedAt": _ms(created if updated is None else updated),
        "Revision": revision,
    }
    if deleted is not None:
        out["DeletedAt"] = _ms(deleted)
    return out


def edge(
    edge_id: str,
    parent: str,
    child: str,
    metadata: dict[str, Any],
    *,
    created: float,
    updated: float | None = None,
    deleted: float | None = None,
    revision: int = 1,
) -> Element:
    """An edge dict in Skydive's shape (``Parent``, ``Child``); times in epoch seconds."""
    out = node(
        edge_id, metadata, created=created, updated=updated, deleted=deleted, revision=revision
    )
    out["Parent"] = parent
    out["Child"] = child
    return out


def _ms(seconds: float) -> int:
    return round(seconds * 1000)


class MemoryView:
    """A ``GraphView`` over one set of elements (one revision per id)."""

    def __init__(self, nodes: Iterable[Element], edges: Iterable[Element]) -> None:
        self._nodes = {n["ID"]: n for n in nodes}
        self._edges = {e["ID"]: e for e in edges}
        self._out: dict[str, list[str]] = defaultdict(list)
        self._in: dict[str, list[str]] = defaultdict(list)
        for e in self._edges.values():
            self._out[e["Parent"]].append(e["ID"])
            self._in[e["Child"]].append(e["ID"])
        self._index: dict[str, dict[str, list[str]]] = {}

    def nodes(self, ids: Sequence[str]) -> list[Element | None]:
        return [self._nodes.get(i) for i in ids]

    def edges(self, ids: Sequence[str]) -> list[Element | None]:
        return [self._edges.get(i) for i in ids]

    def all_node_ids(self) -> Iterable[str]:
        return list(self._nodes)

    def all_edge_ids(self) -> Iterable[str]:
        return list(self._edges)

    def nodes_by_index(self, key: str, value: str) -> Iterable[str]:
        index = self._index.get(key)
        if index is None:
            index = self._index[key] = self._build_index(key)
        return list(index.get(value, ()))

    def _build_index(self, key: str) -> dict[str, list[str]]:
        index: dict[str, list[str]] = defaultdict(list)
        for node_id, n in self._nodes.items():
            for value in matching.field_values(n, key):
                for item in value if isinstance(value, list) else [value]:
                    if isinstance(item, str):
                        index[item].append(node_id)
        return index

    def edges_of(self, node_ids: Sequence[str], direction: Direction) -> list[list[str]]:
        out: list[list[str]] = []
        for node_id in node_ids:
            ids: list[str] = []
            if direction is not Direction.IN:
                ids.extend(self._out.get(node_id, ()))
            if direction is not Direction.OUT:
                ids.extend(i for i in self._in.get(node_id, ()) if i not in ids)
            out.append(ids)
        return out


@dataclass(frozen=True, slots=True)
class _Revision:
    element: Element
    valid_from: int  # epoch ms, inclusive
    valid_to: int | None  # epoch ms, exclusive; None = still valid


def _revisions(elements: Iterable[Element]) -> dict[str, list[_Revision]]:
    by_id: dict[str, list[Element]] = defaultdict(list)
    for e in elements:
        by_id[e["ID"]].append(e)
    out: dict[str, list[_Revision]] = {}
    for element_id, revs in by_id.items():
        revs.sort(key=lambda e: (e.get("UpdatedAt", 0), e.get("Revision", 0)))
        timeline: list[_Revision] = []
        for i, rev in enumerate(revs):
            start = rev.get("CreatedAt", 0) if i == 0 else rev.get("UpdatedAt", 0)
            end = revs[i + 1].get("UpdatedAt", 0) if i + 1 < len(revs) else rev.get("DeletedAt")
            timeline.append(_Revision(rev, start, end))
        out[element_id] = timeline
    return out


class MemoryHistory:
    """``TimeTravel`` over the full history of a small graph."""

    def __init__(self, *, nodes: Iterable[Element] = (), edges: Iterable[Element] = ()) -> None:
        self._nodes = _revisions(nodes)
        self._edges = _revisions(edges)

    def live(self) -> MemoryView:
        """The last revision of every element that is not deleted."""
        return MemoryView(_current(self._nodes), _current(self._edges))

    def view_at(self, t: float) -> MemoryView:
        ms = _ms(t)
        return MemoryView(_between(self._nodes, ms, ms), _between(self._edges, ms, ms))

    def view_between(self, t0: float, t1: float) -> MemoryView:
        lo, hi = _ms(t0), _ms(t1)
        return MemoryView(_between(self._nodes, lo, hi), _between(self._edges, lo, hi))


def _current(history: dict[str, list[_Revision]]) -> Iterable[Element]:
    for timeline in history.values():
        last = timeline[-1]
        if last.valid_to is None and "DeletedAt" not in last.element:
            yield last.element


def _between(history: dict[str, list[_Revision]], lo: int, hi: int) -> Iterable[Element]:
    """Per element, its latest revision valid at some instant of [lo, hi]."""
    for timeline in history.values():
        alive = [
            r for r in timeline if r.valid_from <= hi and (r.valid_to is None or r.valid_to > lo)
        ]
        if alive:
            yield alive[-1].element
