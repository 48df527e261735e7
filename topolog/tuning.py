"""Process-wide runtime tuning for the long-running pipeline workers.

Flows in: nothing (called once at a worker's start, after its imports).
Flows out: CPython's cyclic garbage collector set for a process that holds a large,
long-lived object graph (the ``Deriver``'s state: ~10 Python objects per graph element);
for the processor, a daemon thread that moves what survives a young collection out of
every future collection.

Why: with the default thresholds (700, 10, 10) a young collection runs every 700
allocations and walks every container allocated since; deriving allocates a dozen
short-lived dicts/tuples per change, so the collector took ~35 % of the deriver's CPU
time at 10k pods (docs/benchmarks.md). The state has no reference cycles worth
collecting quickly, so collections can be rarer: fewer, larger young collections, and
``gc.freeze()`` moves what start-up imported out of every future collection.

Survivors frozen on a clock (``freeze_survivors``, the processor): CPython starts a
young collection when tracked allocations minus deallocations exceed the generation-0
threshold. A deriver in steady churn replaces its state — it frees about as many
objects as it allocates — so that count hardly moves while the young generation keeps
growing (every new object of the state is young until a collection): one collection
came every ~30-50 s at 1,000 envelopes/s and walked all of it, a pause of ~200 ms CPU
(the bare Deriver at 10k pods) to ~360-390 ms (the churn bench's processor) that every
record in flight waited for — the churn's p99 (docs/benchmarks.md). The thread collects
the young generation every ``SURVIVORS_INTERVAL_S`` and freezes what survived: a pause
walks a tenth of a second of new objects (~8 ms at most, in-process, while deriving
flat out), and no survivor is walked again by a middle or full collection (less GC CPU
in a sync). The cost: cyclic garbage that is still referenced at a freeze and dies
later is never collected. The processor makes next to none (its young collections in
a churn found 0 unreachable objects among ~1M); the projector and gateway do, so they
keep the thresholds only. It does nothing while the collector is disabled
(``processors.deriving`` disables it while it derives a large batch).
"""

from __future__ import annotations

import gc
import os
import threading

#: (generation 0, 1, 2) thresholds; measured in docs/benchmarks.md ("GC thresholds").
THRESHOLDS = (50_000, 20, 100)

#: Seconds between two young collections whose survivors are frozen (module doc).
SURVIVORS_INTERVAL_S = 0.1

_clock: threading.Thread | None = None
_stopping = threading.Event()


def tune_gc(
    thresholds: tuple[int, int, int] = THRESHOLDS, *, freeze_survivors: bool = False
) -> None:
    """Freeze the objects alive now and make collections rarer; with
    ``freeze_survivors``, also start freezing young survivors on a clock (idempotent).

    ``TOPOLOG_GC_TUNING=0`` keeps CPython's defaults (to measure the difference).
    """
    global _clock
    if os.environ.get("TOPOLOG_GC_TUNING") == "0":
        return
    gc.collect()
    gc.freeze()
    gc.set_threshold(*thresholds)
    if freeze_survivors and _clock is None:
        _clock = threading.Thread(
            target=_on_a_clock, args=(SURVIVORS_INTERVAL_S,), name="gc-survivors", daemon=True
        )
        _clock.start()


def freeze_young_survivors() -> bool:
    """Collect the young generation and freeze what survived; nothing while the
    collector is disabled. Returns whether it ran."""
    if not gc.isenabled():
        return False
    gc.collect(0)
    gc.freeze()
    return True


def stop_clock() -> None:
    """Stop freezing survivors (tests: the clock would freeze another test's garbage)."""
    global _clock
    if _clock is not None:
        _stopping.set()
        _clock.join()
        _clock = None
        _stopping.clear()


def _on_a_clock(interval: float) -> None:
    while not _stopping.wait(interval):
        freeze_young_survivors()
