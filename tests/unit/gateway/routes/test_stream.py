"""SSE: sync, live events with ids, resume with Last-Event-ID, replay since, resync."""

from __future__ import annotations

import asyncio
from typing import Any

from gateway import events
from gateway.memory_backend import MemoryBackend
from gateway.settings import GatewaySettings
from store.history import History


def ids(events: list[Any]) -> list[str]:
    return [e.at for e in events]


async def test_stream_starts_with_a_sync_of_the_graph_then_live_changes(
    client: Any, backend: MemoryBackend, sse: Any, graph_builders: Any
) -> None:
    g = graph_builders
    stream = await sse(client.app, "/api/v1/stream")
    assert stream.status == 200
    assert stream.headers["content-type"].startswith("text/event-stream")
    sync = await stream.next()
    assert sync.event == "Sync" and sync.at == "1"
    assert len(sync.data["Nodes"]) == 9 and len(sync.data["Edges"]) == 14
    await backend.apply(g.changeset(g.T0 + 10, g.upsert(g.node("api", "pod", "api", "shop"))))
    added = await stream.next()
    assert (added.event, added.at, added.data["ID"]) == ("NodeAdded", "2.0", "api")
    await stream.close()


async def test_filter_limits_events_and_nodes_bring_their_edges(
    client: Any, backend: MemoryBackend, sse: Any, graph_builders: Any
) -> None:
    g = graph_builders
    stream = await sse(client.app, "/api/v1/stream?filter=G.V().Has('K8s.Namespace','shop')")
    sync = await stream.next()
    assert {n["ID"] for n in sync.data["Nodes"]} == {"web", "db", "sec-pass", "np-db"}
    # Edges only between visible nodes.
    assert {(e["Parent"], e["Child"]) for e in sync.data["Edges"]} == {
        ("web", "sec-pass"),
        ("db", "sec-pass"),
        ("np-db", "db"),
        ("np-db", "web"),
    }
    # spy moves into shop: it enters the view with no edge to a visible node.
    await backend.apply(g.changeset(g.T0 + 10, g.upsert(g.node("spy", "pod", "spy", "shop"))))
    # an unrelated change outside the filter makes no event; then web leaves shop.
    await backend.apply(g.changeset(g.T0 + 11, g.upsert(g.node("worker", "node", "worker2"))))
    await backend.apply(g.changeset(g.T0 + 12, g.upsert(g.node("web", "pod", "web", "other"))))
    events = await stream.take(4)
    assert [(e.event, e.at) for e in events] == [
        ("NodeAdded", "2.0"),
        ("EdgeDeleted", "4.0"),
        ("EdgeDeleted", "4.1"),
        ("NodeDeleted", "4.2"),
    ]
    assert {e.data["ID"] for e in events[1:3]} == {"web>sec-pass", "np-db>web:end"}
    await stream.close()


async def test_reconnecting_with_last_event_id_continues_without_gap_or_duplicate(
    client: Any, backend: MemoryBackend, sse: Any, graph_builders: Any
) -> None:
    g = graph_builders
    first = await sse(client.app, "/api/v1/stream")
    await first.next()  # sync at revision 1
    await backend.apply(
        g.changeset(
            g.T0 + 10,
            g.upsert(g.node("a", "pod", "a", "shop")),
            g.upsert(g.node("b", "pod", "b", "shop")),
            g.upsert(g.node("c", "pod", "c", "shop")),
        )
    )
    seen = await first.take(2)
    assert ids(seen) == ["2.0", "2.1"]
    await first.close()  # forced disconnect in the middle of revision 2
    await backend.apply(g.changeset(g.T0 + 20, g.delete("a")))
    await backend.apply(g.changeset(g.T0 + 30, g.upsert(g.node("d", "pod", "d", "shop"))))
    second = await sse(client.app, "/api/v1/stream", {"Last-Event-ID": seen[-1].id})
    rest = await second.take(3)
    assert [(e.event, e.at, e.data["ID"]) for e in rest] == [
        ("NodeAdded", "2.2", "c"),
        ("NodeDeleted", "3.0", "a"),
        ("NodeAdded", "4.0", "d"),
    ]
    # Live changes keep coming after the replayed ones.
    await backend.apply(g.changeset(g.T0 + 40, g.delete("d")))
    live = await second.next()
    assert (live.event, live.at) == ("NodeDeleted", "5.0")
    await second.close()


