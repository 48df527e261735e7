"""The change feed: a Redis Stream with one entry per graph revision (id ``<rev>-0``).

Flows in: entries written by ``scripts.APPLY``: ``t`` = changeset time in ms, ``c`` =
JSON array of the effective changes as references ``[kind+|kind-, id, Revision, time]``
(the versions themselves are in the history hashes: the feed does not copy them).
Flows out: ``history.FeedEntry`` values for the gateway's SSE endpoint, each change
resolved to ``{"op", "id", "Revision", "CreatedAt", "UpdatedAt", "Source", "node"|"edge"}``
for an upsert and ``{"op", "id", "Revision", "DeletedAt"}`` for a delete.

Resuming: a client that has seen revision ``r`` reads ``read_after(r)`` / ``tail(r)`` and
gets exactly the revisions after ``r``: no gap (revisions are consecutive) and no
duplicate. When ``r + 1`` has been trimmed (older than the hot window) the feed cannot
continue it: ``FeedGap`` tells the client to resync from a snapshot.

Restarting: a dropped projection (``topolog rebuild``, a flushed Redis, the projector
replacing an older layout) is rebuilt from revision 1 under a new identity, ``P epoch``
(written with revision 1; ``""`` for a projection from before it). A reader that knows
the identity it followed (``GraphReader.current`` reads it with the graph) passes it as
``epoch``: ``FeedRestarted`` (a ``FeedGap``) when the projection has another, or when its
revision is behind the reader's — checked in the same round trip as the gap, and by
``wait_after`` once more after its blocking read, so no entry of another projection is
returned as a continuation.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import redis.asyncio as aioredis

from store import feedrecords
from store.history import FeedEntry
from store.keys import Keys, Kind


class FeedGap(LookupError):
    """The revisions right after the client's are no longer in the feed."""

    def __init__(self, after: int, first: int) -> None:
        super().__init__(f"revision {after + 1} was trimmed; the feed starts at {first}")
        self.after = after
        self.first = first


def stream_id(revision: int) -> str:
    return f"{revision}-0"


_OPS = feedrecords.OPS


def parse(entry_id: Any, fields: Any) -> FeedEntry:
    """A stream entry (id, fields) as redis-py returns it → unresolved ``FeedEntry``."""
    return feedrecords.unresolved(feedrecords.entry_refs(entry_id, fields))


#: Most versions looked up by one ``HMGET`` (a command blocks Redis: a hub far behind the
#: feed reads 10^3 entries of up to 10^3 changes at once).
_RECORDS_BATCH = 2_000


async def resolve(client: aioredis.Redis, keys: Keys, entries: list[FeedEntry]) -> list[FeedEntry]:
    """Attach each upsert's version (body, CreatedAt, Source) from the history hashes.

    Mostly the feed's latest changes, so first the current records: one ``HMGET`` of the
    alive hash per kind (and per 2,000); a version no longer current (its record does not
    start with its revision) is then in the versions hash: one more ``HMGET`` for those.
    Not atomic, and need not be: a version leaves the alive hash only for the versions
    hash, where it stays until trimmed ('' then, as for an entry leaving the window)."""
    codes = {op: code for code, op in _OPS.items()}
    return await _resolve(
        client,
        keys,
        [
            (
                entry.revision,
                entry.time,
                [[codes[c["op"]], c["id"], c["Revision"], c["At"]] for c in entry.changes],
            )
            for entry in entries
        ],
    )


async def deferred_versions(
    client: aioredis.Redis, keys: Keys, wanted: feedrecords.Wanted
) -> dict[str, list[dict[str, Any] | None]]:
    """The versions ``wanted`` names, per kind in order: each element with its
    ``CreatedAt`` (``feedrecords.versions``; None for a version gone)."""
    records = await _records(client, keys, wanted)
    return {kind: feedrecords.versions(wanted[kind][0], records[kind]) for kind in wanted}


async def _resolve(
    client: aioredis.Redis, keys: Keys, entries: list[feedrecords.Refs]
) -> list[FeedEntry]:
    """``resolve`` of entries as ``feedrecords.entry_refs`` reads them: their versions' records
    fetched, then the entries built from them (``feedrecords.resolved``)."""
    wanted = feedrecords.wanted(entries)
    return feedrecords.resolved(entries, await _records(client, keys, wanted))


async def _records(
    client: aioredis.Redis, keys: Keys, wanted: feedrecords.Wanted
) -> dict[str, list[bytes | None]]:
    """Per kind, the records of these versions (current or past; None if gone), in order:
    one pipeline for the current ones, one more for those no longer current."""
    kinds = list(wanted)
    current = await _hmget(client, [(keys.alive(Kind(k)), wanted[k][0]) for k in kinds])
    records = dict(zip(kinds, current, strict=True))
    past = {
        kind: [
            i
            for i, (record, revision) in enumerate(zip(records[kind], wanted[kind][1], strict=True))
            if record is None or not record.startswith(b"%d\n" % revision)
        ]
        for kind in kinds
    }
    if any(past.values()):
        lookups = [
            (keys.versions(Kind(k)), [f"{wanted[k][0][i]}/{wanted[k][1][i]}" for i in past[k]])
            for k in kinds
        ]
        for kind, found in zip(kinds, await _hmget(client, lookups), strict=True):
            for i, record in zip(past[kind], found, strict=True):
                records[kind][i] = record
    return records


