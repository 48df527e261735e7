"""Skydive's topology API: shapes, 400s, whole graph."""

from __future__ import annotations

from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st


async def query(client: httpx.AsyncClient, text: str) -> httpx.Response:
    return await client.post("/api/topology", json={"GremlinQuery": text})


async def test_seed_query_answers_a_json_array_of_skydive_nodes(client: httpx.AsyncClient) -> None:
    response = await query(client, "G.V().Has('Name','mysql-pass').In().Has('Type','pod')")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    pods = response.json()
    assert sorted(p["Metadata"]["Name"] for p in pods) == ["db", "web"]
    for pod in pods:
        assert set(pod) == {"ID", "Metadata", "CreatedAt", "UpdatedAt", "Revision"}
        assert pod["CreatedAt"] == 1_700_000_000_000  # epoch ms
        assert isinstance(pod["Revision"], int)


async def test_count_answers_a_bare_number(client: httpx.AsyncClient) -> None:
    response = await query(client, "G.V().Has('Type', 'pod').Count()")
    assert response.status_code == 200
    assert response.json() == 3


async def test_edges_carry_parent_and_child(client: httpx.AsyncClient) -> None:
    response = await query(client, "G.E().Has('RelationType', 'pod')")
    edges = response.json()
    assert {(e["Parent"], e["Child"]) for e in edges} == {("web", "sec-pass"), ("db", "sec-pass")}


async def test_whole_graph_is_nodes_and_edges(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/topology")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"Nodes", "Edges"}
    assert len(body["Nodes"]) == 9
    assert len(body["Edges"]) == 14


async def test_whole_graph_at_a_past_time_is_that_graph(
    client: httpx.AsyncClient, graph_builders: Any
) -> None:
    body = (await client.get("/api/topology", params={"at": str(graph_builders.T0 - 1)})).json()
    assert body == {"Nodes": [], "Edges": []}


async def test_bad_query_is_a_400_with_its_position(client: httpx.AsyncClient) -> None:
    response = await query(client, "G.V().Has('Name',)")
    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"error", "position"}
    assert isinstance(body["position"], int)


async def test_malformed_body_is_a_400(client: httpx.AsyncClient) -> None:
    for content in (b"not json", b"[]", b'{"GremlinQuery": 3}', b"{}"):
        response = await client.post("/api/topology", content=content)
        assert response.status_code == 400, content
        assert "error" in response.json()


async def test_result_limit_is_a_400(client_for: Any, settings: Any) -> None:
    async with client_for(settings.model_copy(update={"max_results": 2})) as c:
        response = await query(c, "G.V()")
    assert response.status_code == 400
    assert "limit" in response.json()["error"]


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    text=st.one_of(
        st.text(max_size=80),
        st.lists(
            st.sampled_from(
                [
                    "G",
                    ".",
                    "V",
                    "E",
                    "(",
                    ")",
                    "'",
                    '"',
                    ",",
                    "Has",
                    "At",
                    "Count",
                    "Out",
                    "Regex",
                    "1",
                    "-1m",
                    "Within",
                    "Limit",
                    "ShortestPathTo",
                    "Values",
                    " ",
                ]
            ),
            max_size=25,
        ).map("".join),
    )
)
async def test_random_query_text_never_gives_a_server_error(
    client: httpx.AsyncClient, text: str
) -> None:
    response = await query(client, text)
    assert response.status_code in (200, 400), (text, response.text)
    if response.status_code == 400:
        assert "error" in response.json()
