"""Fixtures: a small cluster graph in a ``MemoryBackend``, apps over it, an SSE reader.

The graph (changeset at T0, ids are readable names):
  cluster → namespaces shop, other; node worker (ownership)
  shop → pods web (UP), db (DOWN, RootCause [sec-pass]); secret mysql-pass (DOWN,
         Missing); networkpolicy db-ingress          other → pod spy
  worker → web, spy (node); web → mysql-pass, db → mysql-pass (pod)
  db-ingress → db (ingress begin, ":5432"), db-ingress → web (ingress end, ":5432")

Tests reach everything through fixtures (``graph`` for builders, ``backend``,
``client_for``, ``sse``), so they import nothing from this module.
"""

from __future__ import annotations

import asyncio
import contextlib
import urllib.parse
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI

from gateway.app import create_app
from gateway.memory_backend import MemoryBackend
from gateway.settings import GatewaySettings
from topolog.core import graph

T0 = 1_700_000_000.0


def node(
    uid: str,
    kind: str,
    name: str,
    ns: str = "",
    *,
    state: str = "UP",
    root_cause: list[str] | None = None,
    **labels: str,
) -> graph.Node:
    k8s: dict[str, Any] = {"Name": name, "Labels": dict(labels)}
    if ns:
        k8s["Namespace"] = ns
    return graph.Node(
        id=uid,
        metadata={
            "Type": kind,
            "Name": name,
            "Manager": "k8s",
            "ClusterName": "test",
            "State": state,
            "StateReason": "" if state == "UP" else "Missing",
            "RootCause": list(root_cause or []),
            "K8s": k8s,
        },
    )


def link(parent: str, child: str, relation: str = "ownership", **metadata: str) -> graph.Edge:
    return graph.Edge(
        id=f"{parent}>{child}"
        + (f":{metadata['PolicyPoint']}" if "PolicyPoint" in metadata else ""),
        parent=parent,
        child=child,
        metadata={"RelationType": relation, **metadata},
    )


def src(offset: int) -> graph.Source:
    return graph.Source(topic="topolog.resources", partition=0, offset=offset)


def upsert(element: graph.Node | graph.Edge, offset: int = 0) -> graph.Change:
    if isinstance(element, graph.Node):
        return graph.Change(graph.Op.NODE_UPSERT, element.id, node=element, source=src(offset))
    return graph.Change(graph.Op.EDGE_UPSERT, element.id, edge=element, source=src(offset))


def delete(element_id: str, *, edge: bool = False, offset: int = 0) -> graph.Change:
    op = graph.Op.EDGE_DELETE if edge else graph.Op.NODE_DELETE
    return graph.Change(op, element_id, source=src(offset))


def changeset(t: float, *changes: graph.Change) -> graph.ChangeSet:
    return graph.ChangeSet(time=t, changes=list(changes))


def base_changes() -> list[graph.Change]:
    nodes = [
        node("cluster", "cluster", "test"),
        node("ns-shop", "namespace", "shop"),
        node("ns-other", "namespace", "other"),
        node("worker", "node", "worker"),
        node("web", "pod", "web", "shop", app="web"),
        node("db", "pod", "db", "shop", state="DOWN", root_cause=["sec-pass"], app="db"),
        node("sec-pass", "secret", "mysql-pass", "shop", state="DOWN"),
        node("spy", "pod", "spy", "other", app="spy"),
        node("np-db", "networkpolicy", "db-ingress", "shop"),
    ]
    policy = {"PolicyType": "ingress", "PolicyTarget": "allow", "PolicyPorts": ":5432"}
    edges = [
        link("cluster", "ns-shop"),
        link("cluster", "ns-other"),
        link("cluster", "worker"),
        link("ns-shop", "web"),
        link("ns-shop", "db"),
        link("ns-shop", "sec-pass"),
        link("ns-shop", "np-db"),
        link("ns-other", "spy"),
        link("worker", "web", "node"),
        link("worker", "spy", "node"),
        link("web", "sec-pass", "pod"),
        link("db", "sec-pass", "pod"),
        link("np-db", "db", "networkpolicy", PolicyPoint="begin", **policy),
        link("np-db", "web", "networkpolicy", PolicyPoint="end", **policy),
    ]
    return [upsert(n, i) for i, n in enumerate(nodes)] + [
        upsert(e, 100 + i) for i, e in enumerate(edges)
    ]


@pytest.fixture
def graph_builders() -> SimpleNamespace:
    """Builders for tests: node, link, upsert, delete, changeset, base_changes, T0."""
    return SimpleNamespace(
        node=node,
        link=link,
        upsert=upsert,
        delete=delete,
        changeset=changeset,
        base_changes=base_changes,
        T0=T0,
    )


@pytest_asyncio.fixture(loop_scope="function")
async def backend() -> MemoryBackend:
    store = MemoryBackend()
    await store.apply(changeset(T0, *base_changes()))
    return store


