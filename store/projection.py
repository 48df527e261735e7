"""Apply one graph changeset to the Redis projection, atomically and idempotently.

Flows in: a ``graph.ChangeSet`` and its ``encoding.Position`` in the graph topic.
Flows out: Redis writes made by one ``scripts.APPLY`` call (current state, indexes,
adjacency, history, change feed, high-water mark; its arguments from
``store.scriptargs``) and an ``Applied`` summary.
The Kafka loop (``store.projector``) and ``store.rebuild`` call this; tests call it
directly without Kafka.

Semantics (mirrored by ``store.history`` in memory):
- a record at or below its partition's high-water mark is a redelivery: nothing changes;
- an upsert equal to the element's current state, or a delete of an absent element,
  is not a change; a changeset without changes creates no revision;
- otherwise the global revision grows by one and one feed entry ``<rev>-0`` is added;
- a version starts at the changeset time (ms), or at its element's latest start when the
  clock went backwards, so each element's history is ordered;
- deleting a node deletes its alive edges in the same call.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis

from store import encoding, scripts
from store.keys import Keys
from store.scriptargs import record_args, script_args
from topolog.core import graph

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Applied:
    """What one changeset did: ``revision`` 0 = no change, -1 = redelivered record."""

    revision: int
    changes: int

    @property
    def redelivered(self) -> bool:
        return self.revision == -1


class LayoutMismatch(RuntimeError):
    """The projection in Redis was written with another key layout."""


async def check_layout(client: aioredis.Redis, keys: Keys) -> None:
    """Raise ``LayoutMismatch`` when Redis holds a projection (a revision) of another
    layout than ``scripts.LAYOUT`` (or of one from before the marker): writing into it
    would mix key types. An empty projection is fine (``APPLY`` marks it)."""
    async with client.pipeline(transaction=True) as pipe:
        pipe.get(keys.layout)
        pipe.exists(keys.rev)
        layout, revisions = await pipe.execute()
    found = layout.decode() if isinstance(layout, bytes) else layout
    if revisions and found != scripts.LAYOUT:
        raise LayoutMismatch(
            f"the projection under {keys.prefix!r} has layout {found or '1'}, this version"
            f" writes layout {scripts.LAYOUT}: run `topolog rebuild`"
        )


class Projection:
    """The writer: registers the Lua script once and applies changesets with it."""

    def __init__(self, client: aioredis.Redis, keys: Keys) -> None:
        self._client = client
        self._keys = keys
        self._apply = client.register_script(scripts.APPLY)

    @property
    def keys(self) -> Keys:
        return self._keys

    async def apply(
        self, changeset: graph.ChangeSet, position: encoding.Position | None = None
    ) -> Applied:
        """Apply one changeset in one atomic script call."""
        result = await self._apply(args=script_args(self._keys, changeset, position))
        return Applied(revision=int(result[0]), changes=int(result[1]))

    async def apply_many(
        self, batch: Sequence[tuple[graph.ChangeSet, encoding.Position | None]]
    ) -> list[Applied]:
        """Apply changesets in order in one pipelined round trip (each still atomic)."""
        if not batch:
            return []
        async with self._client.pipeline(transaction=False) as pipe:
            for changeset, position in batch:
                await self._apply(args=script_args(self._keys, changeset, position), client=pipe)
            results = await pipe.execute()
        return [Applied(revision=int(r[0]), changes=int(r[1])) for r in results]

    async def apply_records(
        self, batch: Sequence[tuple[bytes, encoding.Position]]
    ) -> list[Applied | None]:
        """Apply graph records (changeset JSON) in order in one pipelined round trip, each
        atomically; None for a record that is not a readable changeset (logged, skipped)."""
        args: list[list[Any] | None] = []
        for raw, position in batch:
            try:
                args.append(record_args(self._keys, raw, position))
            except (ValueError, KeyError, TypeError) as exc:
                log.warning("skipping unreadable graph record %s: %s", position, exc)
                args.append(None)
        if not any(a is not None for a in args):
            return [None] * len(args)
        async with self._client.pipeline(transaction=False) as pipe:
            for a in args:
                if a is not None:
                    await self._apply(args=a, client=pipe)
            replies = iter(await pipe.execute())
        out: list[Applied | None] = []
        for a in args:
            reply = next(replies) if a is not None else None
            out.append(None if reply is None else Applied(int(reply[0]), int(reply[1])))
        return out
