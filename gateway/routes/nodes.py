"""``/api/v1`` reads: a node or an edge by id, a node's root cause, a graph diff.

Flows in: ids and optional times (``at``; ``from``/``to`` for the diff).
Flows out: elements in Skydive's shape, ``rootcause.root_cause``'s answer, ``diff.diff``'s
answer — all limited to the caller's scope (an element outside it is a 404, as if absent).
"""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from gateway import diff, querying, rootcause, times
from gateway.deps import BackendDep, PrincipalDep, StateDep
from gateway.responses import JSON, error
from topolog.core.query import view

router = APIRouter(prefix="/api/v1", tags=["graph"])

At = Annotated[str | None, Query(description="A time: epoch s, RFC 3339, '-1h' or now")]


def _when(at: str | None, now: float) -> float | None:
    return times.parse(at, now=now) if at is not None else None


@router.get("/nodes/{node_id}", summary="A node by id (now, or at a time)")
async def get_node(
    node_id: str, state: StateDep, principal: PrincipalDep, at: At = None
) -> Response:
    return await _element(state, principal, node_id, at, edge=False)


@router.get("/edges/{edge_id}", summary="An edge by id (now, or at a time)")
async def get_edge(
    edge_id: str, state: StateDep, principal: PrincipalDep, at: At = None
) -> Response:
    return await _element(state, principal, edge_id, at, edge=True)


async def _element(
    state: StateDep, principal: PrincipalDep, element_id: str, at: str | None, *, edge: bool
) -> Response:
    now = time.time()
    try:
        when = _when(at, now)
    except ValueError as exc:
        return error(str(exc))

    def fetch(travel: view.TimeTravel) -> dict[str, object] | None:
        graph = querying.view_at(travel, when, now)
        return (graph.edges if edge else graph.nodes)([element_id])[0]

    try:
        found = await querying.in_thread(state, principal.scope, fetch)
    except querying.QueryFailed as exc:
        return error(exc.message, status=exc.status)
    if found is None:
        return error(f"no {'edge' if edge else 'node'} {element_id}", status=404)
    return JSON(found)


@router.get(
    "/nodes/{node_id}/rootcause",
    summary="Why a node is DOWN: its root causes, with the events that produced them",
)
async def get_root_cause(
    node_id: str, backend: BackendDep, principal: PrincipalDep, at: At = None
) -> Response:
    now = time.time()
    try:
        when = _when(at, now)
        at_ms = times.to_ms(when) if when is not None and when < now else None
        found = await rootcause.root_cause(backend, principal.scope, node_id, at_ms)
    except ValueError as exc:
        return error(str(exc))
    except LookupError as exc:  # outside the retained history
        return error(str(exc), status=410)
    if found is None:
        return error(f"no node {node_id}", status=404)
    return JSON(found)


@router.get("/diff", summary="What changed between two times (added/removed/changed)")
async def get_diff(
    state: StateDep,
    principal: PrincipalDep,
    since: Annotated[str, Query(alias="from", description="The earlier time")],
    until: Annotated[str, Query(alias="to", description="The later time (default now)")] = "now",
) -> Response:
    now = time.time()
    try:
        t0, t1 = times.parse(since, now=now), times.parse(until, now=now)
    except ValueError as exc:
        return error(str(exc))
    try:
        answer = await querying.in_thread(
            state,
            principal.scope,
            lambda travel: diff.diff(
                querying.view_at(travel, t0, now), querying.view_at(travel, t1, now)
            ),
        )
    except querying.QueryFailed as exc:
        return error(exc.message, status=exc.status)
    return JSON(answer)
