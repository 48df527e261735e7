"""Run an ``ast.Query`` against a ``TimeTravel`` source.

Flows in: a parsed query, the source of graph views, the caller's ``now`` (epoch
seconds) and ``Limits``.
Flows out: Skydive's result shapes — a list of element dicts for node/edge traversals,
an int for Count, a list for Values/Keys/ValueMap, a number for Sum, a list of node
lists for ShortestPathTo — or ``QueryError`` when a limit is exceeded.

Evaluation is breadth-first and batched: each step hands the view whole lists of ids
(``nodes``, ``edges``, ``edges_of``), so a networked view answers a step in a few round
trips — a walk (``Out``/``In``/``Both``) in one when the view can
(``view.WalkingView``). A leading equality ``Has`` on an indexed key (see
view.is_indexed) starts from ``nodes_by_index`` — intersecting several such keys —
instead of scanning every node (with the nodes in the same call when the view can:
``view.FindingView``).
``V()``/``E()`` followed only by such ``Has`` steps and ``Count`` (see ``count_plan``) is
answered from the ids alone: no element is fetched; a view that can count
(``view.CountingView``) answers ``V()``/``E()`` and a single look-up without listing ids.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import orjson

from topolog.core.query import ast, matching, view
from topolog.core.query.limits import Budget, Limits

Element = dict[str, Any]
Kind = ast.Kind
Direction = ast.Direction

BATCH = 512
"""Ids per call to the view."""

SELECTIVE_ENOUGH = 256
"""Index look-ups stop once the candidate ids are this few (the filter does the rest)."""

#: Indexed keys from usually few nodes per value to many (Name, labels, ..., Type).
_RANKS = {"Name": 0, "K8s.Namespace": 2, "State": 3, "Type": 4}


def _selectivity_rank(key: str) -> int:
    return _RANKS.get(key, 1)  # K8s.Labels.<key>


def evaluate(
    query: ast.Query, *, source: view.TimeTravel, now: float, limits: Limits = Limits()
) -> Any:
    """Evaluate ``query`` on the view its time context selects (the live one by default)."""
    budget = Budget(limits)
    run = _Run(_open_view(query.at, source, now), budget)
    plan = count_plan(query)
    if plan is not None:
        budget.position = query.start.position
        return run.count(query.start.kind, plan)
    budget.position = query.start.position
    value: Any = run.start(query)
    for step in query.steps:
        budget.position = step.position
        value = run.step(step, value)
    budget.position = None
    if query.result is not Kind.SCALAR:
        budget.check_result(len(value))
    return value


def _open_view(at: ast.At | None, source: view.TimeTravel, now: float) -> view.GraphView:
    if at is None:
        return source.live()
    t = at.instant.resolve(now)
    if at.span is not None:
        return source.view_between(t - at.span, t)
    # The present (or a future the store cannot know yet) is the live graph.
    return source.live() if t >= now else source.view_at(t)


def index_plan(query: ast.Query) -> list[tuple[str, tuple[str, ...]]]:
    """The (key, values) index look-ups that can replace a node scan for this query.

    Taken from ``V('key', value, ...)`` and the ``Has`` steps right after ``V()``: every
    test that must hold (an AND filter, or a filter of one test) with an equality on a
    string, or ``Within`` strings, on an indexed key. Empty means: scan.
    """
    start = query.start
    if start.kind is not Kind.NODES or start.element_id is not None:
        return []
    filters = [start.filter] if start.filter is not None else []
    for step in query.steps:
        if not isinstance(step, ast.Has):
            break
        filters.append(step.filter)
    plan: list[tuple[str, tuple[str, ...]]] = []
    for flt in filters:
        if flt.op is ast.BoolOp.OR and len(flt.tests) > 1:
            continue
        for test in flt.tests:
            if not view.is_indexed(test.key):
                continue
            match test.predicate:
                case ast.Eq(value=str() as value):
                    plan.append((test.key, (value,)))
                case ast.Within(values=values) if all(isinstance(v, str) for v in values):
                    plan.append((test.key, tuple(str(v) for v in values)))
    return plan


def count_plan(query: ast.Query) -> list[tuple[str, tuple[str, ...]]] | None:
    """The index look-ups whose intersection *is* the answer of a counting query, or None.

    A query ``V()``/``E()`` with only ``Has`` steps, then ``Count``, where every test of
    every filter must hold (AND, or one test) and is an equality on a string, or
    ``Within`` strings, on an indexed key: the index agrees with those tests exactly
    (``view.GraphView.nodes_by_index``), so the count is the size of the intersection of
    the look-ups — ``[]`` meaning every id of the view — and no element is fetched.
    """
    start = query.start
    if start.element_id is not None or not query.steps:
        return None
    *filtering, last = query.steps
    if not isinstance(last, ast.Count) or not all(isinstance(s, ast.Has) for s in filtering):
        return None
    filters = [start.filter] if start.filter is not None else []
    filters += [s.filter for s in filtering if isinstance(s, ast.Has)]
    if start.kind is Kind.EDGES:
        return [] if not filters else None
    plan: list[tuple[str, tuple[str, ...]]] = []
    for flt in filters:
        if not flt.tests or (flt.op is ast.BoolOp.OR and len(flt.tests) > 1):
            return None
        for test in flt.tests:
            if not view.is_indexed(test.key):
                return None
            match test.predicate:
                case ast.Eq(value=str() as value):
                    plan.append((test.key, (value,)))
                case ast.Within(values=values) if all(isinstance(v, str) for v in values):
                    plan.append((test.key, tuple(str(v) for v in values)))
                case _:
                    return None
    return plan


class _Run:
    """One evaluation: a view and the budget it is charged against."""

    def __init__(self, graph: view.GraphView, budget: Budget) -> None:
        self.graph = graph
        self.budget = budget

    # Fetching, batched and charged.

    def fetch(self, kind: Kind, ids: Sequence[str]) -> list[Element]:
        """The elements with these ids, in order, skipping ids the view lacks."""
        out: list[Element] = []
        for i in range(0, len(ids), BATCH):
            batch = ids[i : i + BATCH]
            self.budget.spend(len(batch))
            found = self.graph.nodes(batch) if kind is Kind.NODES else self.graph.edges(batch)
            out.extend(e for e in found if e is not None)
        return out

    def fetch_map(self, kind: Kind, ids: Iterable[str]) -> dict[str, Element]:
        unique = list(dict.fromkeys(ids))
        return {e["ID"]: e for e in self.fetch(kind, unique)}

    def edges_of(self, node_ids: Sequence[str], direction: Direction) -> list[list[str]]:
        out: list[list[str]] = []
        for i in range(0, len(node_ids), BATCH):
            batch = node_ids[i : i + BATCH]
            found = self.graph.edges_of(batch, direction)
            self.budget.spend(len(batch) + sum(len(ids) for ids in found))
            out.extend(found)
        return out

    def emit(self, items: list[Any]) -> list[Any]:
        self.budget.spend(len(items))
        return items

    # The start.

    def start(self, query: ast.Query) -> list[Element]:
        start = query.start
        if start.element_id is not None:
            elements = self.fetch(start.kind, [start.element_id])
        elif start.kind is Kind.EDGES:
            elements = self.fetch(start.kind, list(self.graph.all_edge_ids()))
        else:
            elements = self._start_nodes(index_plan(query))
        if start.filter is not None:
            elements = [e for e in elements if matching.matches(start.filter, e)]
        return self.emit(elements)

    def _start_nodes(self, plan: list[tuple[str, tuple[str, ...]]]) -> list[Element]:
        """The nodes the index plan selects (every node without one), sorted by id: in
        one call when the view can and the selection is small."""
        if plan and isinstance(self.graph, view.FindingView):
            self.budget.spend(len(plan))
            found = self.graph.find_nodes(plan, BATCH)
            if found is not None:
                self.budget.spend(len(found))
                return found
        return self.fetch(Kind.NODES, self._node_ids(plan))

    def _node_ids(self, plan: list[tuple[str, tuple[str, ...]]]) -> list[str]:
        if not plan:
            ids = list(self.graph.all_node_ids())
            self.budget.spend(len(ids))
            return ids
        selected: set[str] | None = None
        for key, values in sorted(plan, key=lambda term: _selectivity_rank(term[0])):
            if selected is not None and len(selected) <= SELECTIVE_ENOUGH:
                # Every test is applied again to the fetched nodes (the start filter and
                # the Has steps): reading a large index set (Type=pod: every pod) to
                # intersect a few ids would cost more than filtering them.
                break
            found: set[str] = set()
            for value in values:
                found.update(self.graph.nodes_by_index(key, value))
            self.budget.spend(len(found) + 1)
            selected = found if selected is None else selected & found
        return sorted(selected or ())

    def count(self, kind: Kind, plan: list[tuple[str, tuple[str, ...]]]) -> int:
        """The size of the id set ``plan`` selects (see ``count_plan``); the budget is
        charged for the ids read (one unit for a count the view answers)."""
        if isinstance(self.graph, view.CountingView):
            terms = set(plan)
            if not terms:
                self.budget.spend(1)
                return self.graph.count_ids(kind)
            if len(terms) == 1 and len((term := terms.pop())[1]) == 1:
                self.budget.spend(1)
                return self.graph.count_by_index(term[0], term[1][0])
        if not plan:
            every = self.graph.all_edge_ids() if kind is Kind.EDGES else self.graph.all_node_ids()
            ids = every if isinstance(every, list) else list(every)
            self.budget.spend(len(ids))
            return len(ids)
        selected: set[str] | None = None
        for key, values in sorted(plan, key=lambda term: _selectivity_rank(term[0])):
            found: set[str] = set()
            for value in values:
                found.update(self.graph.nodes_by_index(key, value))
            self.budget.spend(len(found) + 1)
            selected = found if selected is None else selected & found
            if not selected:
                break
        return len(selected or ())

    # Steps.

    def step(self, step: ast.Step, value: Any) -> Any:
        match step:
            case ast.Has(filter=flt):
                self.budget.spend(len(value))
                return [e for e in value if matching.matches(flt, e)]
            case ast.Walk(direction=direction, filter=flt):
                return self.emit(_filtered(self.walk(value, direction), flt))
            case ast.WalkEdges(direction=direction, filter=flt):
                ids = [i for ids in self.edges_of(_ids(value), direction) for i in ids]
                return self.emit(_filtered(self.fetch(Kind.EDGES, ids), flt))
            case ast.EdgeEnds(direction=direction, filter=flt):
                return self.emit(_filtered(self.edge_ends(value, direction), flt))
            case ast.Dedup(keys=keys):
                self.budget.spend(len(value))
                return _dedup(value, keys, values=step.input is Kind.VALUES)
            case ast.Count():
                return len(value)
            case ast.Values(key=key):
                return self.emit(list(_values(value, key)))
            case ast.ValueMap(keys=keys):
                return self.emit(list(_value_maps(value, keys)))
            case ast.Keys():
                return self.emit(_keys(value))
            case ast.Sum(key=key):
                self.budget.spend(len(value))
                return _sum(value if key is None else _values(value, key))
            case ast.Range(start=lo, stop=hi):
                return self.emit(value[lo:hi])
            case ast.Sort(key=key, descending=descending):
                self.budget.spend(len(value))
                return _sort(value, key, descending)
            case ast.ShortestPathTo(target=target, edge_filter=edge_filter):
                paths = (self.shortest_path(n, target, edge_filter) for n in value)
                return self.emit([p for p in paths if p is not None])
            case ast.Lineage(direction=direction, depth=depth, edge_filter=edge_filter):
                return self.emit(self.lineage(value, direction, depth, edge_filter))
        raise AssertionError(f"unhandled step {step!r}")  # parser.py builds only the above

    def walk(self, nodes: list[Element], direction: Direction) -> list[Element]:
        """Out/In/Both: each node's neighbours, node by node, duplicates kept (Gremlin)."""
        per_node, found = self.expand(_ids(nodes), direction, None)
        if found is None:
            found = self.fetch_map(Kind.NODES, (o for others in per_node for o in others))
        return [found[o] for others in per_node for o in others if o in found]

    def expand(
        self, node_ids: list[str], direction: Direction, edge_filter: ast.Filter | None
    ) -> tuple[list[list[str]], dict[str, Element] | None]:
        """Per node (same order), the other ends of its edges that match ``edge_filter``,
        in ``edges_of`` order; and, when read in the same call (a ``WalkingView`` and no
        edge filter), the neighbour nodes by id (else None)."""
        graph = self.graph
        if edge_filter is None and isinstance(graph, view.WalkingView):
            per_node: list[list[str]] = []
            nodes: dict[str, Element] = {}
            for i in range(0, len(node_ids), BATCH):
                batch = node_ids[i : i + BATCH]
                self.budget.spend(len(batch))
                others, found = graph.neighbours(batch, direction)
                # Charged as edges_of + edges + nodes would be.
                self.budget.spend(2 * sum(len(o) for o in others) + len(found))
                per_node.extend(others)
                nodes.update(found)
            return per_node, nodes
        per_edges = self.edges_of(node_ids, direction)
        edges = self.fetch_map(Kind.EDGES, (i for ids in per_edges for i in ids))
        return [
            [
                _other_end(edge, node_id)
                for eid in edge_ids
                if (edge := edges.get(eid)) is not None
                and (edge_filter is None or matching.matches(edge_filter, edge))
            ]
            for node_id, edge_ids in zip(node_ids, per_edges, strict=True)
        ], None

    def edge_ends(self, edges: list[Element], direction: Direction) -> list[Element]:
        """Skydive's convention: OutV is an edge's Child, InV its Parent, BothV both."""
        ends: list[str] = []
        for edge in edges:
            if direction is not Direction.OUT:
                ends.append(edge["Parent"])
            if direction is not Direction.IN:
                ends.append(edge["Child"])
        found = self.fetch_map(Kind.NODES, ends)
        return [found[i] for i in ends if i in found]

    def shortest_path(
        self, origin: Element, target: ast.Filter, edge_filter: ast.Filter | None
    ) -> list[Element] | None:
        """Breadth-first over edges in both directions; the first node matching
        ``target`` ends the search. The path lists nodes from ``origin`` to it."""
        if matching.matches(target, origin):
            return [origin]
        came_from: dict[str, str | None] = {origin["ID"]: None}
        known: dict[str, Element] = {origin["ID"]: origin}
        frontier = [origin["ID"]]
        while frontier:
            per_node, nodes = self.expand(frontier, Direction.BOTH, edge_filter)
            discovered: list[str] = []
            for node_id, others in zip(frontier, per_node, strict=True):
                for other in others:
                    if other not in came_from:
                        came_from[other] = node_id
                        discovered.append(other)
            found = nodes if nodes is not None else self.fetch_map(Kind.NODES, discovered)
            for node_id in discovered:
                node = found.get(node_id)
                if node is None:
                    continue
                known[node_id] = node
                if matching.matches(target, node):
                    return _path(node_id, came_from, known)
            frontier = [i for i in discovered if i in found]
        return None

    def lineage(
        self, nodes: list[Element], direction: Direction, depth: int, edge_filter: ast.Filter
    ) -> list[Element]:
        """Descendants/Ascendants: the nodes, then each level reached over matching edges."""
        seen: set[str] = set()
        level: list[Element] = []
        for node in nodes:
            if node["ID"] not in seen:
                seen.add(node["ID"])
                level.append(node)
        result = list(level)
        hops = 0
        while level and (depth == 0 or hops < depth):
            level_ids = _ids(level)
            per_node = self.edges_of(level_ids, direction)
            edges = self.fetch_map(Kind.EDGES, (i for ids in per_node for i in ids))
            reached: list[str] = []
            for node_id, edge_ids in zip(level_ids, per_node, strict=True):
                for eid in edge_ids:
                    edge = edges.get(eid)
                    if edge is None or not matching.matches(edge_filter, edge):
                        continue
                    other = _other_end(edge, node_id)
                    if other not in seen:
                        seen.add(other)
                        reached.append(other)
            found = self.fetch_map(Kind.NODES, reached)
            level = [found[i] for i in reached if i in found]
            result.extend(level)
            hops += 1
        return result


