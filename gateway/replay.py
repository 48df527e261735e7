"""The graph at a past revision or time, and the feed entries from there to a revision.

Flows in: a ``Backend``; a revision (a reconnecting client's ``Last-Event-ID``) or a
time (``since``). Flows out: a private ``Mirror`` at that point and the entries after it,
so the stream replays exactly what a subscriber connected since then would have seen.

How the graph at revision ``r`` is found: history is indexed by time, the feed by
revision. With ``t`` the time of entry ``r``, the graph at ``t - 1 ms`` holds every
revision older than ``t``; the entries from the first one at ``t`` up to ``r`` are applied
on top. This relies on changeset times not going backwards along the feed (the graph
topic is time-ordered per cluster); the store's history would otherwise disagree with
the feed's order and the rebuilt graph could differ.

Errors: ``FeedGap`` / ``OutsideHotWindow`` when that point is no longer retained.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from gateway.backend import Backend, FeedEntry, FeedGap
from gateway.mirror import Mirror

_BATCH = 1000


async def mirror_at_revision(backend: Backend, revision: int) -> Mirror:
    """The graph right after ``revision`` (0 = before anything)."""
    if revision == 0:
        first = await backend.first_revision()
        if first is not None and first > 1:
            raise FeedGap(0, first)
        return Mirror()
    found = await backend.read_range(revision, revision)
    if not found:
        first = await backend.first_revision()
        raise FeedGap(revision - 1, first if first is not None else revision + 1)
    t = found[0].time
    # Entries at time t up to ``revision``: walk back until one is older.
    same_time: list[FeedEntry] = []
    hi = revision
    while hi >= 1:
        lo = max(1, hi - _BATCH + 1)
        chunk = await backend.read_range(lo, hi)
        older = False
        for entry in reversed(chunk):
            if entry.time < t:
                older = True
                break
            same_time.insert(0, entry)
        if older or lo == 1 or len(chunk) < hi - lo + 1:
            break
        hi = lo - 1
    snapshot = await backend.snapshot(t - 1)
    base = same_time[0].revision - 1 if same_time else revision
    mirror = Mirror.from_snapshot(snapshot, base)
    for entry in same_time:
        mirror.apply(entry)
    return mirror


async def revision_at_time(backend: Backend, at_ms: int) -> int:
    """The last revision whose changeset time is <= ``at_ms`` (binary search)."""
    last = await backend.revision()
    first = await backend.first_revision()
    if first is None:
        return last
    head = await backend.read_range(first, first)
    if not head or head[0].time > at_ms:
        if first > 1:
            raise FeedGap(0, first)
        return 0
    lo, hi = first, last  # invariant: time(lo) <= at_ms
    while lo < hi:
        mid = (lo + hi + 1) // 2
        entry = await backend.read_range(mid, mid)
        if entry and entry[0].time <= at_ms:
            lo = mid
        else:
            hi = mid - 1
    return lo


async def mirror_at_time(backend: Backend, at_ms: int) -> Mirror:
    """The graph at ``at_ms`` with the revision of the last change at or before it."""
    revision = await revision_at_time(backend, at_ms)
    snapshot = await backend.snapshot(at_ms)
    return Mirror.from_snapshot(snapshot, revision)


async def entries(backend: Backend, after: int, upto: int) -> AsyncIterator[FeedEntry]:
    """Every entry with ``after < revision <= upto``, in order (``FeedGap`` if trimmed)."""
    while after < upto:
        batch = await backend.read_after(after, count=_BATCH)
        if not batch:
            return
        for entry in batch:
            if entry.revision > upto:
                return
            yield entry
            after = entry.revision
