"""``topolog query|rootcause|at|watch`` against a gateway served on loopback (in memory)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import orjson
import pytest
import uvicorn
from typer.testing import CliRunner

from gateway.app import create_app
from gateway.memory_backend import MemoryBackend
from gateway.settings import GatewaySettings
from topolog.cli import query as query_cli
from topolog.cli.main import app
from topolog.core import graph

T0 = 1_700_000_000.0


def _node(uid: str, kind: str, name: str, ns: str, **extra: object) -> graph.Change:
    metadata = {"Type": kind, "Name": name, "State": "UP", "K8s": {"Name": name, "Namespace": ns}}
    metadata.update(extra)
    node = graph.Node(id=uid, metadata=metadata)
    return graph.Change(graph.Op.NODE_UPSERT, uid, node=node)


def _edge(parent: str, child: str) -> graph.Change:
    edge = graph.Edge(
        id=f"{parent}>{child}", parent=parent, child=child, metadata={"RelationType": "pod"}
    )
    return graph.Change(graph.Op.EDGE_UPSERT, edge.id, edge=edge)


@pytest.fixture(scope="module")
def gateway_url() -> Iterator[str]:
    backend = MemoryBackend()
    backend.history.apply(
        graph.ChangeSet(
            time=T0,
            changes=[
                _node("s", "secret", "mysql-pass", "default", State="DOWN"),
                _node("p1", "pod", "wordpress-1", "default", State="DOWN", RootCause=["s"]),
                _node("p2", "pod", "mysql-0", "default"),
                _edge("p1", "s"),
                _edge("p2", "s"),
            ],
        )
    )
    backend.history.apply(
        graph.ChangeSet(time=T0 + 100, changes=[_node("p3", "pod", "late", "default")])
    )
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = GatewaySettings(feed_block_s=0.05, port=port)
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings, backend=backend), port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


runner = CliRunner()


def test_query_prints_the_json_array_for_jq(gateway_url: str) -> None:
    seed = "G.V().Has('Name','mysql-pass').In().Has('Type','pod')"
    result = runner.invoke(app, ["query", seed, "--url", gateway_url])
    assert result.exit_code == 0, result.output
    names = sorted(n["Metadata"]["Name"] for n in orjson.loads(result.stdout))
    assert names == ["mysql-0", "wordpress-1"]


def test_query_at_a_past_time(gateway_url: str) -> None:
    now = runner.invoke(app, ["query", "G.V().Count()", "--url", gateway_url])
    before = runner.invoke(
        app, ["query", "G.V().Count()", "--at", str(T0 + 50), "--url", gateway_url]
    )
    assert (orjson.loads(now.stdout), orjson.loads(before.stdout)) == (4, 3)


def test_bad_query_goes_to_stderr_with_a_nonzero_exit(gateway_url: str) -> None:
    result = runner.invoke(app, ["query", "G.V().Has(", "--url", gateway_url])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "400" in result.stderr and "column" in result.stderr


def test_rootcause_and_at(gateway_url: str) -> None:
    cause = orjson.loads(runner.invoke(app, ["rootcause", "p1", "--url", gateway_url]).stdout)
    assert [c["Node"]["Metadata"]["Name"] for c in cause["RootCause"]] == ["mysql-pass"]
    graph_then = orjson.loads(runner.invoke(app, ["at", str(T0 + 50), "--url", gateway_url]).stdout)
    assert sorted(n["ID"] for n in graph_then["Nodes"]) == ["p1", "p2", "s"]


def test_sse_lines_parse_into_events_skipping_heartbeats() -> None:
    lines = [": ping", "event: NodeAdded", "id: 3.0", 'data: {"ID": "x"}', "", ": ping", ""]
    assert list(query_cli.parse_sse(iter(lines))) == [("NodeAdded", "3.0", {"ID": "x"})]


def test_live_reach_needs_both_pods_and_a_port() -> None:
    result = runner.invoke(app, ["reach", "--from", "default/a", "--port", "80"])
    assert result.exit_code == 2
    assert "--to" in result.output


def test_live_reach_of_an_unknown_pod_is_an_error_answer(gateway_url: str) -> None:
    result = runner.invoke(
        app,
        [
            "reach",
            "--from",
            "default/nope",
            "--to",
            "default/nada",
            "--port",
            "80",
            "--url",
            gateway_url,
        ],
    )
    assert result.exit_code == 1
    assert "404" in result.output


def _sse(*events: tuple[str, str, object]) -> bytes:
    return b"".join(
        f"id: {event_id}\r\nevent: {name}\r\ndata: ".encode() + orjson.dumps(data) + b"\r\n\r\n"
        for name, event_id, data in events
    )


def test_watch_starts_over_when_its_resume_point_is_gone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The stream ends; the reconnect with Last-Event-ID is refused with a 410 (the
    # projection was rebuilt with another history, or the point was trimmed): watch
    # goes on from a fresh Sync instead of exiting.
    import httpx

    asked: list[str | None] = []
    sync = {"Nodes": [], "Edges": [], "Revision": 1}
    added = {"ID": "a", "Metadata": {"Type": "pod", "Name": "a"}}

    def gateway(request: httpx.Request) -> httpx.Response:
        asked.append(request.headers.get("Last-Event-ID"))
        sse_headers = {"content-type": "text/event-stream"}
        if len(asked) == 1:
            body = _sse(("Sync", "aaaaaaaa:1", sync), ("NodeAdded", "aaaaaaaa:2.0", added))
            return httpx.Response(200, headers=sse_headers, content=body)
        if len(asked) == 2:
            return httpx.Response(410, json={"error": "event id is from another history"})
        if len(asked) == 3:
            return httpx.Response(
                200, headers=sse_headers, content=_sse(("Sync", "bbbbbbbb:1", sync))
            )
        raise KeyboardInterrupt  # the user stops watching

    def client(url: str | None, token: str | None, **_: object) -> httpx.Client:
        return httpx.Client(base_url="http://gateway", transport=httpx.MockTransport(gateway))

    monkeypatch.setattr(query_cli, "_client", client)
    result = CliRunner().invoke(app, ["watch", "--json"])
    assert result.exit_code == 0, result.output
    assert asked == [None, "aaaaaaaa:2.0", None, "bbbbbbbb:1"]
    printed = [orjson.loads(line) for line in result.stdout.splitlines()]
    assert [(e["event"], e["id"]) for e in printed] == [
        ("Sync", "aaaaaaaa:1"),
        ("NodeAdded", "aaaaaaaa:2.0"),
        ("Sync", "bbbbbbbb:1"),
    ]
    assert "starting over" in result.stderr
