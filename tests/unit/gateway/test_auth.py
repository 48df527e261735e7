"""Tokens: 401 without a valid one; a namespace-scoped token sees nothing outside its
namespaces through any route."""

from __future__ import annotations

from typing import Any

import pytest

SHOP = {"Authorization": "Bearer shop-token"}
ADMIN = {"Authorization": "Bearer admin-token"}
OUTSIDE_SHOP = {"cluster", "ns-other", "worker", "spy"}


@pytest.fixture
async def secure(client_for: Any, secured: Any) -> Any:
    async with client_for(secured) as c:
        yield c


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic c2hvcC10b2tlbg=="}],
)
async def test_missing_or_wrong_token_is_a_401(
    secure: Any, sse: Any, headers: dict[str, str]
) -> None:
    for method, path in [
        ("GET", "/api/topology"),
        ("POST", "/api/topology"),
        ("GET", "/api/v1/nodes/web"),
        ("GET", "/api/v1/reach?from=shop/web&to=shop/db&port=5432"),
        ("GET", "/api/v1/diff?from=0"),
    ]:
        response = await secure.request(
            method, path, headers=headers, json={"GremlinQuery": "G.V()"}
        )
        assert response.status_code == 401, (method, path)
        assert response.headers["www-authenticate"] == "Bearer"
    stream = await sse(secure.app, "/api/v1/stream", headers)
    assert stream.status == 401
    await stream.close()


async def test_without_configured_tokens_the_api_is_open(client: Any) -> None:
    assert (await client.get("/api/topology")).status_code == 200


async def test_query_token_may_come_as_a_parameter(secure: Any) -> None:
    response = await secure.get("/api/topology", params={"access_token": "shop-token"})
    assert response.status_code == 200