async def test_since_replays_from_the_graph_at_that_time(
    client: Any, backend: MemoryBackend, sse: Any, graph_builders: Any
) -> None:
    g = graph_builders
    await backend.apply(g.changeset(g.T0 + 10, g.upsert(g.node("a", "pod", "a", "shop"))))
    await backend.apply(g.changeset(g.T0 + 20, g.upsert(g.node("b", "pod", "b", "shop"))))
    stream = await sse(client.app, f"/api/v1/stream?since={g.T0 + 15}")
    sync = await stream.next()
    assert sync.at == "2"
    assert "a" in {n["ID"] for n in sync.data["Nodes"]}
    assert "b" not in {n["ID"] for n in sync.data["Nodes"]}
    replayed = await stream.next()
    assert (replayed.event, replayed.at, replayed.data["ID"]) == ("NodeAdded", "3.0", "b")
    await stream.close()


async def test_streams_after_the_live_reader_parked_resume_and_sync_without_gap(
    client_for: Any, settings: Any, backend: MemoryBackend, sse: Any, graph_builders: Any
) -> None:
    # With no stream open the hub stops following the feed and drops its mirror; the
    # next stream loads the graph again: same Sync, same resume, same live changes.
    g = graph_builders
    async with client_for(settings.model_copy(update={"feed_idle_s": 0.05})) as c:
        hub = c.app.state.gateway.hub
        first = await sse(c.app, "/api/v1/stream")
        assert (await first.next()).at == "1"
        await backend.apply(
            g.changeset(
                g.T0 + 10,
                g.upsert(g.node("a", "pod", "a", "shop")),
                g.upsert(g.node("b", "pod", "b", "shop")),
            )
        )
        seen = await first.take(1)
        assert ids(seen) == ["2.0"]
        await first.close()
        await until(lambda: not hub.live)
        await backend.apply(g.changeset(g.T0 + 20, g.delete("a")))
        ready = await c.get("/readyz")
        assert ready.json() == {"ok": True, "revision": 3}  # the store's, while parked
        resumed = await sse(c.app, "/api/v1/stream", {"Last-Event-ID": seen[-1].id})
        assert [(e.event, e.at, e.data["ID"]) for e in await resumed.take(2)] == [
            ("NodeAdded", "2.1", "b"),
            ("NodeDeleted", "3.0", "a"),
        ]
        fresh = await sse(c.app, "/api/v1/stream")
        sync = await fresh.next()
        assert sync.event == "Sync" and sync.at == "3"
        assert {"b"} <= {n["ID"] for n in sync.data["Nodes"]}
        assert "a" not in {n["ID"] for n in sync.data["Nodes"]}
        await backend.apply(g.changeset(g.T0 + 30, g.upsert(g.node("c", "pod", "c", "shop"))))
        for stream in (resumed, fresh):
            live = await stream.next()
            assert (live.event, live.at, live.data["ID"]) == ("NodeAdded", "4.0", "c")
            await stream.close()


async def until(check: Any) -> None:
    for _ in range(500):
        if check():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("timed out")


async def test_a_slow_client_is_told_to_resync_and_dropped(
    client_for: Any, settings: Any, backend: MemoryBackend, sse: Any, graph_builders: Any
) -> None:
    g = graph_builders
    async with client_for(settings.model_copy(update={"sse_queue_size": 2})) as c:
        stream = await sse(c.app, "/api/v1/stream")
        for i in range(4):
            await backend.apply(
                g.changeset(g.T0 + 10 + i, g.upsert(g.node(f"n{i}", "pod", "x", "shop")))
            )
        hub = c.app.state.gateway.hub
        for _ in range(100):
            if hub.revision == 5:
                break
            await __import__("asyncio").sleep(0.01)
        events = await stream.take(10)
        assert events[-1].event == "Resync"
        assert stream.ended
        assert hub.subscribers == 0


