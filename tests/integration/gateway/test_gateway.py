"""The gateway over the real Redis projection: queries, SSE resume, replay = history."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pytest

from store.history import History
from store.projection import Projection
from topolog.core import graph

pytestmark = pytest.mark.integration

T0 = 1_700_000_000.0


def pod(uid: str, name: str, ns: str = "shop", state: str = "UP") -> graph.Node:
    return graph.Node(
        id=uid,
        metadata={
            "Type": "pod",
            "Name": name,
            "State": state,
            "K8s": {"Name": name, "Namespace": ns},
        },
    )


def secret(uid: str, name: str, ns: str = "shop") -> graph.Node:
    return graph.Node(
        id=uid, metadata={"Type": "secret", "Name": name, "K8s": {"Name": name, "Namespace": ns}}
    )


def uses(parent: str, child: str) -> graph.Edge:
    return graph.Edge(
        id=f"{parent}>{child}", parent=parent, child=child, metadata={"RelationType": "pod"}
    )


def up(element: graph.Node | graph.Edge) -> graph.Change:
    if isinstance(element, graph.Node):
        return graph.Change(graph.Op.NODE_UPSERT, element.id, node=element)
    return graph.Change(graph.Op.EDGE_UPSERT, element.id, edge=element)


def gone(element_id: str) -> graph.Change:
    return graph.Change(graph.Op.NODE_DELETE, element_id)


CHANGESETS = [
    graph.ChangeSet(
        T0, [up(secret("s", "mysql-pass")), up(pod("a", "wordpress-1")), up(pod("b", "mysql-0"))]
    ),
    graph.ChangeSet(T0 + 10, [up(uses("a", "s")), up(uses("b", "s"))]),
    graph.ChangeSet(
        T0 + 20, [up(pod("a", "wordpress-1", state="DOWN")), up(pod("c", "other", ns="x"))]
    ),
    graph.ChangeSet(T0 + 30, [gone("b")]),
    graph.ChangeSet(T0 + 40, [up(pod("d", "late")), up(uses("d", "s"))]),
]


async def apply_all(projection: Projection, changesets: list[graph.ChangeSet]) -> None:
    for cs in changesets:
        await projection.apply(cs)


async def ready(client: httpx.AsyncClient, revision: int) -> None:
    for _ in range(200):
        response = await client.get("/readyz")
        if response.status_code == 200 and response.json()["revision"] >= revision:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the gateway never caught up")


async def events(response: httpx.Response) -> AsyncIterator[tuple[str, str | None, Any]]:
    event, event_id, data = "message", None, []
    async for line in response.aiter_lines():
        if not line:
            if data:
                yield event, event_id, orjson.loads("\n".join(data))
            event, event_id, data = "message", None, []
        elif line.startswith(":"):
            continue
        else:
            key, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if key == "event":
                event = value
            elif key == "id":
                event_id = value
            elif key == "data":
                data.append(value)


Events = AsyncIterator[tuple[str, str | None, Any]]


def at(event_id: str | None) -> str | None:
    """An event id's position, ``<revision>[.<index>]``, without its history tag."""
    return None if event_id is None else event_id.rpartition(":")[2]


async def take(stream: Events, n: int) -> list[tuple[str, str | None, Any]]:
    out: list[tuple[str, str | None, Any]] = []

    async def collect() -> None:
        while len(out) < n:
            out.append(await anext(stream))

    await asyncio.wait_for(collect(), 10)
    return out


async def test_queries_answer_from_redis(gateway_url: str, projection: Projection) -> None:
    await apply_all(projection, CHANGESETS)
    async with httpx.AsyncClient(base_url=gateway_url) as client:
        await ready(client, len(CHANGESETS))
        seed = "G.V().Has('Name','mysql-pass').In().Has('Type','pod')"
        pods = (await client.post("/api/topology", json={"GremlinQuery": seed})).json()
        assert sorted(p["Metadata"]["Name"] for p in pods) == ["late", "wordpress-1"]
        count = await client.post(
            "/api/topology", json={"GremlinQuery": f"G.At({T0 + 15}).V().Count()"}
        )
        assert count.json() == 3
        bad = await client.post("/api/topology", json={"GremlinQuery": "G.V().Has("})
        assert bad.status_code == 400 and bad.json()["position"] is not None
        whole = (await client.get("/api/topology")).json()
        assert sorted(n["ID"] for n in whole["Nodes"]) == ["a", "c", "d", "s"]
        assert (await client.get("/metrics")).status_code == 200


