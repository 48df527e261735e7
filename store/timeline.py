"""Which change-feed revisions can hold a change after time t: a conservative time index.

Flows in: ``(revision, changeset time ms)`` of feed entries, in revision order, as they
are read (``feed.times_after``).
Flows out: for a time ``t``, a revision ``after`` such that every feed entry with a
revision at or below it has a time at or below ``t``: the changes after ``t`` are all in
the entries after ``after``.

Changeset times are not monotonic in revision order (a lagging partition or cluster
applies old times after newer ones), so a binary search over the times themselves could
skip a late entry. The running maximum of the times is monotonic, and an entry at or
below a revision whose running maximum is <= t is itself <= t: that is what is indexed,
every ``every`` entries. Entries trimmed from the feed head after they were indexed
keep their (too high, hence still safe) share in the maximum; entries trimmed before
were older than the trim cutoff, and no time before the cutoff is asked (the reader
raises ``OutsideHotWindow``). Pure: no I/O.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable


class Timeline:
    def __init__(self, *, every: int = 64) -> None:
        self.every = every
        #: Revision and time of the latest entry indexed (0: none yet).
        self.last = 0
        self.last_time = -1
        self._max = -1
        self._since_mark = 0
        #: Marks: the running maximum time of every entry up to ``_mark_revs[i]``.
        self._mark_revs: list[int] = []
        self._mark_maxes: list[int] = []

    def extend(self, entries: Iterable[tuple[int, int]]) -> None:
        """Index entries ``(revision, time ms)``; revisions above ``last``, ascending."""
        for revision, time in entries:
            if revision <= self.last:
                continue
            self.last = revision
            self.last_time = time
            self._max = max(self._max, time)
            self._since_mark += 1
            if self._since_mark >= self.every:
                self._mark_revs.append(revision)
                self._mark_maxes.append(self._max)
                self._since_mark = 0

    def after(self, t: int) -> int:
        """A revision at or below which every indexed entry's time is <= ``t``: the
        entries after ``t`` are among those with a higher revision. With times in
        order it is at most ``every`` entries earlier than it could be."""
        i = bisect.bisect_right(self._mark_maxes, t)  # marks whose maximum is <= t
        if i == len(self._mark_maxes) and self._max <= t:
            return self.last
        return self._mark_revs[i - 1] if i > 0 else 0
