"""Counting queries answered from ids alone agree with fetching and filtering elements."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import pytest

from topolog.core.query import Limits, QueryError, evaluator, memory, parse, run
from topolog.core.query.ast import Kind
from topolog.core.query.view import Direction

COUNTED = [
    "G.V().Count()",
    "G.E().Count()",
    "G.V().Has('Type', 'pod').Count()",
    "G.V('Type', 'pod').Count()",
    "G.V().Has('Type', 'pod', 'K8s.Namespace', 'default').Count()",
    "G.V().Has('Type', 'pod').Has('State', 'DOWN').Count()",
    "G.V().Has('Name', Within('mysql-pass', 'wp-config', 'nope')).Count()",
    "G.V().Has('K8s.Labels.app', 'wordpress').Count()",
    "G.V().Has('Type', 'nope').Has('Name', 'mysql').Count()",
]
NOT_COUNTED = [
    "G.V().Has('Replicas', 2).Count()",  # not an indexed key
    "G.V().HasEither('Type', 'pod', 'Type', 'secret').Count()",  # a disjunction
    "G.V().Has('Type').Count()",  # presence only
    "G.V().Has('Type', Regex('p.*')).Count()",
    "G.V().Has('Type', 'pod').Out().Count()",
    "G.V().Dedup().Count()",
    "G.E().Has('RelationType', 'ownership').Count()",
    "G.V('cluster').Count()",
    "G.V().Has('Type', 'pod')",
]


class FetchCountingView:
    """A GraphView that counts element fetches, around a MemoryView."""

    def __init__(self, inner: memory.MemoryView) -> None:
        self.inner = inner
        self.fetched = 0

    def nodes(self, ids: Sequence[str]) -> list[dict[str, Any] | None]:
        self.fetched += len(ids)
        return self.inner.nodes(ids)

    def edges(self, ids: Sequence[str]) -> list[dict[str, Any] | None]:
        self.fetched += len(ids)
        return self.inner.edges(ids)

    def all_node_ids(self) -> Iterable[str]:
        return self.inner.all_node_ids()

    def all_edge_ids(self) -> Iterable[str]:
        return self.inner.all_edge_ids()

    def nodes_by_index(self, key: str, value: str) -> Iterable[str]:
        return self.inner.nodes_by_index(key, value)

    def edges_of(self, node_ids: Sequence[str], direction: Direction) -> list[list[str]]:
        return self.inner.edges_of(node_ids, direction)


class CountingView(FetchCountingView):
    """A view that can also count (``view.CountingView``); records what it was asked."""

    def __init__(self, inner: memory.MemoryView) -> None:
        super().__init__(inner)
        self.counted: list[tuple[str, ...]] = []
        self.listed = 0

    def count_ids(self, kind: Kind) -> int:
        self.counted.append((kind.name,))
        every = self.inner.all_edge_ids() if kind is Kind.EDGES else self.inner.all_node_ids()
        return len(list(every))

    def count_by_index(self, key: str, value: str) -> int:
        self.counted.append((key, value))
        return len(list(self.inner.nodes_by_index(key, value)))

    def all_node_ids(self) -> Iterable[str]:
        self.listed += 1
        return super().all_node_ids()

    def all_edge_ids(self) -> Iterable[str]:
        self.listed += 1
        return super().all_edge_ids()

    def nodes_by_index(self, key: str, value: str) -> Iterable[str]:
        self.listed += 1
        return super().nodes_by_index(key, value)


class Source:
    def __init__(self, history: memory.MemoryHistory, *, counting: bool = False) -> None:
        self.history = history
        self.counting = counting
        self.views: list[FetchCountingView] = []

    def _wrap(self, inner: memory.MemoryView) -> FetchCountingView:
        view = CountingView(inner) if self.counting else FetchCountingView(inner)
        self.views.append(view)
        return view

    def live(self) -> FetchCountingView:
        return self._wrap(self.history.live())

    def view_at(self, t: float) -> FetchCountingView:
        return self._wrap(self.history.view_at(t))

    def view_between(self, t0: float, t1: float) -> FetchCountingView:
        return self._wrap(self.history.view_between(t0, t1))


def _times(t0: float, now: float) -> list[str]:
    return ["", f"At({t0 + 50})", f"At({t0 + 150})", f"At({t0 + 150}, 100)", f"At({now})"]


@pytest.mark.parametrize("text", COUNTED)
def test_counts_from_ids_equal_counts_of_fetched_elements(
    history: memory.MemoryHistory,
    t0: float,
    now: float,
    text: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert evaluator.count_plan(parse(text)) is not None
    for at in _times(t0, now):
        timed = text.replace("G.", f"G.{at}." if at else "G.", 1)
        source = Source(history)
        counted = run(timed, source=source, now=now)
        assert [v.fetched for v in source.views] == [0], timed
        with monkeypatch.context() as patched:
            patched.setattr(evaluator, "count_plan", lambda query: None)
            assert counted == run(timed, source=history, now=now), timed


#: The counted queries a counting view answers without listing ids (one look-up at most).
COUNTED_BY_VIEW = {
    "G.V().Count()": ("NODES",),
    "G.E().Count()": ("EDGES",),
    "G.V().Has('Type', 'pod').Count()": ("Type", "pod"),
    "G.V('Type', 'pod').Count()": ("Type", "pod"),
    "G.V().Has('K8s.Labels.app', 'wordpress').Count()": ("K8s.Labels.app", "wordpress"),
}


@pytest.mark.parametrize("text", COUNTED)
def test_a_counting_view_answers_like_the_ids(
    history: memory.MemoryHistory, t0: float, now: float, text: str
) -> None:
    """Through a counting view: the same counts; a single look-up (or none) is counted by
    the view without listing ids, intersections and ``Within`` still list them."""
    for at in _times(t0, now):
        timed = text.replace("G.", f"G.{at}." if at else "G.", 1)
        source = Source(history, counting=True)
        assert run(timed, source=source, now=now) == run(timed, source=history, now=now), timed
        [view] = source.views
        assert isinstance(view, CountingView)
        assert view.fetched == 0, timed
        if text in COUNTED_BY_VIEW:
            assert (view.counted, view.listed) == ([COUNTED_BY_VIEW[text]], 0), timed
        else:
            assert view.counted == [] and view.listed > 0, timed


def test_a_count_the_view_answers_costs_one_step(history: memory.MemoryHistory, now: float) -> None:
    tight = Limits(max_steps=1)
    assert run("G.E().Count()", source=Source(history, counting=True), now=now, limits=tight) > 1
    with pytest.raises(QueryError):
        run("G.E().Count()", source=Source(history), now=now, limits=tight)


@pytest.mark.parametrize("text", NOT_COUNTED)
def test_other_queries_fetch_elements(text: str) -> None:
    assert evaluator.count_plan(parse(text)) is None


def test_the_sample_has_something_to_count(history: memory.MemoryHistory, now: float) -> None:
    counts = [run(text, source=history, now=now) for text in COUNTED]
    assert sum(1 for c in counts if c > 0) >= len(COUNTED) - 2
