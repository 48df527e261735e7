"""Benchmark the bare ``Deriver`` in-process: CPU per envelope (sync and churn), peak RSS,
and a digest of everything it emits (to prove an optimisation byte-identical).

Builds the synthetic cluster of ``topolog.core.simulate`` at a fixed clock (so the output
is reproducible), turns the initial objects and ``--steps`` churn steps into envelopes
(not timed), then feeds them through one ``Deriver`` and times ``apply`` with
``time.process_time`` (other processes' load counts less than in wall-clock figures).

    .venv/bin/python bench/deriver_bench.py --pods 10000 --steps 300
    .venv/bin/python bench/deriver_bench.py --pods 10000 --digests /tmp/d.txt  # per changeset

``TOPOLOG_COMPILED=0`` times the modules from source (``"compiled"`` in the output says which).

Envelopes are timed a batch (``BATCH``) at a time, and digested between batches.
The ``digest`` is a sha1 over every changeset's ``to_json()`` and every alert's
``to_json()`` in order; ``--digests FILE`` also writes one sha1 per envelope (to find the
first envelope whose output differs).
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import resource
import sys
import time
import types
from typing import Any

import orjson

from producers import simulation
from topolog import compiled
from topolog.core import envelope, graph, simulate
from topolog.core.derive.engine import Deriver
from topolog.tuning import tune_gc

T0 = 1_700_000_000.0
#: Envelopes timed at once (a processor worker derives a batch, then publishes it).
BATCH = 100
CLUSTER = "bench"


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def envelopes(pods: int, steps: int) -> tuple[list[envelope.Envelope], list[envelope.Envelope]]:
    sim = simulate.Simulator(seed=7, pods=pods, now=T0)
    sync = [simulation.to_envelope(e, cluster=CLUSTER, now=T0) for e in sim.initial()]
    # The producer's marker: the churn after it raises its alerts, as in a processor.
    sync.append(envelope.cluster_synced_marker(cluster=CLUSTER, observed_at=T0))
    churn: list[envelope.Envelope] = []
    for step in range(steps):
        t = T0 + 1 + step * 0.1
        churn += [simulation.to_envelope(e, cluster=CLUSTER, now=t) for e in sim.churn(t)]
    return sync, churn


class _GcClock:
    """CPU seconds spent in the cyclic garbage collector (``gc.callbacks``)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.collections = [0, 0, 0]
        self._began = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._began = time.process_time()
        else:
            self.seconds += time.process_time() - self._began
            self.collections[info["generation"]] += 1


def heap(root: object) -> tuple[int, int]:
    """Objects and bytes (``sys.getsizeof``) reachable from ``root``, not counting
    classes, modules and functions: what the deriver keeps."""
    seen: set[int] = set()
    stack = [root]
    count = size = 0
    while stack:
        o = stack.pop()
        if id(o) in seen or isinstance(o, type | types.ModuleType | types.FunctionType):
            continue
        seen.add(id(o))
        count += 1
        size += sys.getsizeof(o)
        stack.extend(gc.get_referents(o))
    return count, size


def run(
    pods: int, steps: int, *, digests: str | None, tune: bool, walk: bool = False
) -> dict[str, Any]:
    sync, churn = envelopes(pods, steps)
    if tune:
        tune_gc()  # as the processor worker does
    deriver = Deriver(CLUSTER)
    total = hashlib.sha1()
    per_env: list[str] = []
    figures: dict[str, Any] = {"pods": pods, "churn_steps": steps}
    rss_before = _rss_mb()
    changes = 0
    clock = _GcClock()
    gc.callbacks.append(clock)
    for phase, envs in (("sync", sync), ("churn", churn)):
        clock.seconds, clock.collections = 0.0, [0, 0, 0]
        cpu = 0.0
        for first in range(0, len(envs), BATCH):
            # Timed a batch at a time, digested (untimed) in between; the results of one
            # batch at most are alive, as in a processor worker.
            batch = envs[first : first + BATCH]
            began = time.process_time()
            results = [
                deriver.apply(env, source=graph.Source(phase, 0, first + i))
                for i, env in enumerate(batch)
            ]
            cpu += time.process_time() - began
            for env, res in zip(batch, results, strict=True):
                changes += len(res.changes)
                h = hashlib.sha1(graph.ChangeSet(env.observed_at, res.changes).to_json())
                for alert in res.alerts:
                    h.update(alert.to_json())
                total.update(h.digest())
                if digests:
                    per_env.append(h.hexdigest())
            del results
        figures[f"{phase}_envelopes"] = len(envs)
        figures[f"{phase}_cpu_s"] = round(cpu, 2)
        figures[f"{phase}_us_per_envelope"] = round(cpu / max(1, len(envs)) * 1e6, 1)
        figures[f"{phase}_gc_cpu_s"] = round(clock.seconds, 2)
        figures[f"{phase}_gc_collections"] = clock.collections
        if phase == "sync":
            figures["rss_mb_deriver_after_sync"] = round(_rss_mb() - rss_before, 1)
    gc.callbacks.remove(clock)
    nodes, edges = deriver.snapshot()
    figures["nodes"], figures["edges"], figures["changes"] = len(nodes), len(edges), changes
    figures["operations"] = deriver.operations
    if walk:
        count, size = heap(deriver)
        figures["deriver_heap_objects"] = count
        figures["deriver_heap_mb"] = round(size / 2**20, 1)
    figures["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    figures["digest"] = total.hexdigest()
    figures["compiled"] = compiled.active()
    if digests:
        with open(digests, "w") as f:
            f.write("\n".join(per_env) + "\n")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pods", type=int, default=10000)
    parser.add_argument("--steps", type=int, default=300, help="churn steps after the sync")
    parser.add_argument("--digests", help="write one sha1 per envelope to this file")
    parser.add_argument(
        "--heap", action="store_true", help="walk what the deriver keeps (objects, MB)"
    )
    parser.add_argument("--no-gc-tuning", action="store_true", help="keep CPython's GC defaults")
    args = parser.parse_args()
    gc.collect()
    figures = run(
        args.pods, args.steps, digests=args.digests, tune=not args.no_gc_tuning, walk=args.heap
    )
    figures["command"] = " ".join([sys.executable, *sys.argv])
    sys.stdout.write(orjson.dumps(figures, option=orjson.OPT_INDENT_2).decode() + "\n")


if __name__ == "__main__":
    main()
