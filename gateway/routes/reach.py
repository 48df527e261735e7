"""``GET /api/v1/reach``: may one pod open a connection to another, and which policies say so.

Flows in: ``from``/``to`` as ``namespace/name``, ``port``, ``protocol`` (TCP default),
optional ``at``. Flows out: ``reachability.to_json``'s verdict with the isolating and
allowing policies per side, computed on the caller's scoped graph at that time (a pod
outside the scope is a 404).
"""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from gateway import querying, reachability, times
from gateway.deps import PrincipalDep, StateDep
from gateway.responses import JSON, error
from topolog.core.netpol import ports
from topolog.core.netpol import reach as netpol_reach
from topolog.core.query import view

router = APIRouter(prefix="/api/v1", tags=["graph"])


@router.get("/reach", summary="Can pod A reach pod B on a port (NetworkPolicies)?")
async def get_reach(
    state: StateDep,
    principal: PrincipalDep,
    src: Annotated[str, Query(alias="from", description="Source pod, namespace/name")],
    dst: Annotated[str, Query(alias="to", description="Destination pod, namespace/name")],
    port: Annotated[int, Query(ge=1, le=65535)],
    protocol: Annotated[str, Query(description="TCP, UDP or SCTP")] = "TCP",
    at: Annotated[str | None, Query(description="A past time")] = None,
) -> Response:
    now = time.time()
    try:
        proto = ports.Protocol(protocol.upper())
        when = times.parse(at, now=now) if at is not None else None
    except ValueError as exc:
        return error(str(exc))

    def decide(travel: view.TimeTravel) -> tuple[netpol_reach.Verdict, list[str]]:
        return reachability.check(querying.view_at(travel, when, now), src, dst, port, proto)

    try:
        verdict, unresolved = await querying.in_thread(state, principal.scope, decide)
    except reachability.ReachError as exc:
        return error(str(exc), status=404 if exc.not_found else 400)
    except querying.QueryFailed as exc:
        return error(exc.message, status=exc.status)
    body = reachability.to_json(verdict, src=src, dst=dst, port=port, protocol=proto.value)
    body["unresolved"] = unresolved
    return JSON(body)