def ids_in(value: Any) -> set[str]:
    """Every string anywhere in a JSON value (ids show up as values)."""
    if isinstance(value, dict):
        return set().union(*(ids_in(v) for v in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(ids_in(v) for v in value)) if value else set()
    return {value} if isinstance(value, str) else set()


async def test_scoped_token_never_sees_outside_its_namespaces(
    secure: Any, graph_builders: Any
) -> None:
    queries = [
        "G.V()",
        "G.E()",
        "G.V().Has('Type', 'pod')",
        "G.V().Has('Name', 'worker').Out()",
        "G.V('web').Both()",
        "G.V('web').BothE().BothV()",
        "G.V().Has('Type','node')",
        f"G.At({graph_builders.T0 + 5}).V()",
        "G.At('-1s', '10000h').V()",
        "G.V('web').ShortestPathTo(Metadata('Name', 'spy'))",
        "G.V().Values('Name')",
    ]
    for text in queries:
        response = await secure.post("/api/topology", json={"GremlinQuery": text}, headers=SHOP)
        assert response.status_code in (200, 400), text
        seen = ids_in(response.json())
        assert not seen & (OUTSIDE_SHOP | {"other"}), (text, seen)
    whole = (await secure.get("/api/topology", headers=SHOP)).json()
    assert {n["ID"] for n in whole["Nodes"]} == {"ns-shop", "web", "db", "sec-pass", "np-db"}
    assert all(e["Parent"] not in OUTSIDE_SHOP for e in whole["Edges"])
    count = await secure.post("/api/topology", json={"GremlinQuery": "G.V().Count()"}, headers=SHOP)
    assert count.json() == 5


async def test_scoped_token_gets_404_for_objects_outside(secure: Any) -> None:
    for path in [
        "/api/v1/nodes/spy",
        "/api/v1/nodes/worker",
        "/api/v1/edges/worker>web",
        "/api/v1/nodes/spy/rootcause",
        "/api/v1/reach?from=other/spy&to=shop/db&port=5432",
    ]:
        response = await secure.get(path, headers=SHOP)
        assert response.status_code == 404, path
    assert (await secure.get("/api/v1/nodes/spy", headers=ADMIN)).status_code == 200
    diff = (await secure.get("/api/v1/diff?from=0", headers=SHOP)).json()
    assert not ids_in(diff) & OUTSIDE_SHOP


async def test_root_cause_hides_causes_outside_the_scope(
    client_for: Any, secured: Any, backend: Any, graph_builders: Any
) -> None:
    g = graph_builders
    await backend.apply(
        g.changeset(
            g.T0 + 10,
            g.upsert(
                g.node("db", "pod", "db", "shop", state="DOWN", root_cause=["sec-pass", "worker"])
            ),
        )
    )
    async with client_for(secured) as c:
        body = (await c.get("/api/v1/nodes/db/rootcause", headers=SHOP)).json()
        assert [r["Node"]["ID"] for r in body["RootCause"]] == ["sec-pass"]
        assert body["Hidden"] == 1
        assert "worker" not in ids_in(body)
        full = (await c.get("/api/v1/nodes/db/rootcause", headers=ADMIN)).json()
        assert [r["Node"]["ID"] for r in full["RootCause"]] == ["sec-pass", "worker"]


async def test_scoped_stream_never_shows_outside_objects(
    client_for: Any, secured: Any, backend: Any, sse: Any, graph_builders: Any
) -> None:
    g = graph_builders
    async with client_for(secured) as c:
        stream = await sse(c.app, "/api/v1/stream", SHOP)
        sync = await stream.next()
        assert not ids_in(sync.data) & OUTSIDE_SHOP
        await backend.apply(
            g.changeset(
                g.T0 + 10,
                g.upsert(g.node("spy2", "pod", "spy2", "other")),
                g.upsert(g.link("worker", "db", "node")),
                g.upsert(g.node("api", "pod", "api", "shop")),
            )
        )
        await backend.apply(g.changeset(g.T0 + 11, g.delete("spy")))
        await backend.apply(g.changeset(g.T0 + 12, g.delete("api")))
        events = await stream.take(2)
        assert [(e.event, e.data["ID"]) for e in events] == [
            ("NodeAdded", "api"),
            ("NodeDeleted", "api"),
        ]
        assert [e.at for e in events] == ["2.0", "4.0"]
        await stream.close()


async def test_streams_per_token_are_limited(client_for: Any, secured: Any, sse: Any) -> None:
    async with client_for(secured.model_copy(update={"sse_max_connections": 1})) as c:
        first = await sse(c.app, "/api/v1/stream", SHOP)
        assert first.status == 200
        second = await sse(c.app, "/api/v1/stream", SHOP)
        assert second.status == 429
        other = await sse(c.app, "/api/v1/stream", ADMIN)
        assert other.status == 200
        await second.close()
        await other.close()
        await first.close()


async def test_scoped_token_sees_nothing_outside_in_the_past_either(
    secure: Any, graph_builders: Any
) -> None:
    at = str(graph_builders.T0 + 5)
    for path in [
        f"/api/v1/nodes/spy?at={at}",
        f"/api/v1/nodes/worker?at={at}",
        f"/api/v1/nodes/spy/rootcause?at={at}",
        f"/api/v1/reach?from=other/spy&to=shop/db&port=5432&at={at}",
    ]:
        response = await secure.get(path, headers=SHOP)
        assert response.status_code == 404, path
    past = await secure.get(f"/api/topology?at={at}", headers=SHOP)
    assert past.status_code == 200
    assert not ids_in(past.json()) & OUTSIDE_SHOP
    assert "web" in ids_in(past.json())


async def test_scoped_alert_stream_never_shows_outside_alerts(
    client_for: Any, secured: Any, backend: Any, sse: Any, graph_builders: Any
) -> None:
    g = graph_builders
    async with client_for(secured) as c:
        stream = await sse(c.app, "/api/v1/alerts", SHOP)
        sync = await stream.next()
        assert not ids_in(sync.data) & OUTSIDE_SHOP
        await backend.apply(
            g.changeset(g.T0 + 10, g.upsert(g.node("spy", "pod", "spy", "other", state="DOWN")))
        )
        await backend.apply(
            g.changeset(g.T0 + 11, g.upsert(g.node("web", "pod", "web", "shop", state="DOWN")))
        )
        [alert] = await stream.take(1)
        assert alert.event == "Alert"
        assert "spy" not in ids_in(alert.data)
        assert "web" in ids_in(alert.data)
        await stream.close()
