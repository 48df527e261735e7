"""What a token may see: a set of namespaces (or everything), enforced at the view level.

Flows in: a ``Scope`` (from ``auth``) and any ``GraphView``/``TimeTravel``.
Flows out: ``ScopedView``/``ScopedTravel``, which hide the nodes outside the scope and
every edge touching a hidden node — so queries, the whole graph, ``G.At`` history, root
cause chains, reachability and streams all see the same, smaller graph; and the
per-element predicates ``node_visible``/``edge_visible`` the streams use.

A node is in a namespace when its ``K8s.Namespace`` is that namespace; a Namespace node
belongs to the namespace it names. Cluster-scoped nodes (cluster, nodes, PVs, storage
classes) and nodes without a namespace are visible only to an unrestricted scope.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from topolog.core.query import view

Element = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Scope:
    """``namespaces is None`` = unrestricted."""

    namespaces: frozenset[str] | None = None

    @property
    def unrestricted(self) -> bool:
        return self.namespaces is None

    def node_visible(self, node: Element | None) -> bool:
        if node is None:
            return False
        if self.namespaces is None:
            return True
        return namespace_of(node) in self.namespaces

    def redact(self, node: Element, visible: Callable[[str], bool]) -> Element:
        """``node`` with the RootCause ids that ``visible`` rejects taken out (a copy when
        anything was removed): a visible node must not name hidden ones."""
        metadata = node.get("Metadata") or {}
        causes = metadata.get("RootCause")
        if self.namespaces is None or not isinstance(causes, list):
            return node
        kept = [c for c in causes if isinstance(c, str) and visible(c)]
        if len(kept) == len(causes):
            return node
        return {**node, "Metadata": {**metadata, "RootCause": kept}}

    def edge_visible(self, parent: Element | None, child: Element | None) -> bool:
        """An edge is visible when both its ends are (always, when unrestricted)."""
        if self.namespaces is None:
            return True
        return self.node_visible(parent) and self.node_visible(child)


EVERYTHING = Scope()


def namespace_of(node: Element) -> str | None:
    """The namespace a node belongs to, or None for a cluster-scoped node."""
    metadata = node.get("Metadata") or {}
    k8s = metadata.get("K8s") or {}
    ns = k8s.get("Namespace") if isinstance(k8s, dict) else None
    if isinstance(ns, str) and ns:
        return ns
    if metadata.get("Type") == "namespace":
        name = metadata.get("Name")
        return name if isinstance(name, str) and name else None
    return None


class ScopedView:
    """A ``GraphView`` showing only what ``scope`` allows of ``inner``."""

    def __init__(self, inner: view.GraphView, scope: Scope) -> None:
        self._inner = inner
        self._scope = scope
        self._visible: set[str] | None = None

    def _visible_ids(self) -> set[str]:
        """Ids of the visible nodes, from the namespace index (no scan)."""
        if self._visible is None:
            namespaces = self._scope.namespaces or frozenset()
            visible: set[str] = set()
            namespace_nodes = set(self._inner.nodes_by_index("Type", "namespace"))
            for ns in sorted(namespaces):
                visible.update(self._inner.nodes_by_index("K8s.Namespace", ns))
                visible.update(namespace_nodes.intersection(self._inner.nodes_by_index("Name", ns)))
            # The index agrees with Has(); re-check the rule on what it found.
            ids = sorted(visible)
            self._visible = {
                i
                for i, n in zip(ids, self._inner.nodes(ids), strict=True)
                if self._scope.node_visible(n)
            }
        return self._visible

    def _edge_ok(self, edge: Element | None) -> bool:
        if edge is None:
            return False
        visible = self._visible_ids()
        return edge.get("Parent") in visible and edge.get("Child") in visible

    def nodes(self, ids: Sequence[str]) -> list[Element | None]:
        if self._scope.unrestricted:
            return self._inner.nodes(ids)
        visible = self._visible_ids().__contains__
        return [
            self._scope.redact(n, visible)
            if n is not None and self._scope.node_visible(n)
            else None
            for n in self._inner.nodes(ids)
        ]

    def edges(self, ids: Sequence[str]) -> list[Element | None]:
        if self._scope.unrestricted:
            return self._inner.edges(ids)
        return [e if self._edge_ok(e) else None for e in self._inner.edges(ids)]

    def all_node_ids(self) -> Iterable[str]:
        if self._scope.unrestricted:
            return self._inner.all_node_ids()
        return sorted(self._visible_ids())

    def all_edge_ids(self) -> Iterable[str]:
        if self._scope.unrestricted:
            return self._inner.all_edge_ids()
        visible = sorted(self._visible_ids())
        ids = {
            i for per_node in self._inner.edges_of(visible, view.Direction.OUT) for i in per_node
        }
        return [i for i in sorted(ids) if self._edge_ok(self._inner.edges([i])[0])]

    def nodes_by_index(self, key: str, value: str) -> Iterable[str]:
        found = self._inner.nodes_by_index(key, value)
        if self._scope.unrestricted:
            return found
        visible = self._visible_ids()
        return [i for i in found if i in visible]

    def edges_of(self, node_ids: Sequence[str], direction: view.Direction) -> list[list[str]]:
        per_node = self._inner.edges_of(node_ids, direction)
        if self._scope.unrestricted:
            return per_node
        ids = sorted({i for edge_ids in per_node for i in edge_ids})
        ok = {i for i, e in zip(ids, self._inner.edges(ids), strict=True) if self._edge_ok(e)}
        return [[i for i in edge_ids if i in ok] for edge_ids in per_node]


class ScopedTravel:
    """A ``TimeTravel`` whose every view is a ``ScopedView``."""

    def __init__(self, inner: view.TimeTravel, scope: Scope) -> None:
        self._inner = inner
        self._scope = scope

    def live(self) -> view.GraphView:
        return ScopedView(self._inner.live(), self._scope)

    def view_at(self, t: float) -> view.GraphView:
        return ScopedView(self._inner.view_at(t), self._scope)

    def view_between(self, t0: float, t1: float) -> view.GraphView:
        return ScopedView(self._inner.view_between(t0, t1), self._scope)


def scoped(inner: view.TimeTravel, scope: Scope) -> view.TimeTravel:
    """``inner`` itself when unrestricted, else its scoped form."""
    return inner if scope.unrestricted else ScopedTravel(inner, scope)


def topology(graph: view.GraphView) -> dict[str, list[Element]]:
    """``GET /api/topology``'s shape for a (scoped) view: ``{"Nodes": [...], "Edges": [...]}``."""
    node_ids = sorted(graph.all_node_ids())
    edge_ids = sorted(graph.all_edge_ids())
    return {
        "Nodes": [n for n in graph.nodes(node_ids) if n is not None],
        "Edges": [e for e in graph.edges(edge_ids) if e is not None],
    }
