"""Skydive's topology API: ``GET /api/topology`` and ``POST /api/topology``.

Flows in: ``{"GremlinQuery": "..."}`` (POST) or nothing (GET; ``at`` is an extension).
Flows out: exactly Skydive's shapes — the whole graph as ``{"Nodes": [...], "Edges":
[...]}``, a query's result as a JSON array (V(), E(), Values…) or a number (Count()) — so
a script written for Skydive works unchanged. A bad query is a 400 with ``{"error",
"position"}``, never a 500.
"""

from __future__ import annotations

import time
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Body, Query, Request
from fastapi.responses import Response

from gateway import querying, scope, times
from gateway.deps import PrincipalDep, StateDep
from gateway.responses import JSON, error

router = APIRouter(tags=["topology (Skydive)"])

_QUERY_EXAMPLE = {"GremlinQuery": "G.V().Has('Type', 'pod', 'K8s.Namespace', 'default')"}


@router.get("/api/topology", summary="The whole graph, as Skydive returns it")
async def get_topology(
    state: StateDep,
    principal: PrincipalDep,
    at: Annotated[str | None, Query(description="A past time (like G.At's argument)")] = None,
) -> Response:
    now = time.time()
    try:
        when = times.parse(at, now=now) if at is not None else None
    except ValueError as exc:
        return error(str(exc))
    try:
        graph = await querying.in_thread(
            state,
            principal.scope,
            lambda travel: scope.topology(querying.view_at(travel, when, now)),
        )
    except querying.QueryFailed as exc:
        return error(exc.message, status=exc.status, position=exc.position)
    return JSON(graph)


@router.post(
    "/api/topology",
    summary="Run a Gremlin query (Skydive's dialect)",
    responses={400: {"description": "Bad query: {'error': ..., 'position': column}"}},
)
async def post_topology(
    request: Request,
    state: StateDep,
    principal: PrincipalDep,
    body: Annotated[Any, Body(examples=[_QUERY_EXAMPLE])] = None,
) -> Response:
    # The body is read by hand: Skydive answers 400 (not 422) to a malformed request.
    raw = await request.body()
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return error('expected a JSON body {"GremlinQuery": "..."}')
    text = data.get("GremlinQuery") if isinstance(data, dict) else None
    if not isinstance(text, str):
        return error('expected a JSON body {"GremlinQuery": "..."}')
    try:
        result = await querying.run_query(state, principal.scope, text)
    except querying.QueryFailed as exc:
        return error(exc.message, status=exc.status, position=exc.position)
    return JSON(result)
