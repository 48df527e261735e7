"""Process-wide runtime tuning for the long-running pipeline workers.

Flows in: nothing (called once at a worker's start, after its imports).
Flows out: CPython's cyclic garbage collector set for a process that holds a large,
long-lived object graph (the ``Deriver``'s state: ~10 Python objects per graph element);
for the processor and the gateway, a daemon thread that moves what survives a young
collection out of every future collection (the gateway's also collects what it froze
now and then).

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
later is not collected by any young collection. The processor makes next to none (its
young collections in a churn found 0 unreachable objects among ~1M). The gateway's
mirror has the processor's problem (a churn replaces it piece by piece: one young
collection a minute walked ~250k objects, 264-344 ms of CPU, while every stream
waited), but the gateway makes cyclic garbage: each SSE stream or request leaves ~200
objects in cycles (asyncio, starlette, exceptions), and a stream open at a freeze leaves
them frozen — ~60-80 per stream. So the gateway's clock also reclaims (``reclaim``): once
what it froze since the last reclaim exceeds ``RECLAIM_GROWTH`` of what was frozen then,
and at most every ``RECLAIM_INTERVAL_S``, it unfreezes everything, runs a full
collection and freezes again — CPython's own rule for its oldest generation (a full
collection when the objects moved into it since the last one exceed a quarter of it),
with a floor on the interval so that a sync's growing mirror costs one walk, not one
per quarter. In a steady churn the mirror's replacements count too, so that is one
full collection every 10 minutes (a pause of the whole heap's size) instead of a young
one walking a minute of replacements every minute or so. The projector keeps
the thresholds only. The clock does nothing while the collector is disabled
(``processors.deriving`` disables it while it derives a large batch).

Quiet collections (``quiet``, the processor): a young collection that finds nothing
walked the tick's new objects for nothing. In a churn at 1,000 envelopes/s (10k pods)
the processor's young collections took 25-50 ms of CPU a second, 3-6 ms each, and found
no garbage in ~800 of them (``gc.callbacks``, session 9). So once ``QUIET_AFTER``
collections in a row found nothing, the clock freezes the tick's objects without a
collection (``gc.freeze`` only splices lists) and collects only every ``PROBE_EVERY``th
tick; a collection that finds garbage makes it collect every tick again. The price: a
cycle that dies within a tick that is not a collecting one is frozen, not freed —
cyclic garbage, which is what the probes look for, so a steady source of it is noticed
within ``PROBE_EVERY`` ticks and only the cycles of those ticks stay. The gateway's
clock is quiet too: in the same churn its collections found nothing either (the only
garbage was the Gremlin parser's construction at start, ``gc.DEBUG_SAVEALL``); opening
and closing streams makes some, which wakes it, and what it froze is reclaimed.
"""

from __future__ import annotations

import contextlib
import gc
import os
import threading
import time
from collections.abc import Iterator

#: (generation 0, 1, 2) thresholds; measured in docs/benchmarks.md ("GC thresholds").
THRESHOLDS = (50_000, 20, 100)

#: Seconds between two young collections whose survivors are frozen (module doc).
SURVIVORS_INTERVAL_S = 0.1

#: With ``quiet``: collections in a row that found no garbage before the clock freezes
#: without collecting (5 s of ticks)...
QUIET_AFTER = 50
#: ...and, while quiet, every how many ticks it still collects (a probe).
PROBE_EVERY = 10

#: With ``reclaim``: a full collection of the frozen objects once they have grown by this
#: share since the last one (CPython's rule for its oldest generation: a quarter)...
RECLAIM_GROWTH = 0.25
#: ...and at least this many seconds after the last one.
RECLAIM_INTERVAL_S = 600.0

_clock: threading.Thread | None = None
_stopping = threading.Event()


