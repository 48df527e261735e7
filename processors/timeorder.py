"""Timestamp order across partitions (pure): which fetched records the route stage hands on.

Flows in: records fetched from the resources topic, per partition in offset order, and
each partition's *frontier* (below); flows out: the records that may be handed on now,
merged by record timestamp, each partition's still in offset order.

Why: Kafka orders a partition, not a topic. A sync is published over every partition of
the resources topic (keyed by object) in the order the producer saw it — referenced
objects first — but a consumer is handed a fetch of one partition after the other, so
the derive stage met pods long before the ReplicaSets, ConfigMaps and claims published
before them: placeholders, replaced later, and a false DOWN and UP alert for each
(docs/processors.md). Kafka Streams answers the same problem by partition
synchronization (KIP-353, ``max.task.idle.ms`` = 0): a task hands on the record with the
lowest timestamp among its partitions' heads, and waits while a partition has data on the
broker that is not fetched yet — but never for data not yet produced. This module is that
rule for a batch consumer.

A partition's frontier is the time up to which its records are known:

- ``CAUGHT_UP`` (+inf): the consumer has reached the partition's last known high
  watermark — whatever it gets next is published later than anything held now, so it
  holds nothing back (the steady state: no latency is added);
- the timestamp of its last held record, when more is on the broker;
- ``UNKNOWN`` (-inf): more is on the broker and nothing of it is held (or the partition
  has not been fetched yet) — nothing may pass until its fetch arrives.

The held records with timestamps at or below the lowest frontier are released, merged by
timestamp (ties: lower partition first), each partition's records in offset order (a
record never passes one of its own partition's before it: per-object order, which the
derive stage relies on, is kept whatever the timestamps). The route loop forces a
release when records were held too long or too many (a partition whose fetch never
comes must not stop the others): then the order is as good as what was fetched.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Generic, Protocol, TypeVar

#: Frontier of a partition with nothing left on the broker: holds nothing back.
CAUGHT_UP = math.inf
#: Frontier of a partition with records on the broker and none of them held.
UNKNOWN = -math.inf


class Timestamped(Protocol):
    @property
    def timestamp(self) -> int: ...


#: A partition: ``(topic, partition)`` (aiokafka's ``TopicPartition`` is one).
P = TypeVar("P", bound=tuple[str, int])
R = TypeVar("R", bound=Timestamped)


def frontier(held: list[R], *, caught_up: bool) -> float:
    """A partition's frontier from what is held of it and whether the broker has more."""
    if caught_up:
        return CAUGHT_UP
    return held[-1].timestamp if held else UNKNOWN


class Held(Generic[P, R]):
    """Fetched records not handed on yet, per partition in offset order."""

    def __init__(self) -> None:
        self._held: dict[P, list[R]] = {}
        self.count = 0

    def add(self, partition: P, records: Iterable[R]) -> None:
        records = list(records)
        if records:
            self._held.setdefault(partition, []).extend(records)
            self.count += len(records)

    def of(self, partition: P) -> list[R]:
        """What is held of ``partition`` (do not modify)."""
        return self._held.get(partition, [])

    def clear(self) -> None:
        self._held.clear()
        self.count = 0

    def ready(self, frontiers: Mapping[P, float]) -> int:
        """How many records ``release(frontiers)`` would hand on (without a limit)."""
        bound = _bound(frontiers)
        return sum(_prefix(records, bound) for records in self._held.values())

    def release(
        self, frontiers: Mapping[P, float], *, limit: int, force: bool = False
    ) -> list[tuple[P, R]]:
        """Take up to ``limit`` records, lowest timestamps first (ties: lower partition
        first), each with its partition: those at or below the lowest of ``frontiers``
        (one per partition assigned), or, with ``force``, whatever is held."""
        bound = CAUGHT_UP if force else _bound(frontiers)
        heads: list[Iterable[tuple[int, int, P, R]]] = []
        for rank, (partition, records) in enumerate(sorted(self._held.items(), key=_partition)):
            n = len(records) if force else _prefix(records, bound)
            heads.append(_keyed(records[:n], rank, partition))
        merged = itertools.islice(heapq.merge(*heads), max(limit, 0))
        out = [(p, r) for _, _, p, r in merged]
        for p, n in Counter(p for p, _ in out).items():
            rest = self._held[p][n:]
            if rest:
                self._held[p] = rest
            else:
                del self._held[p]
        self.count -= len(out)
        return out


def _bound(frontiers: Mapping[P, float]) -> float:
    return min(frontiers.values(), default=CAUGHT_UP)


def _prefix(records: list[R], bound: float) -> int:
    """How many leading records have timestamps at or below ``bound``."""
    if bound == CAUGHT_UP:
        return len(records)
    for i, r in enumerate(records):
        if r.timestamp > bound:
            return i
    return len(records)


def _keyed(records: list[R], rank: int, partition: P) -> Iterable[tuple[int, int, P, R]]:
    return ((r.timestamp, rank, partition, r) for r in records)


def _partition(item: tuple[P, list[R]]) -> P:
    return item[0]
