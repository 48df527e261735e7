"""/api/v1 reads: elements by id, root cause with provenance, diff between times."""

from __future__ import annotations

from typing import Any


async def test_node_and_edge_by_id(client: Any) -> None:
    node = (await client.get("/api/v1/nodes/web")).json()
    assert node["ID"] == "web" and node["Metadata"]["Name"] == "web"
    edge = (await client.get("/api/v1/edges/web>sec-pass")).json()
    assert (edge["Parent"], edge["Child"]) == ("web", "sec-pass")
    assert (await client.get("/api/v1/nodes/nope")).status_code == 404


async def test_node_at_a_time_is_its_revision_then(
    client: Any, backend: Any, graph_builders: Any
) -> None:
    g = graph_builders
    await backend.apply(g.changeset(g.T0 + 100, g.upsert(g.node("web", "pod", "web2", "shop"))))
    assert (await client.get("/api/v1/nodes/web")).json()["Metadata"]["Name"] == "web2"
    old = (await client.get("/api/v1/nodes/web", params={"at": str(g.T0 + 50)})).json()
    assert old["Metadata"]["Name"] == "web"
    assert (await client.get("/api/v1/nodes/web", params={"at": "garbage"})).status_code == 400


async def test_root_cause_resolves_ids_to_nodes_with_their_source_event(client: Any) -> None:
    body = (await client.get("/api/v1/nodes/db/rootcause")).json()
    assert body["State"] == "DOWN"
    assert [c["Node"]["Metadata"]["Name"] for c in body["RootCause"]] == ["mysql-pass"]
    assert body["RootCause"][0]["Source"] == {
        "topic": "topolog.resources",
        "partition": 0,
        "offset": 6,
    }


async def test_diff_lists_added_removed_and_changed(
    client: Any, backend: Any, graph_builders: Any
) -> None:
    g = graph_builders
    await backend.apply(
        g.changeset(
            g.T0 + 100,
            g.upsert(g.node("web", "pod", "web", "shop", state="DOWN")),
            g.upsert(g.node("api", "pod", "api", "shop")),
            g.delete("spy"),
        )
    )
    body = (await client.get("/api/v1/diff", params={"from": str(g.T0 + 50)})).json()
    nodes = body["Nodes"]
    assert [n["ID"] for n in nodes["Added"]] == ["api"]
    assert [n["ID"] for n in nodes["Removed"]] == ["spy"]
    assert [
        (c["Before"]["Metadata"]["State"], c["After"]["Metadata"]["State"])
        for c in nodes["Changed"]
    ] == [("UP", "DOWN")]
    # spy's edges went with it.
    assert {e["ID"] for e in body["Edges"]["Removed"]} == {"ns-other>spy", "worker>spy"}