async def test_resume_after_a_forced_disconnect_has_no_gap_and_no_duplicate(
    gateway_url: str, projection: Projection
) -> None:
    await apply_all(projection, CHANGESETS[:1])
    async with httpx.AsyncClient(base_url=gateway_url, timeout=None) as client:
        await ready(client, 1)
        seen: list[tuple[str, str | None, Any]] = []
        async with client.stream("GET", "/api/v1/stream") as response:
            stream = events(response)
            seen += await take(stream, 1)  # Sync
            await apply_all(projection, CHANGESETS[1:3])
            seen += await take(stream, 3)  # two edges, then part of revision 3
        # Disconnected mid-revision; more happens meanwhile.
        await apply_all(projection, CHANGESETS[3:])
        last = seen[-1][1]
        assert last is not None
        async with client.stream(
            "GET", "/api/v1/stream", headers={"Last-Event-ID": last}
        ) as response:
            resumed = await take(events(response), 6)
    ids = [at(i) for _, i, _ in seen[1:] + resumed]
    assert ids == ["2.0", "2.1", "3.0", "3.1", "3.2", "4.0", "4.1", "5.0", "5.1"]
    named = [(e, d.get("ID") or d["id"]) for e, _, d in seen[1:] + resumed]
    assert named == [
        ("EdgeAdded", "a>s"),
        ("EdgeAdded", "b>s"),
        ("NodeUpdated", "a"),
        ("Alert", "a"),
        ("NodeAdded", "c"),
        ("EdgeDeleted", "b>s"),
        ("NodeDeleted", "b"),
        ("NodeAdded", "d"),
        ("EdgeAdded", "d>s"),
    ]


def _apply(graph_state: dict[str, dict[str, Any]], event: str, data: Any) -> None:
    kind = "nodes" if event.startswith("Node") else "edges"
    if event.endswith("Deleted"):
        graph_state[kind].pop(data["ID"])
    else:
        graph_state[kind][data["ID"]] = data


def _strip(element: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in element.items() if k != "DeletedAt"}


async def test_replay_from_a_past_time_equals_the_history(
    gateway_url: str, projection: Projection
) -> None:
    history = History()
    for cs in CHANGESETS:
        history.apply(cs)
    await apply_all(projection, CHANGESETS)
    since = T0 + 5
    async with httpx.AsyncClient(base_url=gateway_url, timeout=None) as client:
        await ready(client, len(CHANGESETS))
        async with client.stream("GET", "/api/v1/stream", params={"since": str(since)}) as response:
            received = await take(events(response), 1 + 2 + 3 + 2 + 2)
    event, sync_id, sync = received[0]
    assert (event, at(sync_id)) == ("Sync", "1")
    state: dict[str, dict[str, Any]] = {
        "nodes": {n["ID"]: n for n in sync["Nodes"]},
        "edges": {e["ID"]: e for e in sync["Edges"]},
    }

    def expected(t: float) -> dict[str, dict[str, Any]]:
        topo = history.at(round(t * 1000)).topology()
        return {
            "nodes": {n["ID"]: n for n in topo["Nodes"]},
            "edges": {e["ID"]: e for e in topo["Edges"]},
        }

    assert state == expected(since)
    by_revision: dict[int, list[tuple[str, Any]]] = {}
    for event, event_id, data in received[1:]:
        if event == "Alert":
            continue
        assert event_id is not None
        by_revision.setdefault(int(str(at(event_id)).split(".")[0]), []).append((event, data))
    assert sorted(by_revision) == [2, 3, 4, 5]
    for revision in sorted(by_revision):
        for event, data in by_revision[revision]:
            _apply(state, event, data)
        want = expected(CHANGESETS[revision - 1].time)
        assert {k: {i: _strip(e) for i, e in v.items()} for k, v in state.items()} == want, revision
