"""Probes and metrics: ``/healthz`` (the process answers), ``/readyz`` (the store
answers and the live graph is loaded), ``/metrics`` (Prometheus text format)."""

from __future__ import annotations

import contextlib

from fastapi import APIRouter
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from gateway.deps import StateDep
from gateway.responses import JSON
from gateway.state import AppState

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Liveness")
async def healthz() -> Response:
    return JSON({"ok": True})


@router.get("/readyz", summary="Readiness: the store answers and the live graph is loaded")
async def readyz(state: StateDep) -> Response:
    try:
        await state.backend.ping()
    except Exception as exc:
        return JSON({"ok": False, "store": f"unreachable: {exc}"}, status_code=503)
    if not state.hub.ready:
        return JSON({"ok": False, "store": "ok", "hub": "loading"}, status_code=503)
    return JSON({"ok": True, "revision": await _revision(state)})


@router.get("/metrics", summary="Prometheus metrics")
async def metrics(state: StateDep) -> Response:
    state.metrics.deferred.set(state.hub.mirror.deferred)
    with contextlib.suppress(Exception):  # the store away: the last value stays
        state.metrics.revision.set(await _revision(state))
    return Response(generate_latest(state.metrics.registry), media_type=CONTENT_TYPE_LATEST)


async def _revision(state: AppState) -> int:
    """The live hub's revision; the store's while the hub is parked (no streams)."""
    return state.hub.revision if state.hub.live else await state.backend.revision()