async def _hmget(
    client: aioredis.Redis, lookups: list[tuple[str, list[str]]]
) -> list[list[bytes | None]]:
    """Per (hash, fields), the values, in one pipeline of ``HMGET``s of ≤ 2,000 fields."""
    commands = [
        (key, fields[start : start + _RECORDS_BATCH])
        for key, fields in lookups
        for start in range(0, len(fields), _RECORDS_BATCH)
    ]
    replies = await _send_hmgets(client, commands) if commands else []
    out: list[list[bytes | None]] = []
    at = 0
    for _key, fields in lookups:
        values: list[bytes | None] = []
        for _start in range(0, len(fields), _RECORDS_BATCH):
            values += replies[at]
            at += 1
        out.append(values)
    return out


async def _send_hmgets(
    client: aioredis.Redis, commands: list[tuple[str, list[str]]]
) -> list[list[bytes | None]]:
    """The replies of these ``HMGET``s, sent as one write on one pooled connection.

    The commands are packed here (``feedrecords.pack_hmget``) rather than by a redis-py pipeline,
    whose generic packing costs ~1.2 µs per field (~0.3 µs here): the ids of every
    change the gateway follows go through this. A client bound to one connection
    (``single_connection_client``) uses the pipeline."""
    if client.connection is not None:
        async with client.pipeline(transaction=False) as pipe:
            for key, fields in commands:
                pipe.hmget(key, fields)
            replies: list[list[bytes | None]] = await pipe.execute()
        return replies
    packed = b"".join(feedrecords.pack_hmget(key, fields) for key, fields in commands)
    pool = client.connection_pool
    conn = await pool.get_connection()  # type: ignore[no-untyped-call]
    try:
        await conn.send_packed_command(packed)
        return [await conn.read_response() for _ in commands]
    except BaseException:
        await conn.disconnect()  # replies may be left unread: the socket is out of step
        raise
    finally:
        await pool.release(conn)


async def first_revision(client: aioredis.Redis, keys: Keys) -> int | None:
    """The oldest revision still in the feed (None when the feed is empty)."""
    head: Any = await client.xrange(keys.feed, count=1)
    return parse(*head[0]).revision if head else None


class FeedRestarted(FeedGap):
    """The projection is not the one the reader followed: it was dropped and rebuilt since
    (its ``P epoch`` is another, or its revision is behind the reader's). Its revisions
    started again from 1, so the reader's revision does not locate it in this one."""

    def __init__(self, after: int, epoch: str, reason: str) -> None:
        LookupError.__init__(self, f"the projection was rebuilt since revision {after}: {reason}")
        self.after = after
        self.first = 1
        #: The projection's identity now (what a reader that starts again follows).
        self.epoch = epoch


async def epoch(client: aioredis.Redis, keys: Keys) -> str:
    """The projection's identity (``""``: none yet, or a projection from before it)."""
    return _text(await client.get(keys.epoch) or b"")


def _check(after: int, epoch: str | None, head: Any, rev: Any, found: Any) -> None:
    """Raise if a reader at ``after`` (following projection ``epoch``; None: not checked)
    cannot continue with what follows ``after`` in the feed: ``head`` = its first entry
    (XRANGE … COUNT 1), ``rev`` and ``found`` = the projection's revision and identity."""
    last = int(rev or 0)
    now = _text(found or b"")
    if epoch is not None and now != epoch:
        raise FeedRestarted(after, now, f"its identity is {now!r}, not {epoch!r}")
    if last < after:
        raise FeedRestarted(after, now, f"its revision {last} is behind")
    # The first entry's id only: its changes (a sync's can be thousands) are not needed.
    # ``head``: XRANGE's reply (entries) or ``_CHECK``'s (ids).
    first_id = (head[0] if isinstance(head[0], bytes | str) else head[0][0]) if head else None
    first = int(_text(first_id).split("-", 1)[0]) if first_id is not None else None
    if first is not None and first > after + 1:
        raise FeedGap(after, first)
    if first is None and last > after:
        raise FeedGap(after, last + 1)


def _checked(pipe: Any, keys: Keys) -> None:
    """Queue what ``_check`` needs on a pipeline."""
    pipe.xrange(keys.feed, count=1)
    pipe.get(keys.rev)
    pipe.get(keys.epoch)


#: What ``_check`` needs in one command: the first entry's id (not its changes: a sync's
#: can be thousands), the revision and the identity. Cheaper for the client than the
#: same reads in a ``MULTI`` (redis-py's pipelines cost ~50 µs more per call).
_CHECK = """#!lua flags=no-writes
local head = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)
local first = {}
if head[1] then first = {head[1][1]} end
return {first, redis.call('GET', KEYS[2]) or '0', redis.call('GET', KEYS[3]) or ''}
"""