TOKENS = {"admin-token": ["*"], "shop-token": ["shop"], "other-token": ["other"]}


@pytest.fixture
def settings() -> GatewaySettings:
    return GatewaySettings(feed_block_s=0.05, sse_ping_s=60)


@pytest.fixture
def secured() -> GatewaySettings:
    return GatewaySettings(tokens=TOKENS, feed_block_s=0.05, sse_ping_s=60)


@contextlib.asynccontextmanager
async def running(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with app.router.lifespan_context(app):
        state = app.state.gateway
        for _ in range(200):
            if state.hub.ready:
                break
            await asyncio.sleep(0.01)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
            client.app = app  # type: ignore[attr-defined]
            yield client


@pytest.fixture
def client_for(
    backend: MemoryBackend,
) -> Callable[..., contextlib.AbstractAsyncContextManager[httpx.AsyncClient]]:
    """``async with client_for(settings) as client:`` — an app over ``backend``, started."""

    def make(conf: GatewaySettings) -> contextlib.AbstractAsyncContextManager[httpx.AsyncClient]:
        return running(create_app(conf, backend=backend))

    return make


@pytest_asyncio.fixture(loop_scope="function")
async def client(client_for: Any, settings: GatewaySettings) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(settings) as c:
        yield c


# --- SSE over raw ASGI (httpx's ASGITransport buffers whole bodies) ---------------------


@dataclass
class SSEEvent:
    event: str
    id: str | None
    data: Any

    @property
    def at(self) -> str | None:
        """The id's position, ``<revision>[.<index>]``, without its history tag."""
        return None if self.id is None else self.id.rpartition(":")[2]

    @property
    def history(self) -> str | None:
        """The id's history tag (``events.history_tag`` of the projection's identity)."""
        return None if self.id is None or ":" not in self.id else self.id.partition(":")[0]


@dataclass
class Stream:
    """An open SSE response: ``status``, ``headers``, ``next()``/``take(n)``, ``close()``."""

    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    ended: bool = False
    _chunks: asyncio.Queue[bytes | None] = field(default_factory=asyncio.Queue)
    _buffer: str = ""
    _disconnect: asyncio.Event = field(default_factory=asyncio.Event)
    _task: asyncio.Task[None] | None = None
    comments: list[str] = field(default_factory=list)

    async def next(self, wait_s: float = 5.0) -> SSEEvent | None:
        """The next event (comments are collected aside); None when the stream ended."""
        import orjson

        while True:
            if "\r\n\r\n" in self._buffer:
                raw, self._buffer = self._buffer.split("\r\n\r\n", 1)
                fields: dict[str, str] = {}
                data: list[str] = []
                for line in raw.split("\r\n"):
                    if line.startswith(":"):
                        self.comments.append(line[1:].strip())
                        continue
                    key, _, value = line.partition(":")
                    value = value[1:] if value.startswith(" ") else value
                    if key == "data":
                        data.append(value)
                    else:
                        fields[key] = value
                if not data and "event" not in fields:
                    continue
                text = "\n".join(data)
                return SSEEvent(
                    fields.get("event", "message"), fields.get("id"), orjson.loads(text)
                )
            chunk = await asyncio.wait_for(self._chunks.get(), wait_s)
            if chunk is None:
                self.ended = True
                return None
            self._buffer += chunk.decode()

    async def take(self, n: int, wait_s: float = 5.0) -> list[SSEEvent]:
        out: list[SSEEvent] = []
        while len(out) < n:
            event = await self.next(wait_s)
            if event is None:
                break
            out.append(event)
        return out

    async def close(self) -> None:
        self._disconnect.set()
        if self._task is not None:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(self._task, 5)


async def open_sse(app: FastAPI, path: str, headers: dict[str, str] | None = None) -> Stream:
    parsed = urllib.parse.urlsplit(path)
    stream = Stream()
    started = asyncio.Event()
    sent_request = False

    async def receive() -> dict[str, Any]:
        nonlocal sent_request
        if not sent_request:
            sent_request = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await stream._disconnect.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            stream.status = message["status"]
            stream.headers = {k.decode().lower(): v.decode() for k, v in message["headers"]}
            started.set()
        elif message["type"] == "http.response.body":
            body = message.get("body", b"")
            stream.body += body
            if body:
                await stream._chunks.put(body)
            if not message.get("more_body", False):
                await stream._chunks.put(None)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": parsed.path,
        "raw_path": parsed.path.encode(),
        "query_string": parsed.query.encode(),
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()],
        "client": ("127.0.0.1", 50000),
        "server": ("gateway", 80),
        "state": {},
    }

    async def run() -> None:
        try:
            await app(scope, receive, send)
        finally:
            started.set()
            await stream._chunks.put(None)

    stream._task = asyncio.create_task(run())
    await asyncio.wait_for(started.wait(), 5)
    return stream


@pytest.fixture
def sse() -> Callable[..., Any]:
    """``stream = await sse(app, "/api/v1/stream?...", headers)``."""
    return open_sse
