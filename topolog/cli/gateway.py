"""``topolog gateway``: serve the HTTP API (Skydive-compatible queries, SSE, /api/v1).

Flows in: ``TOPOLOG_GATEWAY_*`` settings (bind address, tokens, limits), the store's Redis
(``TOPOLOG_REDIS_URL`` or the local platform). Flows out: uvicorn serving
``gateway.app.create_app()`` until interrupted.
"""

from __future__ import annotations

import typer

from topolog import tuning


def register(app: typer.Typer) -> None:
    app.command("gateway")(gateway_command)


def gateway_command(
    host: str = typer.Option(None, "--host", help="Bind address (default: settings, 127.0.0.1)."),
    port: int = typer.Option(None, "--port", help="Port (default: settings, 8082)."),
    log_level: str = typer.Option("info", "--log-level"),
) -> None:
    """Serve the gateway API (default http://127.0.0.1:8082)."""
    import uvicorn

    from gateway.app import create_app
    from gateway.settings import get_settings

    settings = get_settings()
    updates = {k: v for k, v in {"host": host, "port": port}.items() if v is not None}
    conf = settings.model_copy(update=updates)
    app = create_app(conf)
    # The hub's mirror is a large long-lived object graph that a churn replaces piece by
    # piece: without the clock one young collection a minute walked all of it, a pause
    # every stream waited for; streams and requests leave cyclic garbage, which the
    # clock reclaims now and then; while its collections find none it only freezes
    # (topolog.tuning).
    tuning.tune_gc(freeze_survivors=True, reclaim=True, quiet=True)
    uvicorn.run(app, host=conf.host, port=conf.port, log_level=log_level)
