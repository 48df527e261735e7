"""``topolog producer``: watch the cluster and publish every change to the resources topic.

Flows in: settings (``TOPOLOG_CLUSTER_NAME``, endpoints, topic names; the local platform
when no endpoint is set) and options naming kinds, custom resources and a metrics port.
Flows out: runs ``producers.running`` until interrupted; JSON logs on stderr; Prometheus
metrics on ``--metrics-port``.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Coroutine
from typing import Any

import typer

from topolog.settings import get_settings


def register(app: typer.Typer) -> None:
    app.command("producer")(producer_command)


def producer_command(
    kinds: list[str] = typer.Option(
        [], "--kind", help="Watch only these kinds (repeatable; default: every built-in kind)."
    ),
    crds: list[str] = typer.Option(
        [],
        "--crd",
        envvar="TOPOLOG_CRDS",
        help="Also watch this CustomResourceDefinition's kind (plural.group; repeatable).",
    ),
    cluster: str | None = typer.Option(
        None, "--cluster", help="Cluster name carried by every event (default: settings)."
    ),
    metrics_port: int = typer.Option(
        9464, "--metrics-port", help="Serve Prometheus metrics here (0 = off)."
    ),
    partitions: int = typer.Option(8, help="Partitions of topics created at start."),
    log_level: str = typer.Option("INFO", "--log-level"),
) -> None:
    """Watch every resource kind (list, then watch, reconcile on 410) into Kafka."""
    from prometheus_client import start_http_server

    from producers import endpoints, logs, running
    from topolog.core import resources

    logs.configure(log_level)
    settings = get_settings()
    if cluster:
        settings = settings.model_copy(update={"cluster_name": cluster})
    try:
        selected = resources.select(kinds) if kinds else list(resources.BUILTIN)
        options = running.Options(
            bootstrap=endpoints.kafka(settings),
            kubeconfig=endpoints.kubeconfig(settings),
            kinds=selected,
            crds=tuple(crds),
            partitions=partitions,
        )
    except (resources.ResourceError, endpoints.EndpointError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=2) from exc
    if metrics_port:
        start_http_server(metrics_port)
    asyncio.run(_until_signal(running.run(settings, options)))


async def _until_signal(main: Coroutine[Any, Any, None]) -> None:
    """Run ``main``; SIGTERM/SIGINT cancel it, so pending records are flushed on the way out."""
    task = asyncio.ensure_future(main)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, task.cancel)
    with contextlib.suppress(asyncio.CancelledError):
        await task