async def test_malformed_parameters_are_a_400(client: Any, sse: Any) -> None:
    for path, headers in [
        ("/api/v1/stream?filter=G.V().Has(", {}),
        ("/api/v1/stream?filter=G.V().Out()", {}),
        ("/api/v1/stream?since=yesterday-ish", {}),
        ("/api/v1/stream", {"Last-Event-ID": "abc"}),
        ("/api/v1/stream", {"Last-Event-ID": "99"}),
        ("/api/v1/stream", {"Last-Event-ID": "zzzzzzzz:1"}),
        ("/api/v1/stream", {"Last-Event-ID": "5f3a09c1:"}),
    ]:
        stream = await sse(client.app, path, headers)
        assert stream.status == 400, (path, headers)
        await stream.close()


async def test_a_trimmed_resume_point_is_gone(
    client: Any, backend: MemoryBackend, sse: Any, graph_builders: Any
) -> None:
    g = graph_builders
    for i in range(3):
        await backend.apply(
            g.changeset(g.T0 + 10 + i, g.upsert(g.node(f"n{i}", "pod", "x", "shop")))
        )
    backend.trim_feed(3)
    stream = await sse(client.app, "/api/v1/stream", {"Last-Event-ID": "1"})
    assert stream.status == 410
    await stream.close()


async def test_alerts_stream_state_changes_with_root_cause(
    client: Any, backend: MemoryBackend, sse: Any, graph_builders: Any
) -> None:
    g = graph_builders
    stream = await sse(client.app, "/api/v1/alerts")
    sync = await stream.next()
    assert {n["ID"] for n in sync.data["Nodes"]} == {"db", "sec-pass"}  # the DOWN ones
    await backend.apply(
        g.changeset(
            g.T0 + 10,
            g.upsert(g.node("web", "pod", "web", "shop", state="DOWN", root_cause=["sec-pass"])),
            g.upsert(g.node("spy", "pod", "spy", "other", app="changed")),  # no transition
        )
    )
    alert = await stream.next()
    assert alert.event == "Alert" and alert.at == "2.0"
    assert alert.data["id"] == "web"
    assert (alert.data["oldState"], alert.data["newState"]) == ("UP", "DOWN")
    assert alert.data["rootCause"] == ["sec-pass"]
    assert alert.data["rootCauseNodes"][0]["Metadata"]["Name"] == "mysql-pass"
    await stream.close()


async def test_requests_and_streams_are_counted_by_route_template(client: Any, sse: Any) -> None:
    metrics = client.app.state.gateway.metrics
    stream = await sse(client.app, "/api/v1/stream?filter=G.V().Has('K8s.Namespace','shop')")
    await stream.next()
    assert metrics.streams.labels("stream")._value.get() == 1
    await stream.close()
    assert (await client.get("/healthz")).status_code == 200
    sample = metrics.registry.get_sample_value
    labels = {"method": "GET", "status": "200"}
    assert sample("topolog_gateway_requests_total", {"route": "/api/v1/stream", **labels}) == 1
    assert sample("topolog_gateway_requests_total", {"route": "/healthz", **labels}) == 1
    assert sample("topolog_gateway_request_seconds_count", {"route": "/api/v1/stream"}) == 1
    assert metrics.streams.labels("stream")._value.get() == 0


async def _resume_point_then_rebuild(
    client: Any, backend: MemoryBackend, sse: Any, g: Any, *, same_history: bool
) -> Any:
    """A stream sees revision 2 ("<history>:2.0") and disconnects; the projection is then
    rebuilt — from the same changesets, or from others reaching the same revision
    number — and the hub follows it. Returns the event seen."""
    hub = client.app.state.gateway.hub
    first = await sse(client.app, "/api/v1/stream")
    await first.next()
    added = g.changeset(g.T0 + 10, g.upsert(g.node("a", "pod", "a", "shop")))
    await backend.apply(added)
    (seen,) = await first.take(1)
    await first.close()
    assert (seen.at, seen.history) == ("2.0", events.history_tag(backend.epoch))
    base = g.changeset(g.T0, *g.base_changes())
    rebuilt = History()
    rebuilt.apply(base)
    if same_history:
        rebuilt.apply(added)
    else:
        rebuilt.apply(g.changeset(g.T0 + 5, g.upsert(g.node("x", "pod", "x", "other"))))
    await backend.rebuild(rebuilt)
    await until(lambda: hub.epoch == backend.epoch and hub.live)
    return seen


