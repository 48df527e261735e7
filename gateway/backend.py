"""What the gateway reads from the store: one protocol, two implementations.

Flows in: nothing (a protocol). Implemented by ``redis_backend.RedisBackend`` (the
projection in Redis) and ``memory_backend.MemoryBackend`` (``store.history.History`` in
memory, with the same semantics — tests and offline use).
Flows out: graph views for the query evaluator, whole-graph snapshots, element versions
with their provenance, and the change feed (one entry per graph revision).

Times are epoch ms here (the store's unit); the evaluator's ``TimeTravel`` takes seconds.
Errors: ``FeedGap`` when the revisions asked for were trimmed, ``OutsideHotWindow`` when
a time is older than the retained history — both mean "resync / ask for a later time";
``FeedRestarted`` (a ``FeedGap``) when the projection was rebuilt since the revision (its
identity, ``epoch``, is another or its revision is behind).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from store.encoding import Version
from store.feed import FeedGap, FeedRestarted
from store.feedrecords import Wanted
from store.history import FeedEntry
from store.keys import Kind
from store.reader import Current, OutsideHotWindow
from store.snapshot import Snapshot
from topolog.core.query import view

__all__ = [
    "Backend",
    "Current",
    "FeedEntry",
    "FeedGap",
    "FeedRestarted",
    "Kind",
    "OutsideHotWindow",
    "Snapshot",
    "Version",
]


class Backend(Protocol):
    def travel(self) -> view.TimeTravel:
        """The evaluator's source of views; call it from a worker thread only."""
        ...

    async def snapshot(self, at_ms: int | None = None) -> Snapshot:
        """The whole graph at ``at_ms`` (None = now, consistent at one revision)."""
        ...

    async def current(self) -> Current:
        """The live graph's revision, its elements by id and the projection's identity,
        read atomically: what ``snapshot()`` holds, without its indexes (cheaper, for the
        hub's mirror)."""
        ...

    async def versions(
        self, kind: Kind, ids: Sequence[str], at_ms: int | None = None
    ) -> dict[str, Version]:
        """Per id, the version valid at ``at_ms`` (None = now), with its ``source``."""
        ...

    async def revision(self) -> int:
        """The latest graph revision (0 = nothing applied yet)."""
        ...

    async def first_revision(self) -> int | None:
        """The oldest revision still in the feed (None: the feed is empty)."""
        ...

    async def read_after(
        self, after: int, count: int | None = 1000, epoch: str | None = None
    ) -> list[FeedEntry]:
        """Feed entries with revision > ``after`` (``FeedGap`` if the next one was trimmed,
        ``FeedRestarted`` if the projection is not ``epoch``'s any more or is behind)."""
        ...

    async def read_range(self, first: int, last: int) -> list[FeedEntry]:
        """Feed entries with ``first <= revision <= last`` that are still retained."""
        ...

    async def wait_after(
        self, after: int, timeout_s: float, epoch: str | None = None, *, resolved: bool = True
    ) -> list[FeedEntry]:
        """Entries after ``after``, waiting up to ``timeout_s`` for one to come (errors
        as ``read_after``). Unresolved (``resolved=False``): each change only its
        ``op``, ``id``, ``Revision`` and time ``At``, without its version."""
        ...

    async def resolve(self, entries: list[FeedEntry]) -> list[FeedEntry]:
        """Unresolved entries with each change's version read (upserts: body,
        ``CreatedAt``, ``UpdatedAt``, ``Source``; ``None`` body for a version gone)."""
        ...

    async def deferred_versions(self, wanted: Wanted) -> dict[str, list[dict[str, Any] | None]]:
        """The versions ``wanted`` names (per kind ``n``/``e``: ids and Revisions), per
        kind in order: each a fresh element (``ID``, ``Metadata``; an edge's ``Parent``,
        ``Child``) plus its ``CreatedAt``; None for a version gone from the history."""
        ...

    async def ping(self) -> None:
        """Raise when the store cannot be reached."""
        ...
