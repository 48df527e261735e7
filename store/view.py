"""The store as the query evaluator's ``TimeTravel`` (topolog/core/query/view.py).

Flows in: a ``GraphReader`` on an event loop, and optionally a cold-history source.
Flows out: synchronous ``GraphView``s. The protocol is synchronous and the reader is
async, so there are two ways to serve it:

- ``prefetched``: await a ``Snapshot`` first (``reader.snapshot(at)`` / ``slice``) and
  evaluate on it in memory — right for ``G.At(...)`` and whole-graph queries;
- ``RedisTimeTravel``: for an evaluator running in a worker thread
  (``await asyncio.to_thread(evaluate, query, RedisTimeTravel(reader, loop))``); the live
  view forwards each batched call to the loop (indexed, no full read). Given the Redis
  client (for the change feed), a view at a time is the live graph overlaid with the
  elements changed since (``store.past``: O(changes since t)), else — or when the feed
  since t is too long — a prefetched snapshot; before the hot window, cold time travel.
Calling a ``RedisTimeTravel`` from the loop's own thread would deadlock: it raises.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Sequence
from typing import Any, TypeVar

import redis.asyncio as aioredis

from store.keys import Kind
from store.past import Past, PastSource
from store.reader import GraphReader, OutsideHotWindow
from store.snapshot import Direction, Element, Snapshot
from topolog.core.query import ast
from topolog.core.query import view as query_view

T = TypeVar("T")

#: Cold source: (t0 ms, t1 ms) → the graph over [t0, t1] rebuilt from Kafka.
ColdSlice = Callable[[int, int], Awaitable[Snapshot]]


def _kind(kind: ast.Kind) -> Kind:
    return Kind.EDGE if kind is ast.Kind.EDGES else Kind.NODE


def _ms(seconds: float) -> int:
    return round(seconds * 1000)


class _Bridge:
    def __init__(self, loop: asyncio.AbstractEventLoop, timeout: float) -> None:
        self._loop = loop
        self._timeout = timeout

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self._loop:
            coro.close()
            raise RuntimeError("RedisTimeTravel used on its event loop's thread: use a thread")
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(self._timeout)


class LiveView:
    """The live graph; every call is one round trip (each sees whole changesets)."""

    def __init__(self, reader: GraphReader, bridge: _Bridge) -> None:
        self._reader = reader
        self._bridge = bridge

    def nodes(self, ids: Sequence[str]) -> list[Element | None]:
        return self._bridge.run(self._reader.nodes(ids))

    def edges(self, ids: Sequence[str]) -> list[Element | None]:
        return self._bridge.run(self._reader.edges(ids))

    def all_node_ids(self) -> Iterable[str]:
        return self._bridge.run(self._reader.all_node_ids())

    def all_edge_ids(self) -> Iterable[str]:
        return self._bridge.run(self._reader.all_edge_ids())

    def nodes_by_index(self, key: str, value: str) -> Iterable[str]:
        return self._bridge.run(self._reader.nodes_by_index(key, value))

    def count_ids(self, kind: ast.Kind) -> int:
        return self._bridge.run(self._reader.count(_kind(kind))).total

    def count_by_index(self, key: str, value: str) -> int:
        return self._bridge.run(self._reader.count_by_index(key, value)).total

    def edges_of(self, node_ids: Sequence[str], direction: Direction) -> list[list[str]]:
        return self._bridge.run(self._reader.edges_of(node_ids, direction))

    def neighbours(
        self, node_ids: Sequence[str], direction: Direction
    ) -> tuple[list[list[str]], dict[str, Element]]:
        return self._bridge.run(self._reader.neighbours(node_ids, direction))

    def find_nodes(
        self, plan: Sequence[tuple[str, Sequence[str]]], limit: int
    ) -> list[Element] | None:
        return self._bridge.run(self._reader.find_nodes(plan, limit))


class PastView:
    """The graph at a past time (or over a slice): the live graph plus what changed
    since (``store.past``); every call is a few round trips."""

    def __init__(self, past: Past, bridge: _Bridge) -> None:
        self._past = past
        self._bridge = bridge

    def nodes(self, ids: Sequence[str]) -> list[Element | None]:
        return self._bridge.run(self._past.nodes(ids))

    def edges(self, ids: Sequence[str]) -> list[Element | None]:
        return self._bridge.run(self._past.edges(ids))

    def all_node_ids(self) -> Iterable[str]:
        return self._bridge.run(self._past.all_node_ids())

    def all_edge_ids(self) -> Iterable[str]:
        return self._bridge.run(self._past.all_edge_ids())

    def nodes_by_index(self, key: str, value: str) -> Iterable[str]:
        return self._bridge.run(self._past.nodes_by_index(key, value))

    def count_ids(self, kind: ast.Kind) -> int:
        return self._bridge.run(self._past.count(_kind(kind)))

    def count_by_index(self, key: str, value: str) -> int:
        return self._bridge.run(self._past.count_by_index(key, value))

    def edges_of(self, node_ids: Sequence[str], direction: Direction) -> list[list[str]]:
        return self._bridge.run(self._past.edges_of(node_ids, direction))


class RedisTimeTravel:
    """``TimeTravel`` over the Redis projection (times in epoch seconds).

    With ``client`` (the reader's Redis), views at a time overlay the live graph with
    the elements changed since (``PastView``) unless more than ``max_changes`` changes
    were made since; without it, or beyond that, they are whole snapshots.
    """

    def __init__(
        self,
        reader: GraphReader,
        loop: asyncio.AbstractEventLoop,
        *,
        cold: ColdSlice | None = None,
        timeout: float = 30.0,
        client: aioredis.Redis | None = None,
        max_changes: int = 1_000_000,
    ) -> None:
        self._reader = reader
        self._bridge = _Bridge(loop, timeout)
        self._cold = cold
        self._past = (
            PastSource(reader, client, max_changes=max_changes) if client is not None else None
        )

    def live(self) -> LiveView:
        return LiveView(self._reader, self._bridge)

    async def refresh_time_index(self) -> None:
        """Bring the feed's time index up to date (on the loop; see ``PastSource.refresh``)."""
        if self._past is not None:
            await self._past.refresh()

    def view_at(self, t: float) -> PastView | Snapshot:
        return self._bridge.run(self._view(_ms(t), _ms(t)))

    def view_between(self, t0: float, t1: float) -> PastView | Snapshot:
        return self._bridge.run(self._view(_ms(t0), _ms(t1)))

    async def _view(self, t0: int, t1: int) -> PastView | Snapshot:
        if self._past is not None:
            try:
                past = await self._past.open(t0, t1)
            except OutsideHotWindow:
                if self._cold is None:
                    raise
                return await self._cold(t0, t1)
            if past is not None:
                return PastView(past, self._bridge)
        return await self._slice(t0, t1)

    async def _slice(self, t0: int, t1: int) -> Snapshot:
        try:
            if t0 == t1:
                return await self._reader.snapshot(t1)
            return await self._reader.slice(t0, t1)
        except OutsideHotWindow:
            if self._cold is None:
                raise
            return await self._cold(t0, t1)


class PrefetchedTimeTravel:
    """``TimeTravel`` over snapshots fetched beforehand (single-threaded use)."""

    def __init__(self, live: Snapshot, at: dict[tuple[int, int], Snapshot] | None = None) -> None:
        self._live = live
        self._at = at or {}

    @classmethod
    async def fetch(
        cls,
        reader: GraphReader,
        *,
        slices: Sequence[tuple[float, float]] = (),
        cold: ColdSlice | None = None,
    ) -> PrefetchedTimeTravel:
        """The live graph plus a view per (t0, t1) in seconds (t0 == t1: at one time)."""
        at: dict[tuple[int, int], Snapshot] = {}
        travel = RedisTimeTravel(reader, asyncio.get_running_loop(), cold=cold)
        for t0, t1 in slices:
            key = (_ms(t0), _ms(t1))
            at[key] = await travel._slice(*key)
        return cls(await reader.snapshot(), at)

    def live(self) -> Snapshot:
        return self._live

    def view_at(self, t: float) -> Snapshot:
        return self._at[(_ms(t), _ms(t))]

    def view_between(self, t0: float, t1: float) -> Snapshot:
        return self._at[(_ms(t0), _ms(t1))]


def _conforms(
    redis_travel: RedisTimeTravel,
    prefetched: PrefetchedTimeTravel,
    live: LiveView,
    snap: Snapshot,
    past: PastView,
) -> tuple[
    query_view.TimeTravel,
    query_view.TimeTravel,
    query_view.GraphView,
    query_view.GraphView,
    query_view.GraphView,
    query_view.CountingView,
    query_view.CountingView,
    query_view.WalkingView,
    query_view.FindingView,
]:
    """Never called: mypy checks here that the classes satisfy the evaluator's protocols."""
    return redis_travel, prefetched, live, snap, past, live, past, live, live
