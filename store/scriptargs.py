"""The arguments of ``scripts.APPLY`` for a graph changeset (pure: tested without Redis).

Flows in: a ``graph.ChangeSet`` — or a graph record's JSON straight from Kafka
(``record_args``, the projector's hot path) — and its ``encoding.Position``.
Flows out: the script's ARGV: prefix, position, time (ms), the number of changes, one
MessagePack array of (op, id, record) strings and the batch cuts (``batch_cuts``).
``store.projection`` sends them; a compiled module (``topolog.compiled``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgpack
import orjson

from store import encoding
from store.keys import Keys
from topolog.core import graph


def script_args(
    keys: Keys, changeset: graph.ChangeSet, position: encoding.Position | None
) -> list[Any]:
    """The ARGV of ``scripts.APPLY`` for a changeset (pure: tested without Redis)."""
    fields: list[str | bytes] = []
    t = encoding.to_ms(changeset.time)
    for change in changeset.changes:
        fields.extend(_change_args(change, t))
    return [
        keys.prefix,
        position.stream if position is not None else "",
        position.offset if position is not None else 0,
        t,
        len(changeset.changes),
        pack_changes(fields),
        _PACKER.pack(batch_cuts(fields)),
    ]


def batch_cuts(fields: Sequence[str | bytes]) -> list[int]:
    """Where ``scripts.APPLY`` must start a new batch of upserts (change numbers, from 1):
    at an upsert of an element already upserted in the current run of upserts (a
    deletion ends a run anyway). Within a batch every element is distinct, so the script
    can read all their states first and write the new ones together."""
    cuts: list[int] = []
    seen: set[tuple[str | bytes, str | bytes]] = set()
    for i in range(0, len(fields), 3):
        op = fields[i]
        if op == "node.delete" or op == "edge.delete":
            seen.clear()
            continue
        key = (op, fields[i + 1])
        if key in seen:
            cuts.append(i // 3 + 1)
            seen = {key}
        else:
            seen.add(key)
    return cuts


#: The changes go to the script as one MessagePack array of strings, three per change
#: (op, id, the record of a new element: ``first_record``), which Redis's Lua decodes in C
#: (``cmsgpack.unpack``): much cheaper for Redis than splitting a text format in Lua.
#: ``use_bin_type=False``: bytes are packed as MessagePack strings, which Lua reads as
#: its (binary-safe) strings.
_PACKER = msgpack.Packer(use_bin_type=False)


def pack_changes(fields: list[str | bytes]) -> bytes:
    """One MessagePack array of ``fields`` (as ``scripts.APPLY`` reads them)."""
    packed: bytes = _PACKER.pack(fields)
    return packed


def unpack_changes(blob: bytes) -> list[bytes]:
    """The strings of a ``script_args`` changes blob (for tests and debugging)."""
    fields = msgpack.unpackb(blob, raw=True)
    if not isinstance(fields, list) or not all(isinstance(f, bytes) for f in fields):
        raise ValueError("not a MessagePack array of strings")
    return fields


_OPS = frozenset(op.value for op in graph.Op)


def record_args(keys: Keys, raw: bytes, position: encoding.Position | None) -> list[Any]:
    """``script_args`` straight from a graph record's JSON, without building the
    ``graph`` dataclasses (the projector's hot path): equal to
    ``script_args(keys, graph.ChangeSet.from_json(raw), position)``. Raises ValueError,
    KeyError or TypeError for a record that is not a readable changeset."""
    data = orjson.loads(raw)
    if data.get("v") != graph.SCHEMA_VERSION:
        raise ValueError(f"unknown graph schema version {data.get('v')!r}")
    changes = data["changes"]
    t = encoding.to_ms(float(data["time"]))
    fields: list[str | bytes] = []
    # batch_cuts, inline (the projector's hot path): the upserts of the current batch
    cuts: list[int] = []
    nodes: set[str] = set()
    edges: set[str] = set()
    for change in changes:
        op = change["op"]
        if op not in _OPS:
            raise ValueError(f"unknown op {op!r}")
        source = change.get("source")
        src = f"{source['topic']}:{source['partition']:d}:{source['offset']:d}" if source else ""
        if op == "node.upsert":
            node = change.get("node")
            if node is None:
                raise ValueError(f"node.upsert {change['id']} without a node")
            element_id, metadata = node["ID"], node["Metadata"]
            if element_id in nodes:
                cuts.append(len(fields) // 3 + 1)
                nodes.clear()
                edges.clear()
            nodes.add(element_id)
            terms = encoding.terms_text(encoding.node_terms(metadata))
            record = first_record(t, src, terms, encoding.metadata_body(metadata))
        elif op == "edge.upsert":
            edge = change.get("edge")
            if edge is None:
                raise ValueError(f"edge.upsert {change['id']} without an edge")
            element_id = edge["ID"]
            if element_id in edges:
                cuts.append(len(fields) // 3 + 1)
                nodes.clear()
                edges.clear()
            edges.add(element_id)
            body = encoding.ends_body(edge["Parent"], edge["Child"], edge["Metadata"])
            record = first_record(t, src, "", body)
        else:
            element_id, record = change["id"], b""
            nodes.clear()
            edges.clear()
        fields += (op, element_id, record)
    return [
        keys.prefix,
        position.stream if position is not None else "",
        position.offset if position is not None else 0,
        t,
        len(changes),
        pack_changes(fields),
        _PACKER.pack(cuts),
    ]


def first_record(t: int, source: str, terms: str, body: bytes) -> bytes:
    """What the script takes for an upsert at time ``t`` (ms): the record of a new element,
    ``encoding.current_record`` of Revision 1 starting at ``t`` (the script stores it as
    sent for a new element: no string building in Lua, which hashes every byte of every
    string it makes)."""
    return b"1\n%d\n\n%s\n%s\n%s" % (t, source.encode(), terms.encode(), body)


def _change_args(change: graph.Change, t: int) -> tuple[str, str, bytes]:
    src = encoding.source_text(change.source)
    if change.op is graph.Op.NODE_UPSERT:
        if change.node is None:
            raise ValueError(f"node.upsert {change.id} without a node")
        terms = encoding.terms_text(encoding.node_terms(change.node.metadata))
        body = encoding.node_body(change.node)
        return (change.op.value, change.node.id, first_record(t, src, terms, body))
    if change.op is graph.Op.EDGE_UPSERT:
        if change.edge is None:
            raise ValueError(f"edge.upsert {change.id} without an edge")
        body = encoding.edge_body(change.edge)
        return (change.op.value, change.edge.id, first_record(t, src, "", body))
    return (change.op.value, change.id, b"")
