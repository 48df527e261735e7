"""Timestamp order across partitions: what the route stage may hand on, and in what order."""

from __future__ import annotations

import random
from dataclasses import dataclass

from hypothesis import given
from hypothesis import strategies as st

from processors import timeorder
from processors.timeorder import CAUGHT_UP, UNKNOWN

A, B, C = ("res", 0), ("res", 1), ("res", 2)


@dataclass(frozen=True)
class Rec:
    offset: int
    timestamp: int


def _recs(*timestamps: int) -> list[Rec]:
    return [Rec(i, t) for i, t in enumerate(timestamps)]


def _held(**partitions: list[Rec]) -> timeorder.Held[tuple[str, int], Rec]:
    held: timeorder.Held[tuple[str, int], Rec] = timeorder.Held()
    for name, records in partitions.items():
        held.add({"a": A, "b": B, "c": C}[name], records)
    return held


def _frontiers(
    held: timeorder.Held[tuple[str, int], Rec], *caught_up: tuple[str, int]
) -> dict[tuple[str, int], float]:
    return {p: timeorder.frontier(held.of(p), caught_up=p in caught_up) for p in (A, B, C)}


def test_records_of_partitions_fetched_one_after_the_other_come_out_in_publish_order() -> None:
    # A fetch of each partition, as a consumer hands them over: a's, then b's, then c's.
    held = _held(a=_recs(1, 4, 7), b=_recs(2, 5, 8), c=_recs(3, 6, 9))
    out = held.release(_frontiers(held, A, B, C), limit=100)
    assert [r.timestamp for _, r in out] == list(range(1, 10))
    assert held.count == 0


def test_nothing_passes_the_last_known_time_of_a_partition_with_more_on_the_broker() -> None:
    held = _held(a=_recs(1, 4, 7, 10), b=_recs(2, 5), c=_recs(3, 6, 9))
    frontiers = _frontiers(held, A, C)  # b has more on the broker: known up to 5
    assert held.ready(frontiers) == 5
    out = held.release(frontiers, limit=100)
    assert [r.timestamp for _, r in out] == [1, 2, 3, 4, 5]
    # What stays keeps each partition's order, and passes once b's next fetch arrives.
    held.add(B, [Rec(2, 8), Rec(3, 11)])
    out = held.release(_frontiers(held, A, B, C), limit=100)
    assert [r.timestamp for _, r in out] == [6, 7, 8, 9, 10, 11]


def test_a_partition_behind_with_nothing_fetched_holds_everything_back() -> None:
    held = _held(a=_recs(1, 2), c=_recs(3))
    frontiers = _frontiers(held, A, C)  # b: on the broker, not fetched
    assert frontiers[B] == UNKNOWN
    assert held.ready(frontiers) == 0
    assert held.release(frontiers, limit=100) == []
    assert held.count == 3


def test_caught_up_partitions_hold_nothing_back() -> None:
    held = _held(a=_recs(5, 9), b=_recs(1))
    frontiers = _frontiers(held, A, B, C)
    assert set(frontiers.values()) == {CAUGHT_UP}
    assert [r.timestamp for _, r in held.release(frontiers, limit=100)] == [1, 5, 9]


def test_a_partition_s_records_never_pass_each_other_whatever_their_timestamps() -> None:
    # A producer's clock may step back: offset order wins within a partition.
    held = _held(a=_recs(5, 1, 6), b=_recs(2, 3))
    out = held.release(_frontiers(held, A, B, C), limit=100)
    assert [(p, r.offset) for p, r in out if p == A] == [(A, 0), (A, 1), (A, 2)]
    assert [r.timestamp for _, r in out] == [2, 3, 5, 1, 6]


def test_a_limit_takes_the_earliest_and_keeps_the_rest_in_order() -> None:
    held = _held(a=_recs(1, 3, 5), b=_recs(2, 4, 6))
    out = held.release(_frontiers(held, A, B, C), limit=4)
    assert [r.timestamp for _, r in out] == [1, 2, 3, 4]
    assert held.count == 2 and [r.timestamp for r in held.of(A)] == [5]
    assert [r.timestamp for _, r in held.release({}, limit=4)] == [5, 6]


def test_ties_go_to_the_lower_partition_first() -> None:
    held = _held(b=_recs(1, 1), a=_recs(1))
    out = held.release(_frontiers(held, A, B, C), limit=100)
    assert [p for p, _ in out] == [A, B, B]


def test_a_forced_release_takes_everything_held_in_merged_order() -> None:
    held = _held(a=_recs(1, 4), c=_recs(2, 3))
    out = held.release(_frontiers(held, A, C), limit=100, force=True)  # b never came
    assert [r.timestamp for _, r in out] == [1, 2, 3, 4]


@given(
    st.lists(st.lists(st.integers(0, 50), max_size=12), min_size=1, max_size=4),
    st.integers(1, 10),
    st.randoms(use_true_random=False),
)
def test_released_batches_together_are_the_held_records_each_partition_in_order(
    partitions: list[list[int]], limit: int, rnd: random.Random
) -> None:
    held: timeorder.Held[tuple[str, int], Rec] = timeorder.Held()
    names = [("res", p) for p in range(len(partitions))]
    for name, stamps in zip(names, partitions, strict=True):
        held.add(name, _recs(*stamps))
    out: list[tuple[tuple[str, int], Rec]] = []
    while held.count:
        caught = {n for n in names if rnd.random() < 0.5}
        frontiers = {n: timeorder.frontier(held.of(n), caught_up=n in caught) for n in names}
        ready = held.ready(frontiers)
        batch = held.release(frontiers, limit=limit, force=not ready)
        assert len(batch) == min(limit, ready or len(batch))
        bound = min(frontiers.values())
        if ready:
            assert all(r.timestamp <= bound for _, r in batch)
        assert batch
        out += batch
    for name, stamps in zip(names, partitions, strict=True):
        assert [r.timestamp for p, r in out if p == name] == stamps
