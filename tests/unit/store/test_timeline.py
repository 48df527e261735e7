"""Timeline.after(t): every entry at or below the revision it gives is at or before t."""

from __future__ import annotations

import random

import pytest

from store.timeline import Timeline


def _feed(seed: int, count: int) -> list[tuple[int, int]]:
    """Revisions 1..count with times mostly rising, some from a source lagging behind."""
    rnd = random.Random(seed)
    t = 1_000_000
    out = []
    for revision in range(1, count + 1):
        t += rnd.choice([0, 1, 5, 20, -3])
        out.append((revision, t - 500 if rnd.random() < 0.1 else t))
    return out


@pytest.mark.parametrize("seed", range(20))
@pytest.mark.parametrize("every", [1, 4, 64])
def test_no_entry_after_t_is_at_or_below_the_answer(seed: int, every: int) -> None:
    feed = _feed(seed, 400)
    timeline = Timeline(every=every)
    timeline.extend(feed[:150])
    timeline.extend(feed[100:])  # overlapping pages are fine
    assert timeline.last == 400
    times = sorted({t for _, t in feed})
    for t in [times[0] - 1, *times[::7], times[-1], times[-1] + 1]:
        after = timeline.after(t)
        assert all(time <= t for revision, time in feed if revision <= after), t


def test_in_order_times_cost_at_most_one_mark_of_extra_entries() -> None:
    timeline = Timeline(every=8)
    timeline.extend((revision, revision * 10) for revision in range(1, 101))
    assert timeline.after(1000) == 100  # nothing after the last time
    assert timeline.after(500) >= 50 - 8
    assert timeline.after(0) == 0


def test_a_late_entry_with_an_old_time_does_not_hide_the_newer_ones() -> None:
    timeline = Timeline(every=1)
    timeline.extend([(1, 100), (2, 300), (3, 200), (4, 400)])
    assert timeline.after(250) == 1  # revision 2 (300) is after 250, although 3 is not
    assert timeline.after(300) == 3
    assert timeline.after(99) == 0


def test_an_empty_timeline_starts_at_the_beginning_or_its_last_revision() -> None:
    assert Timeline().after(5) == 0
    timeline = Timeline()
    timeline.extend([(7, 10)])
    assert timeline.after(10) == 7
    assert timeline.after(9) == 0
