"""``GET /api/v1/alerts``: node state transitions (UP ⇄ DOWN) with their root cause, as SSE.

Flows in: the same parameters as ``/api/v1/stream`` (``filter``, ``since``,
``Last-Event-ID``). Flows out: a ``Sync`` of the DOWN nodes in view, then ``Alert``
events (``topolog.core.derive.alerts`` shape plus ``rootCauseNodes`` and ``node``), each
with an id in its own sequence; resume works as on ``/api/v1/stream``.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response
from sse_starlette import EventSourceResponse

from gateway.deps import PrincipalDep, StateDep
from gateway.routes.stream import Filter, LastEventId, Since, open_stream

router = APIRouter(prefix="/api/v1", tags=["streams"])


@router.get(
    "/alerts",
    summary="Node state changes with root cause, as Server-Sent Events",
    response_class=EventSourceResponse,
)
async def alerts(
    state: StateDep,
    principal: PrincipalDep,
    filter: Filter = None,
    since: Since = None,
    last_event_id: LastEventId = None,
) -> Response:
    return await open_stream(
        state,
        principal,
        filter_text=filter,
        since=since,
        last_event_id=last_event_id,
        alerts_only=True,
        endpoint="alerts",
    )
