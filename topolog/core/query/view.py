"""What the evaluator needs from a graph store: ``GraphView`` and ``TimeTravel``.

Flows in: nothing (protocols only). Implemented by ``memory.py`` (tests, offline tools)
and by the store's Redis projection.
Flows out: the contract below.

Elements are dicts in Skydive's shape — node ``{"ID", "Metadata", "CreatedAt",
"UpdatedAt", "Revision"}`` (times in epoch ms), edge the same plus ``"Parent"`` and
``"Child"``; in history views an element whose revision ended with its deletion also has
``"DeletedAt"``. The evaluator never mutates them.

Every method is batched so that a networked implementation can pipeline: the evaluator
asks for ids first, then for the elements in batches.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Protocol, runtime_checkable

from topolog.core.query import ast

Element = dict[str, Any]
Direction = ast.Direction

INDEXED_KEYS = frozenset({"Type", "Name", "K8s.Namespace", "State"})
INDEXED_PREFIXES = ("K8s.Labels.",)


def is_indexed(key: str) -> bool:
    """Node metadata keys a ``GraphView`` must answer ``nodes_by_index`` for.

    ``K8s.Labels.<label key>`` is indexed for every label key, dots in the label key
    included (``K8s.Labels.app.kubernetes.io/name``).
    """
    return key in INDEXED_KEYS or (
        key.startswith(INDEXED_PREFIXES) and len(key) > len(INDEXED_PREFIXES[0])
    )


class GraphView(Protocol):
    """One consistent graph: the live one, or the one at a time or over a time slice."""

    def nodes(self, ids: Sequence[str]) -> list[Element | None]:
        """The nodes with these ids, in the same order; None for an id not in the view."""
        ...

    def edges(self, ids: Sequence[str]) -> list[Element | None]:
        """The edges with these ids, in the same order; None for an id not in the view."""
        ...

    def all_node_ids(self) -> Iterable[str]:
        """Every node id in the view (a full scan: the evaluator avoids it when it can)."""
        ...

    def all_edge_ids(self) -> Iterable[str]:
        """Every edge id in the view."""
        ...

    def nodes_by_index(self, key: str, value: str) -> Iterable[str]:
        """Ids of the nodes whose metadata ``key`` (an ``is_indexed`` key) equals the
        string ``value``. Must agree with ``matching.holds(Eq(value), ...)`` on those
        nodes: the evaluator re-checks the filter on what it gets, but cannot find what
        the index misses."""
        ...

    def edges_of(self, node_ids: Sequence[str], direction: Direction) -> list[list[str]]:
        """For each node id (same order), the ids of its edges: OUT = edges where it is
        the Parent, IN = where it is the Child, BOTH = either (a self-loop once)."""
        ...


@runtime_checkable
class CountingView(Protocol):
    """Optional, for a ``GraphView`` that can count without listing ids (a store with
    O(1) set sizes). The evaluator uses it when a view has both methods."""

    def count_ids(self, kind: ast.Kind) -> int:
        """``len(all_node_ids())`` (``kind`` NODES) or ``len(all_edge_ids())`` (EDGES)."""
        ...

    def count_by_index(self, key: str, value: str) -> int:
        """``len(nodes_by_index(key, value))``."""
        ...


@runtime_checkable
class WalkingView(Protocol):
    """Optional, for a ``GraphView`` over a network: one walk step (``Out``/``In``/
    ``Both``) in one call instead of ``edges_of``, ``edges`` and ``nodes`` in turn. The
    evaluator uses it when a view has the method."""

    def neighbours(
        self, node_ids: Sequence[str], direction: Direction
    ) -> tuple[list[list[str]], dict[str, Element]]:
        """For each node id (same order), the other end's id of each of its edges, in
        ``edges_of`` order (duplicates kept; an edge the view lacks skipped), and the
        neighbour nodes the view has, by id."""
        ...


@runtime_checkable
class FindingView(Protocol):
    """Optional, for a ``GraphView`` over a network: the nodes an index plan selects,
    fetched in the same call as the look-ups."""

    def find_nodes(
        self, plan: Sequence[tuple[str, Sequence[str]]], limit: int
    ) -> list[Element] | None:
        """The nodes having, for every ``(key, values)`` of ``plan`` (``is_indexed``
        keys), one of the values, sorted by id — or None when that would mean reading
        more than about ``limit`` ids (the evaluator then reads ids and fetches them)."""
        ...


class TimeTravel(Protocol):
    """Where views come from. Times are epoch seconds (floats)."""

    def live(self) -> GraphView:
        """The current graph."""
        ...

    def view_at(self, t: float) -> GraphView:
        """The graph as it was at ``t``: each element in the revision valid at ``t``."""
        ...

    def view_between(self, t0: float, t1: float) -> GraphView:
        """Every element alive at any moment of [t0, t1], each in its latest revision
        within the slice."""
        ...