def _ids(elements: list[Element]) -> list[str]:
    return [e["ID"] for e in elements]


def _other_end(edge: Element, node_id: str) -> str:
    child: str = edge["Child"]
    parent: str = edge["Parent"]
    return child if parent == node_id else parent


def _filtered(elements: list[Element], flt: ast.Filter | None) -> list[Element]:
    if flt is None:
        return elements
    return [e for e in elements if matching.matches(flt, e)]


def _path(end: str, came_from: dict[str, str | None], known: dict[str, Element]) -> list[Element]:
    path: list[Element] = []
    cursor: str | None = end
    while cursor is not None:
        path.append(known[cursor])
        cursor = came_from[cursor]
    path.reverse()
    return path


def _fingerprint(value: Any) -> str:
    """A string equal for equal JSON values (dict key order ignored)."""
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
    except (TypeError, orjson.JSONEncodeError):
        return repr(value)


def _dedup(items: list[Any], keys: tuple[str, ...], *, values: bool) -> list[Any]:
    """By ID, by the values at ``keys`` (elements lacking all of them are all kept,
    like Skydive), or — for plain values — by value."""
    seen: set[str] = set()
    out: list[Any] = []
    for item in items:
        if values:
            mark: str | None = _fingerprint(item)
        elif keys:
            found = [matching.field_values(item, k) for k in keys]
            mark = _fingerprint(found) if any(found) else None
        else:
            mark = item["ID"]
        if mark is not None:
            if mark in seen:
                continue
            seen.add(mark)
        out.append(item)
    return out


