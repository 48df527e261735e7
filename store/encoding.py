"""Pure encodings shared by the Lua writer, the in-memory history and the readers.

Flows in: ``graph.Node``/``graph.Edge``/``graph.Source`` values.
Flows out: canonical JSON bodies (sorted keys, so "same state" is "same bytes" and the
store can diff by string comparison), index terms, and Skydive-shaped element dicts
rebuilt from a stored version.
"""

from __future__ import annotations

import sys
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
    """A node as stored: the canonical JSON (sorted keys) of its ``Metadata``; the field
    name has the ``ID``. Equal state ⇔ equal bytes."""
    return metadata_body(node.metadata)


def metadata_body(metadata: graph.Metadata) -> bytes:
    return orjson.dumps(metadata, option=orjson.OPT_SORT_KEYS)


def edge_body(edge: graph.Edge) -> bytes:
    """An edge as stored: ``\\t<Parent>\\t<Child>\\t<canonical JSON of Metadata>``. The
    leading tab tells it from a node's body (JSON starts with ``{``); the Lua writer
    finds the ends without decoding JSON. Ids have no tab (orjson escapes any in JSON)."""
    return ends_body(edge.parent, edge.child, edge.metadata)


def ends_body(parent: str, child: str, metadata: graph.Metadata) -> bytes:
    return b"\t%s\t%s\t%s" % (parent.encode(), child.encode(), metadata_body(metadata))


#: Parsed edge ``Metadata`` by its stored bytes. A graph's edges have a handful of
#: distinct ones (a relation type; a network policy edge's type, point and ports: 16 in
#: a simulated cluster of any size), so the elements parsed share one dict each — about
#: 0.3 to 0.6 KB less per edge in a gateway that holds the whole graph. Elements are never
#: modified in place (a changed element is a new dict), shared ``Metadata`` included.
_EDGE_METADATA: dict[bytes, dict[str, Any]] = {}
#: Distinct edge metadata kept (any beyond are parsed per edge).
_EDGE_METADATA_MAX = 4096


def parse_body(element_id: str, body: bytes) -> dict[str, Any]:
    """A stored body → the element as the processors sent it (``{"ID", "Metadata"}``,
    an edge also ``"Child"`` and ``"Parent"``; keys in that order). An edge's
    ``Metadata`` is shared with the edges stored with the same (never modify it), and
    its ends are interned (one string per node id, however many edges name it)."""
    if body[:1] == b"\t":
        _, parent, child, metadata = body.split(b"\t", 3)
        shared = _EDGE_METADATA.get(metadata)
        if shared is None:
            shared = orjson.loads(metadata)
            if len(_EDGE_METADATA) < _EDGE_METADATA_MAX:
                _EDGE_METADATA[metadata] = shared
        return {
            "ID": element_id,
            "Child": sys.intern(child.decode()),
            "Metadata": shared,
            "Parent": sys.intern(parent.decode()),
        }
    return {"ID": element_id, "Metadata": orjson.loads(body)}


def source_text(source: graph.Source | None) -> str:
    """``<topic>:<partition>:<offset>`` ('' for none); topic names have no ``:``."""
    if source is None:
        return ""
    return f"{source.topic}:{source.partition}:{source.offset}"


def parse_source(text: str) -> graph.Source | None:
    if not text:
        return None
    topic, partition, offset = text.rsplit(":", 2)
    return graph.Source(topic=topic, partition=int(partition), offset=int(offset))


def terms_text(terms: list[str]) -> str:
    """Index terms as the Lua writer takes them (tab-separated; no value has a tab)."""
    return "\t".join(terms)


def is_indexed(key: str) -> bool:
    return view.is_indexed(key)


def term(key: str, value: str) -> str:
    """The index term of ``key == value`` (label keys cannot contain ``=``)."""
    return f"{key}={value}"


def node_terms(metadata: graph.Metadata) -> list[str]:
    """Index terms of a node with this metadata, sorted.

    A term per string value (or string item of a list value) that the evaluator's
    ``matching.field_values`` finds for an indexed key, so the index agrees with
    ``Has(key, value)`` evaluated on the node. Metadata without dotted keys (the normal
    case) takes a direct path (the projector's hot path: one per node upsert); the rest
    goes through ``field_values`` itself.
    """
    k8s = metadata.get("K8s")
    labels = k8s.get("Labels") if isinstance(k8s, dict) else None
    if "." in "".join(metadata) or (
        k8s is not None and (not isinstance(k8s, dict) or "." in "".join(k8s))
    ):
        label_keys = (
            [LABELS_PREFIX + str(label) for label in labels] if isinstance(labels, dict) else []
        )
        return sorted(set(_terms({"Metadata": metadata}, [*INDEXED_KEYS, *label_keys])))
    found: set[str] = set()
    for key, path in _INDEXED_PATHS:
        value: Any = metadata
        for part in path:
            value = value.get(part) if isinstance(value, dict) else None
        _add_strings(found, key, value)
    if isinstance(labels, dict):
        for label, value in labels.items():
            _add_strings(found, LABELS_PREFIX + str(label), value)
    return sorted(found)


_INDEXED_PATHS = tuple((key, tuple(key.split("."))) for key in INDEXED_KEYS)


def _add_strings(found: set[str], key: str, value: Any) -> None:
    if isinstance(value, str):
        found.add(f"{key}={value}")
    elif isinstance(value, list):
        found.update(f"{key}={item}" for item in value if isinstance(item, str))


def _strings(key: str, value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield term(key, value)
    elif isinstance(value, list):
        yield from (term(key, item) for item in value if isinstance(item, str))


def _terms(element: dict[str, Any], keys: list[str]) -> Iterator[str]:
    for key in keys:
        for value in matching.field_values(element, key):
            yield from _strings(key, value)


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
    """A past version's record as the versions hash stores it (the Lua writer builds the
    same): ``<CreatedAt>\n<source>\n<body>``; orjson never writes a raw newline."""
    return b"%d\n%s\n%s" % (created_at, source_text(source).encode(), body)


def current_record(
    revision: int, start: int, created_at: int, source: graph.Source | None, terms: str, body: bytes
) -> bytes:
    """A current version's record as the alive hash stores it (the Lua writer builds the
    same): ``<Revision>\n<start>\n<CreatedAt or '' when = start>\n<source>\n<terms>\n<body>``."""
    created = b"" if created_at == start else b"%d" % created_at
    src = source_text(source).encode()
    return b"%d\n%d\n%s\n%s\n%s\n%s" % (revision, start, created, src, terms.encode(), body)


def record_parts(raw: bytes) -> tuple[bytes, bytes, bytes]:
    """CreatedAt, source text and body of a record of either form (``record``,
    ``current_record``): the body has no newline, so the number of fields tells them
    apart."""
    parts = raw.split(b"\n", 5)
    if len(parts) == 6:
        _revision, start, created, source, _terms, body = parts
        return created or start, source, body
    created, source, body = parts
    return created, source, body


def parse_record(element_id: str, revision: int, updated_at: int, raw: bytes) -> Version:
    """A record of either form as a ``Version`` (``record_parts``)."""
    created, source, body = record_parts(raw)
    return Version(
        revision=revision,
        created_at=int(created),
        updated_at=updated_at,
        body=parse_body(element_id, body),
        source=parse_source(source.decode()),
    )


def to_ms(seconds: float) -> int:
    """Changeset time (epoch s, float) → epoch ms, the unit of every stored time."""
    return round(seconds * 1000)
