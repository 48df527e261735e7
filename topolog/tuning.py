"""Process-wide runtime tuning for the long-running pipeline workers.

Flows in: nothing (called once at a worker's start, after its imports).
Flows out: CPython's cyclic garbage collector set for a process that holds a large,
long-lived object graph (the ``Deriver``'s state: ~10 Python objects per graph element).

Why: with the default thresholds (700, 10, 10) a young collection runs every 700
allocations and walks every container allocated since; deriving allocates a dozen
short-lived dicts/tuples per change, so the collector took ~35 % of the deriver's CPU
time at 10k pods (docs/benchmarks.md). The state has no reference cycles worth
collecting quickly, so collections can be rarer: fewer, larger young collections, and
``gc.freeze()`` moves what start-up imported out of every future collection.
"""

from __future__ import annotations

import gc
import os

#: (generation 0, 1, 2) thresholds; measured in docs/benchmarks.md ("GC thresholds").
THRESHOLDS = (50_000, 20, 100)


def tune_gc(thresholds: tuple[int, int, int] = THRESHOLDS) -> None:
    """Freeze the objects alive now and make collections rarer (idempotent).

    ``TOPOLOG_GC_TUNING=0`` keeps CPython's defaults (to measure the difference).
    """
    if os.environ.get("TOPOLOG_GC_TUNING") == "0":
        return
    gc.collect()
    gc.freeze()
    gc.set_threshold(*thresholds)
