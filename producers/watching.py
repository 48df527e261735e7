"""Watching one kind like client-go's reflector: list, then watch, for ever.

Flows in: the Kubernetes API (``kube.Kube``) and what was already published for the
kind (``reconciling.Published``, rebuilt from Kafka at start).
Flows out: sanitized ``Envelope``s, in the order the API serves the changes, and a
SYNCED marker after every complete list; ``running`` hands them to ``publishing``.

Three nested loops, outermost first:
- ``Reflector.events``: reconnects for ever with jittered backoff; a 410 Gone (expired
  resourceVersion) sends it back to listing; 403/404 stop this kind only (logged once).
- ``_list_and_reconcile``: a consistent, paginated list, reconciled against what was
  published, so deletes missed while disconnected become DELETED events
  (``reconciling.DeletedFinalStateUnknown``) and nothing unchanged is republished.
- ``_watch_stream``: one watch request from the last seen resourceVersion, with
  bookmarks, a server-side timeout and a client-side read timeout (half-open sockets).
  A watch silent for the read timeout ends like one the server closed (watched again
  at once, no warning): the apiserver sends no bookmark for a kind nothing happens to,
  so a quiet kind's watch looks exactly like a half-open one; a dead connection shows
  when the next watch fails.

Ordering promise: per object, events are yielded in resourceVersion order, and the
memory is updated as each is yielded — the consumer must publish each before asking
for the next (a publish failure stops the process; a restart reconciles from Kafka).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import aiohttp
import orjson

from producers import kube, metrics, reconciling
from topolog.core import envelope
from topolog.core.resources import Resource

log = logging.getLogger(__name__)


#: A watch the server ends sooner than this without sending anything is retried with
#: backoff, not at once (the normal end, at ``timeoutSeconds``, is minutes).
SHORT_WATCH_S = 1.0


class Gone(Exception):
    """The resourceVersion asked for is older than etcd's history (HTTP 410)."""


class Skip(Exception):
    """The kind cannot be watched at all (forbidden by RBAC, or not served)."""


@dataclass(slots=True)
class Backoff:
    """Exponential backoff with full jitter (AWS architecture blog), reset on progress."""

    base: float = 0.5
    cap: float = 30.0
    attempt: int = 0
    rng: random.Random = field(default_factory=random.Random)

    def next_delay(self) -> float:
        delay = self.rng.uniform(0, min(self.cap, self.base * 2**self.attempt))
        self.attempt += 1
        return delay

    def reset(self) -> None:
        self.attempt = 0


def watch_from(last_seen: str | None) -> str | None:
    """Which resourceVersion to watch from; None means list first.

    Before the first list, and after a 410 Gone, there is nothing to resume from: list.
    Otherwise resume the watch from the last resourceVersion seen (from the list, an
    event or a bookmark), so a dropped connection loses nothing and replays nothing.
    The list itself never asks for a resourceVersion (client-go asks for "0", a read
    from the watch cache that may be older than what was already published; a
    consistent read cannot take the published memory back in time).
    """
    return last_seen or None