async def read_after(
    client: aioredis.Redis,
    keys: Keys,
    after: int,
    *,
    count: int | None = 1000,
    resolved: bool = True,
    epoch: str | None = None,
) -> list[FeedEntry]:
    """Entries with revision > ``after`` (at most ``count``; None = all); unresolved
    entries carry only ``op``, ``id``, ``Revision`` and ``At`` per change. ``FeedGap``
    when ``after + 1`` was trimmed, ``FeedRestarted`` when the projection was rebuilt
    (``epoch``: the identity the reader followed; None = only the revision tells)."""
    async with client.pipeline(transaction=True) as pipe:  # one atomic round trip
        _checked(pipe, keys)
        pipe.xrange(keys.feed, min=f"({stream_id(after)}", count=count)
        head, rev, found, raw = await pipe.execute()
    _check(after, epoch, head, rev, found)
    if not resolved:
        return [parse(entry_id, fields) for entry_id, fields in raw]
    return await _resolve(
        client, keys, [feedrecords.entry_refs(entry_id, fields) for entry_id, fields in raw]
    )


async def scan_after(
    client: aioredis.Redis, keys: Keys, after: int, *, count: int = 200
) -> list[FeedEntry]:
    """Unresolved entries with revision > ``after`` still in the feed (at most ``count``),
    without the gap check: for readers that know the trimmed ones do not matter."""
    raw: Any = await client.xrange(keys.feed, min=f"({stream_id(after)}", count=count)
    return [parse(entry_id, fields) for entry_id, fields in raw]


#: ``(revision, time)`` of the entries after a revision, without their changes.
_TIMES = """#!lua flags=no-writes
local out = {}
local entries = redis.call('XRANGE', KEYS[1], '(' .. ARGV[1] .. '-0', '+', 'COUNT', ARGV[2])
for _, entry in ipairs(entries) do
  local fields = entry[2]
  for i = 1, #fields, 2 do
    if fields[i] == 't' then
      out[#out + 1] = entry[1]
      out[#out + 1] = fields[i + 1]
      break
    end
  end
end
return out
"""


async def times_after(
    client: aioredis.Redis, keys: Keys, after: int, *, count: int = 10_000
) -> list[tuple[int, int]]:
    """``(revision, changeset time ms)`` of the entries with revision > ``after`` still in
    the feed (at most ``count``), without reading their changes."""
    raw: Any = await client.register_script(_TIMES)(keys=[keys.feed], args=[after, count])
    return [(int(_text(raw[i]).split("-", 1)[0]), int(raw[i + 1])) for i in range(0, len(raw), 2)]


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


async def wait_after(
    client: aioredis.Redis,
    keys: Keys,
    after: int,
    *,
    block_ms: int,
    count: int = 1000,
    epoch: str | None = None,
    resolved: bool = True,
) -> list[FeedEntry]:
    """Entries with revision > ``after`` (at most ``count``), at once when there are some,
    else waiting up to ``block_ms`` for the next (``[]`` on time-out); one ``XREAD``.
    Errors as ``read_after``; with ``epoch``, the identity is read again right after the
    ``XREAD`` (same round trip): entries of a projection rebuilt while it waited are not
    returned (``FeedRestarted``). Unresolved (``resolved=False``): changes as ``parse``
    gives them, without reading their versions (``resolve`` reads them later)."""
    checked: Any = await client.register_script(_CHECK)(keys=[keys.feed, keys.rev, keys.epoch])
    head, rev, found = checked
    _check(after, epoch, head, rev, found)
    streams: Any = {keys.feed: stream_id(after)}
    if epoch is None:
        reply: Any = await client.xread(streams, count=count, block=block_ms)
    else:
        async with client.pipeline(transaction=False) as pipe:  # XREAD blocks outside MULTI
            pipe.xread(streams, count=count, block=block_ms)
            pipe.get(keys.epoch)
            reply, found = await pipe.execute()
        if (now := _text(found or b"")) != epoch:
            raise FeedRestarted(after, now, f"its identity became {now!r} while reading")
    refs = [
        feedrecords.entry_refs(entry_id, fields)
        for _stream, items in reply or []
        for entry_id, fields in items
    ]
    if not resolved:
        return [feedrecords.unresolved(entry) for entry in refs]
    return await _resolve(client, keys, refs)


async def tail(
    client: aioredis.Redis,
    keys: Keys,
    after: int,
    *,
    block_ms: int = 5000,
    count: int = 1000,
    epoch: str | None = None,
) -> AsyncIterator[FeedEntry]:
    """Every entry after ``after``, then new ones as they come (forever)."""
    while True:
        for entry in await wait_after(
            client, keys, after, block_ms=block_ms, count=count, epoch=epoch
        ):
            after = entry.revision
            yield entry