def _values(elements: list[Element], key: str) -> Iterator[Any]:
    """Skydive's Values: each element's value at ``key``; empty lists/maps are skipped."""
    for element in elements:
        for value in matching.field_values(element, key):
            if isinstance(value, list | dict) and not value:
                continue
            yield value


def _value_maps(elements: list[Element], keys: tuple[str, ...]) -> Iterator[dict[str, Any]]:
    """``{key: value}`` per element for the keys it has (its whole Metadata without keys)."""
    for element in elements:
        if not keys:
            metadata = element.get("Metadata")
            yield metadata if isinstance(metadata, dict) else {}
            continue
        found = {k: vs[0] for k in keys if (vs := matching.field_values(element, k))}
        if found:
            yield found


def _keys(elements: list[Element]) -> list[str]:
    """Every dotted leaf key of the elements' Metadata, in order of first appearance."""
    seen: dict[str, None] = {}
    for element in elements:
        metadata = element.get("Metadata")
        if isinstance(metadata, dict):
            seen.update(dict.fromkeys(_leaf_keys(metadata, "")))
    return list(seen)


def _leaf_keys(obj: dict[Any, Any], prefix: str) -> Iterator[str]:
    for key, value in obj.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            yield from _leaf_keys(value, path + ".")
        else:
            yield path


def _sum(values: Iterable[Any]) -> int | float:
    total: int | float = 0
    for value in values:
        if isinstance(value, int | float) and not isinstance(value, bool):
            total += value
    return total


def _rank(value: Any) -> tuple[int, Any]:
    """Sort order across types: numbers, then strings, then booleans, then the rest."""
    if isinstance(value, bool):
        return (2, value)
    if isinstance(value, int | float):
        return (0, value)
    if isinstance(value, str):
        return (1, value)
    return (3, _fingerprint(value))


def _sort(items: list[Any], key: str | None, descending: bool) -> list[Any]:
    """Stable sort on the value at ``key`` (or the values themselves); items without
    the key come last in either order."""
    keyed: list[tuple[tuple[int, Any], Any]] = []
    missing: list[Any] = []
    for item in items:
        if key is None:
            keyed.append((_rank(item), item))
            continue
        found = matching.field_values(item, key)
        if found:
            keyed.append((_rank(found[0]), item))
        else:
            missing.append(item)
    keyed.sort(key=lambda pair: pair[0], reverse=descending)
    return [item for _, item in keyed] + missing
