"""Measure Gremlin queries on the live Redis view: one call per step vs the generic path.

    .venv/bin/python bench/query_bench.py [--pods 10000] [--reps 500] [--redis-url URL]

Projects the simulator's cluster (``store_bench.simulated_records``: seed 7, derived
in-process, grouped like the processor's changesets) into Redis (a throwaway
redis-server unless ``--redis-url``), then evaluates each query ``--reps`` times as the
gateway does (``query.run`` on a worker thread over ``RedisTimeTravel``, each view call
bridged to the event loop), alternating two views of the same graph: ``steps`` — the
live view as it is (an indexed start and each ``Out``/``In``/``Both`` in one script
call: ``view.FindingView``, ``view.WalkingView``) — and ``generic`` — the same view with
those two methods hidden (ids, then elements, then adjacency, one call each). Prints
p50/p99 ms and view calls per query for both; no HTTP, so the figures are the store's
share of a query's latency.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import time
from collections.abc import Iterable, Sequence
from typing import Any

import redis.asyncio as aioredis

from bench import store_bench
from store.encoding import Position
from store.keys import Keys
from store.projection import Projection
from store.reader import GraphReader
from store.snapshot import Direction, Element
from store.view import LiveView, RedisTimeTravel
from topolog.core import query
from topolog.core.query import ast
from topolog.core.query import view as query_view


class Counted:
    """A ``GraphView`` forwarding to the live view, counting calls; ``generic`` hides
    the optional one-call methods so that the evaluator takes its generic path."""

    def __init__(self, inner: LiveView, *, generic: bool) -> None:
        self.inner = inner
        self.calls = 0
        if not generic:
            self.find_nodes = self._find_nodes
            self.neighbours = self._neighbours

    def _find_nodes(
        self, plan: Sequence[tuple[str, Sequence[str]]], limit: int
    ) -> list[Element] | None:
        self.calls += 1
        return self.inner.find_nodes(plan, limit)

    def _neighbours(
        self, node_ids: Sequence[str], direction: Direction
    ) -> tuple[list[list[str]], dict[str, Element]]:
        self.calls += 1
        return self.inner.neighbours(node_ids, direction)

    def nodes(self, ids: Sequence[str]) -> list[Element | None]:
        self.calls += 1
        return self.inner.nodes(ids)

    def edges(self, ids: Sequence[str]) -> list[Element | None]:
        self.calls += 1
        return self.inner.edges(ids)

    def all_node_ids(self) -> Iterable[str]:
        self.calls += 1
        return self.inner.all_node_ids()

    def all_edge_ids(self) -> Iterable[str]:
        self.calls += 1
        return self.inner.all_edge_ids()

    def nodes_by_index(self, key: str, value: str) -> Iterable[str]:
        self.calls += 1
        return self.inner.nodes_by_index(key, value)

    def edges_of(self, node_ids: Sequence[str], direction: Direction) -> list[list[str]]:
        self.calls += 1
        return self.inner.edges_of(node_ids, direction)

    def count_ids(self, kind: ast.Kind) -> int:
        self.calls += 1
        return self.inner.count_ids(kind)

    def count_by_index(self, key: str, value: str) -> int:
        self.calls += 1
        return self.inner.count_by_index(key, value)


class Travel:
    """``TimeTravel`` whose live view is one ``Counted``."""

    def __init__(self, live: Counted) -> None:
        self._live = live

    def live(self) -> query_view.GraphView:
        return self._live

    def view_at(self, t: float) -> query_view.GraphView:
        raise NotImplementedError

    def view_between(self, t0: float, t1: float) -> query_view.GraphView:
        raise NotImplementedError


async def _load(client: aioredis.Redis, keys: Keys, pods: int) -> int:
    sync, _churn = store_bench.simulated_records(pods, 0)
    projection = Projection(client, keys)
    for start in range(0, len(sync), 200):
        batch = [
            (raw, Position("bench.graph", 0, start + i))
            for i, raw in enumerate(sync[start : start + 200])
        ]
        await projection.apply_records(batch)
    return len(sync)


async def _names(reader: GraphReader, kind: str) -> str:
    ids = sorted(await reader.nodes_by_index("Type", kind))
    node = await reader.node(ids[len(ids) // 2])
    assert node is not None
    return str(node["Metadata"]["Name"])


async def measure(redis_url: str, pods: int, reps: int) -> dict[str, Any]:
    client = aioredis.Redis.from_url(redis_url)
    keys = Keys("qbench:")
    await _load(client, keys, pods)
    reader = GraphReader(client, keys)
    pod, deployment = await _names(reader, "pod"), await _names(reader, "deployment")
    queries = {
        "indexed_has": f"G.V().Has('Type', 'pod', 'Name', '{pod}')",
        "two_hop": f"G.V().Has('Type', 'deployment', 'Name', '{deployment}').Out().Out()",
        "in_from_pod": f"G.V().Has('Name', '{pod}').In()",
    }
    live = RedisTimeTravel(reader, asyncio.get_running_loop()).live()
    out: dict[str, Any] = {"pods": pods, "reps": reps}
    for name, text in queries.items():
        samples: dict[str, list[float]] = {"steps": [], "generic": []}
        calls: dict[str, int] = {}
        answers: dict[str, Any] = {}
        for _ in range(reps):
            for mode in ("steps", "generic"):
                counted = Counted(live, generic=mode == "generic")
                began = time.perf_counter()
                answers[mode] = await asyncio.to_thread(
                    query.run, text, source=Travel(counted), now=time.time()
                )
                samples[mode].append(time.perf_counter() - began)
                calls[mode] = counted.calls
        assert answers["steps"] == answers["generic"], name
        out[name] = {
            mode: {
                "p50_ms": round(statistics.median(s) * 1000, 3),
                "p99_ms": round(sorted(s)[int(len(s) * 0.99) - 1] * 1000, 3),
                "view_calls": calls[mode],
            }
            for mode, s in samples.items()
        }
        out[name]["answer_items"] = len(answers["steps"])
    await client.aclose()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pods", type=int, default=10000)
    parser.add_argument("--reps", type=int, default=500)
    parser.add_argument("--redis-url", default=None)
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        url = args.redis_url or stack.enter_context(store_bench.throwaway_redis())
        result = asyncio.run(measure(url, args.pods, args.reps))
    command = f".venv/bin/python bench/query_bench.py --pods {args.pods} --reps {args.reps}"
    print(f"# {command}")
    for name, figures in result.items():
        print(name, figures)


if __name__ == "__main__":
    main()
