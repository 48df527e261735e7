"""Run a Gremlin query for a caller: scoped, in the thread pool, within limits.

Flows in: the query text, the caller's scope, the app state (backend, executor,
settings). Flows out: the evaluator's result (Skydive's shapes) or ``QueryFailed``
carrying the HTTP status and the ``{"error", "position"}`` body.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Callable
from typing import Any, TypeVar

from gateway.backend import FeedGap, OutsideHotWindow
from gateway.scope import Scope, scoped
from gateway.state import AppState
from topolog.core import query
from topolog.core.query import view

T = TypeVar("T")

#: Longest query text accepted (the grammar has no use for more).
MAX_QUERY_CHARS = 64 * 1024


class QueryFailed(Exception):
    def __init__(self, message: str, *, status: int = 400, position: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.position = position


def limits(state: AppState) -> query.Limits:
    return query.Limits(max_results=state.settings.max_results, max_steps=state.settings.max_steps)


async def in_thread(state: AppState, scope: Scope, work: Callable[[view.TimeTravel], T]) -> T:
    """Run ``work(travel)`` on a worker thread with the scoped time travel of the store."""
    travel = scoped(state.backend.travel(), scope)
    loop = asyncio.get_running_loop()
    future = loop.run_in_executor(state.executor, functools.partial(work, travel))
    try:
        return await asyncio.wait_for(future, state.settings.query_timeout_s)
    except TimeoutError as exc:
        state.metrics.queries.labels("timeout").inc()
        raise QueryFailed(
            f"the query took longer than {state.settings.query_timeout_s:g} s; narrow it"
        ) from exc
    except query.QueryError as exc:
        state.metrics.queries.labels("error").inc()
        raise QueryFailed(exc.message, position=exc.position) from exc
    except (OutsideHotWindow, FeedGap) as exc:
        state.metrics.queries.labels("error").inc()
        raise QueryFailed(f"{exc}; that time is no longer kept", status=410) from exc
    except (ValueError, RecursionError) as exc:
        # A query the grammar accepted but the evaluator cannot serve (e.g. too deep).
        state.metrics.queries.labels("error").inc()
        raise QueryFailed(f"the query cannot be evaluated: {exc}") from exc


async def run_query(state: AppState, scope: Scope, text: str) -> Any:
    if len(text) > MAX_QUERY_CHARS:
        raise QueryFailed(f"the query is longer than {MAX_QUERY_CHARS} characters")
    now = time.time()
    result = await in_thread(
        state, scope, lambda travel: query.run(text, source=travel, now=now, limits=limits(state))
    )
    state.metrics.queries.labels("ok").inc()
    return result


def view_at(travel: view.TimeTravel, at: float | None, now: float) -> view.GraphView:
    """The live view, or the one at ``at`` (the future and the present are live)."""
    return travel.live() if at is None or at >= now else travel.view_at(at)
