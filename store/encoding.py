"""Pure encodings shared by the Lua writer, the in-memory history and the readers.

Flows in: ``graph.Node``/``graph.Edge``/``graph.Source`` values.
Flows out: canonical JSON bodies (sorted keys, so "same state" is "same bytes" and the
store can diff by string comparison), index terms, and Skydive-shaped element dicts
rebuilt from a stored version.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson

from topolog.core import graph
from topolog.core.query import matching, view

#: Metadata keys with an index (the query evaluator's ``view.INDEXED_KEYS``); labels are
#: indexed per key as ``K8s.Labels.<key>``.
INDEXED_KEYS: tuple[str, ...] = tuple(sorted(view.INDEXED_KEYS))
LABELS_PREFIX = "K8s.Labels."


@dataclass(frozen=True, slots=True)
class Position:
    """Where a changeset sits in the graph topic: the idempotency key of the projection.

    Each graph record is applied at most once: a record at or below the partition's
    high-water mark is a redelivery and changes nothing.
    """

    topic: str
    partition: int
    offset: int

    @property
    def stream(self) -> str:
        """The high-water-mark field: ``<topic>:<partition>``."""
        return f"{self.topic}:{self.partition}"


def node_body(node: graph.Node) -> bytes:
    return orjson.dumps(node.to_dict(), option=orjson.OPT_SORT_KEYS)


def edge_body(edge: graph.Edge) -> bytes:
    return orjson.dumps(edge.to_dict(), option=orjson.OPT_SORT_KEYS)


def source_json(source: graph.Source | None) -> bytes:
    return orjson.dumps(source.to_dict() if source is not None else None)


def is_indexed(key: str) -> bool:
    return view.is_indexed(key)


def term(key: str, value: str) -> str:
    """The index term of ``key == value`` (label keys cannot contain ``=``)."""
    return f"{key}={value}"


def node_terms(metadata: graph.Metadata) -> list[str]:
    """Index terms of a node with this metadata, sorted.

    A term per string value (or string item of a list value) that the evaluator's
    ``matching.field_values`` finds for an indexed key, so the index agrees with
    ``Has(key, value)`` evaluated on the node.
    """
    element = {"Metadata": metadata}
    keys = list(INDEXED_KEYS)
    k8s = metadata.get("K8s")
    labels = k8s.get("Labels") if isinstance(k8s, dict) else None
    if isinstance(labels, dict):
        keys.extend(LABELS_PREFIX + str(label) for label in labels)
    return sorted(set(_terms(element, keys)))


def _terms(element: dict[str, Any], keys: list[str]) -> Iterator[str]:
    for key in keys:
        for value in matching.field_values(element, key):
            for item in value if isinstance(value, list) else [value]:
                if isinstance(item, str):
                    yield term(key, item)


@dataclass(frozen=True, slots=True)
class Version:
    """One stored version of an element, as read back from Redis or kept in memory.

    ``body`` is the element as the processors sent it (``{"ID", "Metadata", ...}``).
    """

    revision: int
    created_at: int
    updated_at: int
    body: dict[str, Any]
    source: graph.Source | None = None
    deleted_at: int | None = None

    def element(self) -> dict[str, Any]:
        """The Skydive shape: the body plus CreatedAt, UpdatedAt, Revision (DeletedAt)."""
        out = dict(self.body)
        out["CreatedAt"] = self.created_at
        out["UpdatedAt"] = self.updated_at
        out["Revision"] = self.revision
        if self.deleted_at is not None:
            out["DeletedAt"] = self.deleted_at
        return out


def record(created_at: int, source: graph.Source | None, body: bytes) -> bytes:
    """A version record as the versions hash stores it: ``<CreatedAt>\n<source>\n<body>``.

    orjson never writes a raw newline, so the body is everything after the second one
    (the Lua writer compares it with a new body to detect "no change").
    """
    return b"%d\n%s\n%s" % (created_at, source_json(source), body)


def parse_record(revision: int, updated_at: int, raw: bytes) -> Version:
    created, src, body = raw.split(b"\n", 2)
    source = orjson.loads(src)
    return Version(
        revision=revision,
        created_at=int(created),
        updated_at=updated_at,
        body=orjson.loads(body),
        source=graph.Source(**source) if source else None,
    )


def to_ms(seconds: float) -> int:
    """Changeset time (epoch s, float) → epoch ms, the unit of every stored time."""
    return round(seconds * 1000)
