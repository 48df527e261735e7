"""The change feed's entries as the gateway reads them, from the replies of Redis (pure).

Flows in: stream entries as redis-py returns them (``entry_refs``) and the records of their
upserts' versions (``wanted`` says which; ``store.feed`` fetches them with
``pack_hmget``ed commands). Flows out: ``history.FeedEntry`` values with every change
resolved (``resolved``; the shapes in ``store.feed``). The hot path of a gateway
following the feed: a compiled module (``topolog.compiled``).
"""

from __future__ import annotations

from typing import Any

import orjson

from store import encoding
from store.history import FeedEntry

#: A change's code in the feed → its op.
OPS = {"n+": "node.upsert", "e+": "edge.upsert", "n-": "node.delete", "e-": "edge.delete"}

#: A change's code in the feed → (its kind, the resolved change's key for the element)
#: for an upsert, None for a delete.
UPSERT_CODES: dict[str, tuple[str, str] | None] = {
    "n+": ("n", "node"),
    "e+": ("e", "edge"),
    "n-": None,
    "e-": None,
}

#: An entry as read: (revision, time ms, references ``[code, id, Revision, time]``).
Refs = tuple[int, int, list[list[Any]]]

#: Per kind (``n``, ``e``): the ids and revisions of versions to read, in order.
Wanted = dict[str, tuple[list[str], list[int]]]


def entry_refs(entry_id: Any, fields: Any) -> Refs:
    """A stream entry (id, fields) as redis-py returns it → its revision, time and change
    references, without a dict per change (``parse`` makes those)."""
    raw_id = entry_id if isinstance(entry_id, bytes) else entry_id.encode()
    times = fields.get(b"t")
    refs = fields.get(b"c")
    if times is None or refs is None:  # a client that decodes responses
        times, refs = fields["t"], fields["c"]
    return int(raw_id.split(b"-", 1)[0]), int(times), orjson.loads(refs)


def unresolved(entry: Refs) -> FeedEntry:
    """An entry with each change only its ``op``, ``id``, ``Revision`` and time ``At``
    (``store.feed.parse``'s shape; ``resolved`` reads the versions)."""
    revision, time, refs = entry
    changes: list[dict[str, Any]] = [
        {"op": OPS[code], "id": element_id, "Revision": version, "At": at}
        for code, element_id, version, at in refs
    ]
    return FeedEntry(revision=revision, time=time, changes=changes)


def wanted(entries: list[Refs]) -> Wanted:
    """Per kind (``n``, ``e``), the ids and revisions of the versions the upserts of
    ``entries`` need, in order."""
    out: Wanted = {"n": ([], []), "e": ([], [])}
    for _revision, _time, refs in entries:
        for code, element_id, revision, _at in refs:
            upsert = UPSERT_CODES[code]
            if upsert is not None:
                ids, revisions = out[upsert[0]]
                ids.append(element_id)
                revisions.append(revision)
    return out


def resolved(entries: list[Refs], records: dict[str, list[bytes | None]]) -> list[FeedEntry]:
    """``entries`` with each change resolved from ``records`` (per kind, the records of
    ``wanted(entries)`` in order; None for a version gone)."""
    found = {kind: iter(kind_records) for kind, kind_records in records.items()}
    sources = _Sources()
    parse_body = encoding.parse_body
    out = []
    for entry_revision, entry_time, refs in entries:
        changes: list[dict[str, Any]] = []
        for code, element_id, revision, at in refs:
            upsert = UPSERT_CODES[code]
            if upsert is None:
                changes.append(
                    {"op": OPS[code], "id": element_id, "Revision": revision, "DeletedAt": at}
                )
                continue
            raw = next(found[upsert[0]])
            if not raw:  # trimmed meanwhile: only possible for entries leaving the window
                changes.append(
                    {
                        "op": OPS[code],
                        "id": element_id,
                        "Revision": revision,
                        "UpdatedAt": at,
                        upsert[1]: None,
                    }
                )
                continue
            created, source, body = encoding.record_parts(raw)
            changes.append(
                {
                    "op": OPS[code],
                    "id": element_id,
                    "Revision": revision,
                    "CreatedAt": int(created),
                    "UpdatedAt": at,
                    "Source": sources.parse(source),
                    upsert[1]: parse_body(element_id, body),
                }
            )
        out.append(FeedEntry(revision=entry_revision, time=entry_time, changes=changes))
    return out


def versions(ids: list[str], records: list[bytes | None]) -> list[dict[str, Any] | None]:
    """The elements of ``records`` (versions of ``ids``, in order) as the processors sent
    them plus their ``CreatedAt``; None for a version gone. What a gateway reads for the
    upserts it deferred: no change, source or copy per version."""
    parse_body = encoding.parse_body
    record_parts = encoding.record_parts
    out: list[dict[str, Any] | None] = []
    for element_id, raw in zip(ids, records, strict=True):
        if not raw:
            out.append(None)
            continue
        created, _source, body = record_parts(raw)
        element = parse_body(element_id, body)
        element["CreatedAt"] = int(created)
        out.append(element)
    return out


def pack_hmget(key: str, fields: list[str]) -> bytes:
    """``HMGET key field…`` in the Redis protocol (RESP: an array of bulk strings)."""
    name = key.encode()
    args = [field.encode() for field in fields]
    head = b"*%d\r\n$5\r\nHMGET\r\n$%d\r\n%s\r\n" % (len(args) + 2, len(name), name)
    return head + b"".join([b"$%d\r\n%s\r\n" % (len(arg), arg) for arg in args])


class _Sources:
    """``graph.Source.to_dict`` of ``encoding.parse_source(text)``, without the object;
    the topic and partition (shared by most versions of a batch) parsed once each."""

    __slots__ = ("_heads",)

    def __init__(self) -> None:
        self._heads: dict[bytes, tuple[str, int]] = {}

    def parse(self, text: bytes) -> dict[str, Any] | None:
        if not text:
            return None
        head, _, offset = text.rpartition(b":")
        found = self._heads.get(head)
        if found is None:
            topic, _, partition = head.decode().rpartition(":")
            found = self._heads[head] = (topic, int(partition))
        return {"topic": found[0], "partition": found[1], "offset": int(offset)}
