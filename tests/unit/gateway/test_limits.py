"""Limits and safe defaults: body size, query length, loopback bind, closed CORS."""

from __future__ import annotations

from typing import Any

import orjson

from gateway.app import create_app
from gateway.limits import BodyLimit
from gateway.querying import MAX_QUERY_CHARS
from gateway.settings import GatewaySettings


async def test_a_declared_body_over_the_limit_is_a_413_before_it_is_read(client: Any) -> None:
    limit = GatewaySettings().max_body_bytes
    body = orjson.dumps({"GremlinQuery": "G.V()" + " " * limit})
    response = await client.post(
        "/api/topology", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert "body" in response.json()["error"]


async def test_a_query_over_the_length_limit_is_a_400_naming_the_limit(client: Any) -> None:
    text = "G.V().Has('Name', '" + "x" * MAX_QUERY_CHARS + "')"
    response = await client.post("/api/topology", json={"GremlinQuery": text})
    assert response.status_code == 400
    assert str(MAX_QUERY_CHARS) in response.json()["error"]


async def test_a_chunked_body_is_cut_at_the_limit() -> None:
    reached: list[bytes] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            reached.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    chunks = [b"x" * 60, b"x" * 60, b"x" * 60]
    messages = [
        {"type": "http.request", "body": c, "more_body": i < len(chunks) - 1}
        for i, c in enumerate(chunks)
    ]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0)

    async def send(message: Any) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/", "headers": []}
    await BodyLimit(app, max_bytes=100)(scope, receive, send)
    assert sent[0]["status"] == 413
    assert sum(len(b) for b in reached) <= 100


async def test_small_bodies_pass(client: Any) -> None:
    response = await client.post("/api/topology", json={"GremlinQuery": "G.V().Count()"})
    assert response.status_code == 200


def test_the_gateway_binds_to_loopback_unless_configured(monkeypatch: Any) -> None:
    monkeypatch.delenv("TOPOLOG_GATEWAY_HOST", raising=False)
    assert GatewaySettings(_env_file=None).host == "127.0.0.1"


def test_streams_per_token_are_limited_by_default() -> None:
    assert 0 < GatewaySettings(_env_file=None).sse_max_connections <= 64


async def test_cors_is_closed_by_default(client: Any) -> None:
    origin = {"Origin": "https://evil.example"}
    response = await client.get("/api/topology", headers=origin)
    assert "access-control-allow-origin" not in response.headers
    preflight = await client.options(
        "/api/topology",
        headers={**origin, "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in preflight.headers


async def test_cors_opens_only_to_configured_origins(client_for: Any, settings: Any) -> None:
    conf = settings.model_copy(update={"cors_origins": ["https://dash.example"]})
    async with client_for(conf) as c:
        allowed = await c.get("/api/topology", headers={"Origin": "https://dash.example"})
        other = await c.get("/api/topology", headers={"Origin": "https://evil.example"})
    assert allowed.headers["access-control-allow-origin"] == "https://dash.example"
    assert "access-control-allow-origin" not in other.headers


def test_create_app_installs_the_body_limit() -> None:
    app = create_app(GatewaySettings(max_body_bytes=10))
    assert any(getattr(m, "cls", None) is BodyLimit for m in app.user_middleware)


async def test_malformed_stream_parameters_are_a_400_not_a_422(client: Any, sse: Any) -> None:
    for path, headers in [
        ("/api/v1/stream?filter=G.V()" + "x" * 5000, {}),
        ("/api/v1/alerts?filter=G.V()" + "x" * 5000, {}),
        ("/api/v1/stream", {"Last-Event-ID": "1.x"}),
        ("/api/v1/stream", {"Last-Event-ID": "-1"}),
        ("/api/v1/stream?since=99999999999999999999999", {}),
    ]:
        stream = await sse(client.app, path, headers)
        assert stream.status == 400, (path[:40], headers)
        await stream.close()


async def test_other_routes_keep_fastapis_validation_answer(client: Any) -> None:
    response = await client.get("/api/v1/reach?from=shop/web&to=shop/db&port=70000")
    assert response.status_code == 422