def tune_gc(
    thresholds: tuple[int, int, int] = THRESHOLDS,
    *,
    freeze_survivors: bool = False,
    reclaim: bool = False,
    quiet: bool = False,
) -> None:
    """Freeze the objects alive now and make collections rarer; with
    ``freeze_survivors``, also start freezing young survivors on a clock, which with
    ``reclaim`` also collects the frozen objects now and then, and with ``quiet`` stops
    collecting while collections find nothing (idempotent; module doc).

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
            target=_on_a_clock,
            args=(SURVIVORS_INTERVAL_S, reclaim, quiet),
            name="gc-survivors",
            daemon=True,
        )
        _clock.start()


@contextlib.contextmanager
def collector_paused(*, freeze: bool = False) -> Iterator[None]:
    """No cyclic collection inside; with ``freeze``, what is alive at the end leaves the
    collector (``gc.freeze``): for code that builds many objects at once and keeps them
    a while (a batch decoded for deriving). Pausing alone only defers the walk — the
    first young collection after it walks everything the block made (in a 100k-pod sync
    the processor spent more, not less) — freezing skips it: frozen objects are still
    freed when their last reference goes, only cyclic garbage among them is never
    collected (decoded JSON has none). ``TOPOLOG_GC_TUNING=0``: does nothing."""
    if os.environ.get("TOPOLOG_GC_TUNING") == "0":
        yield
        return
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if freeze:
            gc.freeze()
        if enabled:
            gc.enable()


def freeze_young_survivors() -> bool:
    """Collect the young generation and freeze what survived; nothing while the
    collector is disabled. Returns whether it ran."""
    return QuietClock(quiet_after=None).tick() is not None


class QuietClock:
    """Freezes young survivors each tick and collects only while collections find
    garbage (``quiet`` in the module doc); never quiet with ``quiet_after=None``.
    ``counted``: also count what each tick froze (``froze``, for ``Reclaimer``)."""

    def __init__(
        self,
        *,
        quiet_after: int | None = QUIET_AFTER,
        probe_every: int = PROBE_EVERY,
        counted: bool = False,
    ):
        self._quiet_after = quiet_after
        self._probe_every = probe_every
        self._counted = counted
        #: Collections in a row that found nothing.
        self.empty = 0
        #: Objects the last tick froze (with ``counted``).
        self.froze = 0
        self._ticks = 0

    @property
    def quiet(self) -> bool:
        return self._quiet_after is not None and self.empty >= self._quiet_after

    def tick(self) -> bool | None:
        """One tick: whether it collected; None while the collector is disabled."""
        if not gc.isenabled():
            return None
        self._ticks += 1
        collect = not self.quiet or self._ticks % self._probe_every == 0
        if collect:
            self.empty = self.empty + 1 if gc.collect(0) == 0 else 0
        if self._counted:  # after a collection the survivors are in generation 1
            self.froze = sum(len(gc.get_objects(generation)) for generation in range(3))
        gc.freeze()
        return collect


class Reclaimer:
    """Freezes young survivors and decides when the frozen objects are collected
    (``reclaim`` in the module doc). It counts what it froze since the last reclaim, as
    CPython counts what it moved into its oldest generation: counting the frozen objects
    themselves walks all of them (~10 ms at 400k, too slow for every tick)."""

    def __init__(
        self,
        *,
        growth: float | None = None,
        interval_s: float | None = None,
        quiet: bool = False,
    ) -> None:
        self._growth = RECLAIM_GROWTH if growth is None else growth
        self._interval_s = RECLAIM_INTERVAL_S if interval_s is None else interval_s
        self._frozen = gc.get_freeze_count()
        self._added = 0
        self._at = time.monotonic()
        self._young = QuietClock(quiet_after=_quiet_after(quiet), counted=True)

    @property
    def quiet(self) -> bool:
        """Whether its ticks have stopped collecting (``quiet``)."""
        return self._young.quiet

    def freeze_young_survivors(self) -> bool:
        """``freeze_young_survivors()`` (on a quiet clock with ``quiet``), counting the
        survivors frozen."""
        if self._young.tick() is None:
            return False
        self._added += self._young.froze
        return True

    def due(self) -> bool:
        return (
            self._added > self._frozen * self._growth
            and time.monotonic() - self._at >= self._interval_s
        )

    def reclaim(self) -> int:
        """Collect every object, the frozen ones included, and freeze the survivors
        again; nothing while the collector is disabled. Returns what was collected."""
        if not gc.isenabled():
            return 0
        gc.unfreeze()
        found = gc.collect()
        gc.freeze()
        self._frozen = gc.get_freeze_count()
        self._added = 0
        self._at = time.monotonic()
        return found

    def tick(self) -> None:
        if self.due():
            self.reclaim()
        else:
            self.freeze_young_survivors()


def stop_clock() -> None:
    """Stop freezing survivors (tests: the clock would freeze another test's garbage)."""
    global _clock
    if _clock is not None:
        _stopping.set()
        _clock.join()
        _clock = None
        _stopping.clear()


def _on_a_clock(interval: float, reclaim: bool, quiet: bool = False) -> None:
    clock: Reclaimer | QuietClock = (
        Reclaimer(quiet=quiet) if reclaim else QuietClock(quiet_after=_quiet_after(quiet))
    )
    while not _stopping.wait(interval):
        clock.tick()


def _quiet_after(quiet: bool) -> int | None:
    """``QuietClock``'s ``quiet_after`` for a clock that may (or may not) go quiet."""
    return QUIET_AFTER if quiet else None
