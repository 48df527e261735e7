"""Routing: resource records in, per-cluster batches and dead letters out (pure).

Flows in: records consumed from the resources topic (one envelope each, any mix of
partitions, in each partition's order), as ``Record``s.
Flows out: ``Routed`` — batch values for the cluster topic (``processors.batches``,
keyed by cluster) and ``deadletter.DeadLetter``s; ``processors.app`` sends them,
``processors.deriving`` consumes the batches.

A record is dead-lettered when it is larger than ``MAX_ENVELOPE_BYTES``, is not a JSON
envelope, has an unknown schema version, or names a kind the deriver has no rules for.
A kind's SYNCED marker is dropped here: it changes nothing in the graph. A cluster's
(``envelope.cluster_synced_marker``: every kind's initial list is complete) goes on with
the cluster's envelopes: the deriver raises no alert before it (``derive.engine``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from processors import batches
from processors.deadletter import DeadLetter, Reason
from topolog.core import envelope, graph
from topolog.core.kinds import KINDS

#: Largest batch value (before compression); well under the topics' 8 MiB record limit.
MAX_BATCH_BYTES = 1024 * 1024
#: Largest envelope derived. The apiserver stores objects up to etcd's request limit
#: (1.5 MiB by default) and sanitizing only shrinks them, so a bigger record is not a
#: Kubernetes object; deriving it would make changesets over the graph topic's 8 MiB
#: record limit, and a failed send crashes the worker on the same record for ever.
MAX_ENVELOPE_BYTES = 2 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Record:
    """One consumed resource record."""

    key: bytes | None
    value: bytes | None
    source: graph.Source


@dataclass(slots=True)
class Routed:
    #: ``(cluster, batch value)``, in the order they must be sent.
    batches: list[tuple[str, bytes]] = field(default_factory=list)
    deadletters: list[DeadLetter] = field(default_factory=list)
    #: Envelopes packed into ``batches``.
    forwarded: int = 0
    #: Kinds' SYNCED markers dropped.
    skipped: int = 0


def check(record: Record) -> envelope.Envelope | DeadLetter:
    """The record's envelope, or why it cannot be derived."""

    def dead(reason: Reason, detail: str) -> DeadLetter:
        return DeadLetter(reason, detail, record.key, record.value, record.source)

    if record.value is None:
        return dead(Reason.UNDECODABLE, "empty record (tombstone)")
    if len(record.value) > MAX_ENVELOPE_BYTES:
        return dead(
            Reason.TOO_LARGE, f"{len(record.value)} bytes, over the {MAX_ENVELOPE_BYTES} limit"
        )
    try:
        data: Any = orjson.loads(record.value)
    except orjson.JSONDecodeError as exc:
        return dead(Reason.UNDECODABLE, f"undecodable JSON: {exc}")
    # The version is checked first: a future envelope may fail today's field checks.
    if isinstance(data, dict) and data.get("v") != envelope.SCHEMA_VERSION:
        return dead(Reason.SCHEMA_VERSION, f"unknown schema version {data.get('v')!r}")
    try:
        env = envelope.Envelope.from_dict(data)
    except envelope.EnvelopeError as exc:
        return dead(Reason.UNDECODABLE, str(exc))
    if envelope.is_cluster_synced(env):
        return env
    kind = KINDS.get(env.kind)
    if kind is None:
        return dead(Reason.UNKNOWN_KIND, f"no rules for kind {env.kind!r}")
    if kind.derived:
        return dead(Reason.UNKNOWN_KIND, f"kind {env.kind!r} is derived, never watched")
    return env


def route(records: Sequence[Record], *, max_bytes: int = MAX_BATCH_BYTES) -> Routed:
    """Validate ``records`` and pack the good ones into per-cluster batches."""
    out = Routed()
    per_cluster: dict[str, list[tuple[graph.Source, bytes]]] = {}
    for record in records:
        checked = check(record)
        if isinstance(checked, DeadLetter):
            out.deadletters.append(checked)
        elif checked.type is envelope.EventType.SYNCED and not envelope.is_cluster_synced(checked):
            out.skipped += 1
        else:
            assert record.value is not None  # check() dead-letters empty records
            per_cluster.setdefault(checked.cluster, []).append((record.source, record.value))
    for cluster in sorted(per_cluster):
        items = per_cluster[cluster]
        out.forwarded += len(items)
        out.batches.extend((cluster, b) for b in batches.pack(cluster, items, max_bytes=max_bytes))
    return out


def runs(records: Sequence[Record]) -> list[list[Record]]:
    """``records`` (as a stream hands them over: each partition's in offset order) cut
    into runs of consecutive offsets of one partition."""
    out: list[list[Record]] = []
    for record in records:
        last = out[-1][-1].source if out else None
        if (
            last is not None
            and last.topic == record.source.topic
            and last.partition == record.source.partition
            and last.offset + 1 == record.source.offset
        ):
            out[-1].append(record)
        else:
            out.append([record])
    return out
