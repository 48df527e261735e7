"""Cluster batches: the records of the app's cluster topic (``route`` → ``derive``).

Flows in: validated resource records of one cluster, each with its ``graph.Source``.
Flows out: one Kafka value carrying many envelopes (``encode``), and back (``decode``).

Why batches: faust's cost is per record, not per byte, so the derive stage reads a few
large records instead of one per object. The key is the cluster, so a cluster's
envelopes stay in one partition in the order ``route`` read them from each source
partition — which keeps per-object order, all the deriver needs. Envelopes are embedded
as the exact bytes the producer wrote (``orjson.Fragment``): no re-encoding.

Wire form (orjson)::

    {"v": 1, "cluster": "prod", "entries": [
        {"t": "topolog.resources", "p": 3, "o": 1042, "e": {<envelope>}}, ...]}
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from topolog.core import envelope, graph

SCHEMA_VERSION = 1


class BatchError(ValueError):
    """A cluster-topic record that is not a batch this code wrote."""


@dataclass(frozen=True, slots=True)
class Entry:
    source: graph.Source
    envelope: envelope.Envelope


@dataclass(frozen=True, slots=True)
class Batch:
    cluster: str
    entries: list[Entry]


def encode(cluster: str, items: Sequence[tuple[graph.Source, bytes]]) -> bytes:
    """One record value for ``items`` (source, the envelope's raw JSON bytes)."""
    return orjson.dumps(
        {
            "v": SCHEMA_VERSION,
            "cluster": cluster,
            "entries": [
                {"t": s.topic, "p": s.partition, "o": s.offset, "e": orjson.Fragment(raw)}
                for s, raw in items
            ],
        }
    )


def pack(
    cluster: str, items: Sequence[tuple[graph.Source, bytes]], *, max_bytes: int
) -> Iterator[bytes]:
    """``items`` as consecutive batches of at most ~``max_bytes`` each (at least one item)."""
    start, size = 0, 0
    for i, (_, raw) in enumerate(items):
        if i > start and size + len(raw) > max_bytes:
            yield encode(cluster, items[start:i])
            start, size = i, 0
        size += len(raw) + 64
    if start < len(items):
        yield encode(cluster, items[start:])


def decode(raw: bytes) -> Batch:
    try:
        data: Any = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BatchError(f"undecodable batch: {exc}") from exc
    if not isinstance(data, dict) or data.get("v") != SCHEMA_VERSION:
        raise BatchError(f"not a version-{SCHEMA_VERSION} batch")
    try:
        entries = [
            Entry(
                source=graph.Source(topic=e["t"], partition=int(e["p"]), offset=int(e["o"])),
                envelope=envelope.Envelope.from_dict(e["e"]),
            )
            for e in data["entries"]
        ]
        return Batch(cluster=str(data["cluster"]), entries=entries)
    except (KeyError, TypeError, ValueError) as exc:
        raise BatchError(f"malformed batch: {exc}") from exc


def merged(decoded: Sequence[Batch]) -> list[Batch]:
    """Consecutive batches of one partition (in offset order) as one batch per cluster,
    each cluster's entries in their order: the derive stage orders a batch by kind
    (``processors.deriving``), and a larger batch leaves fewer references to objects
    still to come (a sync's 1-MiB batches hold ~850 envelopes; its kinds interleave over
    thousands)."""
    by_cluster: dict[str, list[Entry]] = {}
    for batch in decoded:
        by_cluster.setdefault(batch.cluster, []).extend(batch.entries)
    return [Batch(cluster, entries) for cluster, entries in by_cluster.items()]