class Reflector:
    """Keeps one kind's events flowing; see the module docstring."""

    def __init__(
        self,
        *,
        client: kube.Kube,
        resource: Resource,
        cluster: str,
        published: reconciling.Published,
        page_size: int = 500,
        read_timeout: float = 120.0,
        watch_timeout: tuple[int, int] = (300, 600),
        backoff: Backoff | None = None,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.resource = resource
        self.cluster = cluster
        self.published = published
        self.page_size = page_size
        self.read_timeout = read_timeout
        self.watch_timeout = watch_timeout
        self.backoff = backoff or Backoff()
        self.clock = clock
        self.monotonic = monotonic
        #: Events and bookmarks received by the current watch.
        self.received = 0
        #: The last resourceVersion seen; None until listed, and again after a 410.
        self.resource_version: str | None = None
        self.lists = 0

    async def events(self) -> AsyncIterator[envelope.Envelope]:
        """Every change of the kind, for ever (returns only when the kind is skipped)."""
        kind = self.resource.kind
        while True:
            try:
                rv = watch_from(self.resource_version)
                if rv is None:
                    async for event in self._list_and_reconcile():
                        yield event
                else:
                    metrics.WATCH_RESTARTS.labels(kind=kind).inc()
                started = self.monotonic()
                async for event in self._watch_stream():
                    yield event
                if self.received or self.monotonic() - started >= SHORT_WATCH_S:
                    continue  # the server ended the watch (timeoutSeconds): resume at once
                # Closed at once with nothing in it (client-go's "very short watch"): a
                # server or proxy in trouble; hammering it helps nobody.
                metrics.ERRORS.labels(kind=kind, reason="short_watch").inc()
                delay = self.backoff.next_delay()
                log.warning("%s: watch closed at once; retrying in %.1fs", kind, delay)
                await asyncio.sleep(delay)
            except Gone:
                log.info("%s: resourceVersion %s expired, relisting", kind, self.resource_version)
                self.resource_version = None
                metrics.RELISTS.labels(kind=kind).inc()
                continue
            except Skip as exc:
                log.warning("%s: not watched: %s", kind, exc)
                metrics.SKIPPED.labels(kind=kind).set(1)
                return
            except (kube.ApiError, aiohttp.ClientError, TimeoutError, OSError, ValueError) as exc:
                reason = type(exc).__name__
                if isinstance(exc, kube.ApiError):
                    reason = f"http_{exc.status}"
                metrics.ERRORS.labels(kind=kind, reason=reason).inc()
                delay = self.backoff.next_delay()
                log.warning("%s: %s: %s; retrying in %.1fs", kind, reason, exc, delay)
                await asyncio.sleep(delay)

    async def _list_and_reconcile(self) -> AsyncIterator[envelope.Envelope]:
        items, list_rv = await self._list()
        if self.lists:
            log.info("%s: relisted %d objects at %s", self.resource.kind, len(items), list_rv)
        self.lists += 1
        changes = reconciling.reconcile(
            cluster=self.cluster,
            kind=self.resource.kind,
            published=self.published,
            listed=items,
        )
        now = self.clock()
        for change in changes:
            yield self._publishable(change, now, list_rv)
        self.resource_version = list_rv
        self.backoff.reset()
        yield envelope.synced_marker(
            cluster=self.cluster,
            api_version=self.resource.api_version,
            kind=self.resource.kind,
            resource_version=list_rv,
            observed_at=now,
        )

    async def _list(self) -> tuple[list[dict[str, Any]], str]:
        accept = kube.PARTIAL_LIST if self.resource.metadata_only else kube.JSON
        items: list[dict[str, Any]] = []
        token = ""
        list_rv = ""
        while True:
            query = [("limit", str(self.page_size))]
            if token:
                query.append(("continue", token))
            body = await self._call(self.client.get(self.resource.path, query=query, accept=accept))
            items.extend(body.get("items") or [])
            meta = body.get("metadata") or {}
            # Every page carries the first page's resourceVersion (one snapshot).
            list_rv = list_rv or str(meta.get("resourceVersion") or "")
            token = meta.get("continue") or ""
            if not token:
                return items, list_rv

    async def _watch_stream(self) -> AsyncIterator[envelope.Envelope]:
        assert self.resource_version is not None
        accept = kube.PARTIAL if self.resource.metadata_only else kube.JSON
        query = [
            ("watch", "true"),
            ("allowWatchBookmarks", "true"),
            ("resourceVersion", self.resource_version),
            ("timeoutSeconds", str(random.randint(*self.watch_timeout))),
        ]
        self.received = 0
        lines = self.client.lines(
            self.resource.path, query=query, accept=accept, read_timeout=self.read_timeout
        )
        try:
            async for line in self._until_quiet(_guard(lines)):
                event = orjson.loads(line)
                self.received += 1
                kind, obj = event.get("type"), event.get("object") or {}
                if kind == "ERROR":
                    code = int(obj.get("code") or 0)
                    if code == 410:
                        raise Gone(obj.get("message"))
                    raise kube.ApiError(code, str(obj.get("message") or obj.get("reason")), obj)
                rv = str((obj.get("metadata") or {}).get("resourceVersion") or "")
                if kind == "BOOKMARK":
                    self.resource_version = rv or self.resource_version
                    continue
                changes = reconciling.classify(
                    cluster=self.cluster,
                    kind=self.resource.kind,
                    published=self.published,
                    event_type=str(kind),
                    obj=obj,
                )
                now = self.clock()
                for change in changes:
                    yield self._publishable(change, now, rv)
                self.resource_version = rv or self.resource_version
                self.backoff.reset()
        finally:
            await lines.aclose()  # type: ignore[attr-defined]

    async def _until_quiet(self, lines: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        """``lines``, ending like a watch the server closed when they go quiet for the read
        timeout: the apiserver sends no bookmark for a kind nothing happens to (its watch
        cache's resourceVersion does not move), so a quiet kind's watch is silent until its
        ``timeoutSeconds``. Watching again from the last resourceVersion loses nothing, and
        on a really dead connection the new watch fails, with its warning and backoff."""
        try:
            async for line in lines:
                yield line
        except kube.QuietStream:
            log.debug(
                "%s: no event for %.0fs; watching again from %s",
                self.resource.kind,
                self.read_timeout,
                self.resource_version,
            )
            metrics.QUIET_WATCHES.labels(kind=self.resource.kind).inc()

    def _publishable(
        self, change: reconciling.Change, now: float, list_rv: str
    ) -> envelope.Envelope:
        event = reconciling.to_envelope(
            change,
            cluster=self.cluster,
            resource=self.resource,
            observed_at=now,
            list_resource_version=list_rv,
        )
        reconciling.remember(self.published, self.cluster, self.resource.kind, change)
        if not isinstance(change.object, reconciling.DeletedFinalStateUnknown):
            changed = changed_at(change.object)
            if changed is not None:
                metrics.LAG.labels(kind=self.resource.kind).set(max(0.0, now - changed))
        return event

    async def _call(self, awaitable: Any) -> Any:
        try:
            return await awaitable
        except kube.ApiError as exc:
            _raise_kind_errors(exc)
            raise


async def _guard(lines: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    try:
        async for line in lines:
            yield line
    except kube.ApiError as exc:
        _raise_kind_errors(exc)
        raise


def _raise_kind_errors(exc: kube.ApiError) -> None:
    if exc.status == 410:
        raise Gone(exc.reason) from exc
    if exc.status in (403, 404):
        raise Skip(f"{exc.status} {exc.reason}") from exc


def changed_at(obj: Any) -> float | None:
    """When the object last changed, as far as its metadata tells (seconds)."""
    meta = obj.get("metadata") or {}
    stamps = [m.get("time") for m in meta.get("managedFields") or [] if isinstance(m, dict)]
    stamps.append(meta.get("creationTimestamp"))
    stamps.append(meta.get("deletionTimestamp"))
    values = []
    for stamp in stamps:
        if isinstance(stamp, str):
            try:
                values.append(datetime.fromisoformat(stamp).timestamp())
            except ValueError:
                continue
    return max(values) if values else None
