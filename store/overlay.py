"""The graph at a past time as the live graph plus the few elements changed since.

Flows in: the live graph's answers (ids, index look-ups, adjacency, elements) and, for
each element the change feed says changed after ``t``, its state at ``t`` (None: it
did not exist then).
Flows out: the answers of a ``GraphView`` of the graph at ``t``: an element that did not
change after ``t`` is in the live graph exactly as it was at ``t`` (or absent from both);
the others are answered from their state at ``t``. Lists come out in the order the
store's ``Snapshot`` gives them (sorted ids; a node's OUT edges before its IN edges), so
evaluating on either gives the same results. The same holds for a slice [t0, t1] with
the elements changed after t0 and their latest state within the slice.
Pure: no I/O (``store.view`` does the reads).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from store import encoding
from store.keys import Kind
from topolog.core.query import view

Element = dict[str, Any]
Direction = view.Direction


class Overlay:
    """Per changed id, its element in the past view (None: not in it)."""

    def __init__(self) -> None:
        self.nodes: dict[str, Element | None] = {}
        self.edges: dict[str, Element | None] = {}
        self._terms: dict[str, set[str]] = {}  # index term → changed node ids having it
        self._out: dict[str, set[str]] = {}  # node id → changed edge ids it is Parent of
        self._in: dict[str, set[str]] = {}

    def __len__(self) -> int:
        return len(self.nodes) + len(self.edges)

    # --- building --------------------------------------------------------------------
    def set_nodes(self, ids: Iterable[str], found: Mapping[str, Element]) -> None:
        """The changed nodes ``ids`` and their past state (an id missing from ``found``
        is not in the past view); replaces what was known of them."""
        for node_id in ids:
            old = self.nodes.get(node_id)
            if old is not None:
                for term in _terms(old):
                    self._terms[term].discard(node_id)
            node = self.nodes[node_id] = found.get(node_id)
            if node is not None:
                for term in _terms(node):
                    self._terms.setdefault(term, set()).add(node_id)

    def set_edges(self, ids: Iterable[str], found: Mapping[str, Element]) -> None:
        for edge_id in ids:
            old = self.edges.get(edge_id)
            if old is not None:
                self._out[old["Parent"]].discard(edge_id)
                self._in[old["Child"]].discard(edge_id)
            edge = self.edges[edge_id] = found.get(edge_id)
            if edge is not None:
                self._out.setdefault(edge["Parent"], set()).add(edge_id)
                self._in.setdefault(edge["Child"], set()).add(edge_id)

    # --- answers ---------------------------------------------------------------------
    def _known(self, kind: Kind) -> dict[str, Element | None]:
        return self.nodes if kind is Kind.NODE else self.edges

    def unchanged(self, kind: Kind, ids: Sequence[str]) -> list[str]:
        """The ids the live graph answers for (those not changed)."""
        known = self._known(kind)
        return [i for i in ids if i not in known]

    def elements(
        self, kind: Kind, ids: Sequence[str], live: Mapping[str, Element | None]
    ) -> list[Element | None]:
        """Elements in ``ids`` order: the past state of changed ids, else ``live[id]``."""
        known = self._known(kind)
        return [known[i] if i in known else live.get(i) for i in ids]

    def ids(self, kind: Kind, live: Iterable[str]) -> list[str]:
        """Every id in the past view, given every live id."""
        known = self._known(kind)
        if not known:
            return sorted(live)
        return _merge(live, known, (i for i, element in known.items() if element is not None))

    def changed(self, kind: Kind) -> list[str]:
        """The changed ids of ``kind`` (the live graph does not answer for them)."""
        return sorted(self._known(kind))

    def count(self, kind: Kind, live: int, live_changed: int) -> int:
        """``len(ids(kind, ...))`` from the live count: ``live`` ids, of which
        ``live_changed`` are among ``changed(kind)``."""
        known = self._known(kind)
        return live - live_changed + sum(1 for element in known.values() if element is not None)

    def count_by_index(self, key: str, value: str, live: int, live_changed: int) -> int:
        """``len(by_index(key, value, ...))`` from the live index set's size ``live``, of
        which ``live_changed`` members are changed nodes."""
        return live - live_changed + len(self._terms.get(encoding.term(key, value), ()))

    def by_index(self, key: str, value: str, live: Iterable[str]) -> list[str]:
        """The past view's ``nodes_by_index``, given the live look-up."""
        return _merge(live, self.nodes, self._terms.get(encoding.term(key, value), ()))

    def edges_of(
        self,
        node_ids: Sequence[str],
        live_out: Sequence[Sequence[str]] | None,
        live_in: Sequence[Sequence[str]] | None,
    ) -> list[list[str]]:
        """Per node, its edges in the past view: OUT edges (where it is the Parent) then
        IN edges not already listed, from the live answers for each direction asked
        (None: that direction is not wanted)."""
        out: list[list[str]] = []
        for n, node_id in enumerate(node_ids):
            ids: list[str] = []
            if live_out is not None:
                ids.extend(self._merged(live_out[n], self._out.get(node_id)))
            if live_in is not None:
                listed = set(ids)
                ids.extend(
                    i for i in self._merged(live_in[n], self._in.get(node_id)) if i not in listed
                )
            out.append(ids)
        return out

    def _merged(self, live: Iterable[str], changed: set[str] | None) -> list[str]:
        return _merge(live, self.edges, changed or ())


def _merge(live: Iterable[str], changed: Mapping[str, object], past: Iterable[str]) -> list[str]:
    """Sorted: the ``live`` ids that are not ``changed``, and the ``past`` ids (changed ids
    in the past view). Linear in the live ids, which come sorted (sorting them again is a
    single pass) and lose the few changed ones by slicing, not by a Python-level filter."""
    ordered = sorted(live)
    if changed:
        if len(changed) * 16 > len(ordered):
            ordered = [i for i in ordered if i not in changed]
        else:
            cuts = sorted(
                {
                    at
                    for i in changed
                    if (at := bisect.bisect_left(ordered, i)) < len(ordered) and ordered[at] == i
                }
            )
            kept: list[str] = []
            start = 0
            for at in cuts:
                kept += ordered[start:at]
                start = at + 1
            ordered = kept + ordered[start:] if cuts else ordered
    extra = sorted(past)
    if extra:
        ordered.extend(extra)  # two sorted runs: the sort below merges them
        ordered.sort()
    return ordered


def _terms(node: Element) -> list[str]:
    metadata = node.get("Metadata")
    return encoding.node_terms(metadata if isinstance(metadata, dict) else {})
