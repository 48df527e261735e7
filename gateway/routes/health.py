"""Probes and metrics: ``/healthz`` (the process answers), ``/readyz`` (the store
answers and the live graph is loaded), ``/metrics`` (Prometheus text format)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from gateway.deps import StateDep
from gateway.responses import JSON

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
    return JSON({"ok": True, "revision": state.hub.revision})


@router.get("/metrics", summary="Prometheus metrics")
async def metrics(state: StateDep) -> Response:
    state.metrics.revision.set(state.hub.revision)
    return Response(generate_latest(state.metrics.registry), media_type=CONTENT_TYPE_LATEST)