async def test_an_event_id_from_before_a_rebuild_of_another_history_is_gone(
    client: Any, backend: MemoryBackend, sse: Any, graph_builders: Any
) -> None:
    # Revision 2 is another change in the rebuilt projection: continuing after "2.0"
    # would show the client a graph it never had. It is told to start over instead.
    seen = await _resume_point_then_rebuild(
        client, backend, sse, graph_builders, same_history=False
    )
    resumed = await sse(client.app, "/api/v1/stream", {"Last-Event-ID": seen.id})
    assert resumed.status == 410
    assert b"another history" in resumed.body
    await resumed.close()
    fresh = await sse(client.app, "/api/v1/stream")
    sync = await fresh.next()
    assert (sync.event, sync.at, sync.history) == (
        "Sync",
        "2",
        events.history_tag(backend.epoch),
    )
    assert "x" in {n["ID"] for n in sync.data["Nodes"]}
    assert "a" not in {n["ID"] for n in sync.data["Nodes"]}
    await fresh.close()


async def test_an_event_id_from_before_a_rebuild_of_the_same_history_still_resumes(
    client: Any, backend: MemoryBackend, sse: Any, graph_builders: Any
) -> None:
    g = graph_builders
    seen = await _resume_point_then_rebuild(client, backend, sse, g, same_history=True)
    await backend.apply(g.changeset(g.T0 + 20, g.delete("a")))
    resumed = await sse(client.app, "/api/v1/stream", {"Last-Event-ID": seen.id})
    assert resumed.status == 200
    (deleted,) = await resumed.take(1)
    assert (deleted.event, deleted.at, deleted.data["ID"]) == ("NodeDeleted", "3.0", "a")
    assert deleted.history == events.history_tag(backend.epoch) != seen.history
    await resumed.close()


async def test_an_event_id_without_a_history_still_resumes(
    client: Any, backend: MemoryBackend, sse: Any, graph_builders: Any
) -> None:
    # Ids from a gateway before histories were added: "<revision>.<index>".
    g = graph_builders
    await backend.apply(
        g.changeset(
            g.T0 + 10,
            g.upsert(g.node("a", "pod", "a", "shop")),
            g.upsert(g.node("b", "pod", "b", "shop")),
        )
    )
    resumed = await sse(client.app, "/api/v1/stream", {"Last-Event-ID": "2.0"})
    (rest,) = await resumed.take(1)
    assert (rest.event, rest.at, rest.data["ID"]) == ("NodeAdded", "2.1", "b")
    await resumed.close()


async def test_versions_followed_without_a_stream_are_counted_until_read(
    client_for: Any, backend: MemoryBackend, sse: Any, graph_builders: Any
) -> None:
    conf = GatewaySettings(feed_block_s=0.05, sse_ping_s=60, feed_settle_quiet_s=60)
    async with client_for(conf) as client:
        await _deferred_then_read(client, backend, sse, graph_builders)


async def _deferred_then_read(client: Any, backend: MemoryBackend, sse: Any, g: Any) -> None:
    hub = client.app.state.gateway.hub
    await backend.apply(g.changeset(g.T0 + 10, g.upsert(g.node("api", "pod", "api", "shop"))))
    for _ in range(100):
        if hub.revision == backend.history.revision:
            break
        await asyncio.sleep(0.01)
    sample = client.app.state.gateway.metrics.registry.get_sample_value
    assert (await client.get("/metrics")).status_code == 200
    assert sample("topolog_gateway_deferred_versions") == 1
    stream = await sse(client.app, "/api/v1/stream")  # waits for them: 0 after
    sync = await stream.next()
    assert "api" in {n["ID"] for n in sync.data["Nodes"]}
    await stream.close()
    assert (await client.get("/metrics")).status_code == 200
    assert sample("topolog_gateway_deferred_versions") == 0
