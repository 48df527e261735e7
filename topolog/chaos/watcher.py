"""An SSE client that stays connected through faults, like a dashboard does.

Flows in: the gateway's ``/api/v1/stream``; reconnects after any error with the last
event id it saw (``Last-Event-ID``).
Flows out: a mirror of the graph built only from the events (``Sync``, then
``Node*``/``Edge*``), and counts of ids that break the stream's promise: ``gaps``
(a revision or an index skipped), ``duplicates`` (an id at or before the last one) and
``resyncs`` (the server gave up on the client). Every revision of the feed changes at
least one element, so an unfiltered admin stream has at least one event per revision:
ids must go ``r.0, r.1, …, (r+1).0, …`` with nothing skipped.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson

log = logging.getLogger(__name__)

Element = dict[str, Any]


@dataclass(slots=True)
class Watcher:
    url: str
    token: str | None = None
    nodes: dict[str, Element] = field(default_factory=dict)
    edges: dict[str, Element] = field(default_factory=dict)
    #: (revision, index) of the last event applied; index -1 after a Sync.
    last: tuple[int, int] | None = None
    events: int = 0
    connections: int = 0
    gaps: int = 0
    duplicates: int = 0
    resyncs: int = 0
    #: Reconnects refused because the store had not yet caught up with our cursor.
    waits: int = 0
    problems: list[str] = field(default_factory=list)

    #: The history tag of the last event id (``<history>:<revision>[.<index>]``).
    history: str = ""

    @property
    def last_id(self) -> str | None:
        if self.last is None:
            return None
        revision, index = self.last
        at = str(revision) if index < 0 else f"{revision}.{index}"
        return f"{self.history}:{at}" if self.history else at

    async def run(self) -> None:
        """Stream until cancelled, reconnecting after every error."""
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        timeout = httpx.Timeout(10.0, read=60.0)
        async with httpx.AsyncClient(timeout=timeout) as client:
            while True:
                try:
                    await self._connect(client, headers)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    log.debug("stream broke: %s", exc)
                await asyncio.sleep(0.5)

    async def _connect(self, client: httpx.AsyncClient, headers: dict[str, str]) -> None:
        sent = dict(headers)
        if self.last_id is not None:
            sent["Last-Event-ID"] = self.last_id
        async with client.stream("GET", f"{self.url}/api/v1/stream", headers=sent) as resp:
            if resp.status_code != 200:
                body = (await resp.aread())[:200]
                if b"ahead of the stream" in body:
                    # The projection is being rebuilt behind our cursor: wait for it.
                    self.waits += 1
                    return
                if resp.status_code in (400, 410):
                    self._problem(f"resume refused {resp.status_code}: {body!r}")
                    self.resyncs += 1
                    self.last = None
                return
            self.connections += 1
            fields: dict[str, str] = {}
            async for line in resp.aiter_lines():
                if not line:
                    if "data" in fields:
                        self._dispatch(fields)
                    fields = {}
                elif line.startswith(":"):
                    continue
                else:
                    name, _, value = line.partition(":")
                    value = value[1:] if value.startswith(" ") else value
                    fields[name] = fields[name] + "\n" + value if name in fields else value

    def _dispatch(self, fields: dict[str, str]) -> None:
        name = fields.get("event", "message")
        data = orjson.loads(fields["data"])
        if name == "Resync":
            self.resyncs += 1
            self._problem(f"resync after {self.last_id}: {data}")
            self.last = None
            return
        event_id = fields.get("id")
        if event_id is None:
            self._problem(f"{name} without an id")
            return
        self.events += 1
        # A rebuilt projection that continues the same history renames it: its ids go on
        # from the same revision numbers (another history would have been a Resync).
        self.history, _, at = event_id.rpartition(":")
        if name == "Sync":
            self.nodes = {n["ID"]: n for n in data.get("Nodes") or []}
            self.edges = {e["ID"]: e for e in data.get("Edges") or []}
            self.last = (int(at), -1)
            return
        revision_text, _, index_text = at.partition(".")
        current = (int(revision_text), int(index_text or 0))
        if self.last is not None:
            # A Sync at r contains every event of revision r.
            synced = self.last[1] < 0 and current[0] <= self.last[0]
            if synced or current <= self.last:
                self.duplicates += 1
                self._problem(f"duplicate {event_id} after {self.last_id}")
                return
            revision, index = self.last
            # After a Sync (index -1) the next event is the next revision's first.
            expected = (
                {(revision + 1, 0)} if index < 0 else {(revision, index + 1), (revision + 1, 0)}
            )
            if current not in expected:
                self.gaps += 1
                self._problem(f"gap: {event_id} after {self.last_id}")
        self.last = current
        self._apply(name, data)

    def _apply(self, name: str, data: Any) -> None:
        if name in ("NodeAdded", "NodeUpdated"):
            self.nodes[data["ID"]] = data
        elif name == "NodeDeleted":
            self.nodes.pop(data["ID"], None)
        elif name in ("EdgeAdded", "EdgeUpdated"):
            self.edges[data["ID"]] = data
        elif name == "EdgeDeleted":
            self.edges.pop(data["ID"], None)

    def _problem(self, text: str) -> None:
        log.warning("sse: %s", text)
        if len(self.problems) < 50:
            self.problems.append(text)
