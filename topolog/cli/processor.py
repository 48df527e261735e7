"""``topolog processor``: run one processors worker (faust) in the foreground.

Flows in: settings (``TOPOLOG_KAFKA_BOOTSTRAP`` — the local platform's Kafka when unset —
and the topic names) and the options below.
Flows out: a faust worker of ``processors.app`` consuming the resources topic (its route
loop, consumer group ``<app-id>.route``) and the cluster topic (the derive agent, group
``<app-id>``), producing graph changesets, alerts and dead letters until interrupted
(Ctrl-C/SIGTERM). Start more with the same ``--app-id`` to scale out (docs/processors.md).
"""

from __future__ import annotations

import asyncio

import typer

from topolog import compiled, tuning
from topolog.settings import Settings, get_settings


def register(app: typer.Typer) -> None:
    app.command("processor")(processor_command)


def _bootstrap(settings: Settings) -> str:
    if settings.kafka_bootstrap:
        return settings.kafka_bootstrap
    from topolog.platform import local

    eps = local.endpoints()
    if eps is None:
        typer.echo(
            "error: no TOPOLOG_KAFKA_BOOTSTRAP and no local platform (topolog dev up)", err=True
        )
        raise typer.Exit(code=2)
    return eps.kafka


def processor_command(
    app_id: str = typer.Option(
        "topolog-processors",
        "--app-id",
        envvar="TOPOLOG_PROCESSOR_APP_ID",
        help="App id: the consumer groups (<app-id>, <app-id>.route) and the cluster topic.",
    ),
    route_batch: int = typer.Option(2000, "--route-batch", help="Resource records per batch."),
    derive_batch: int = typer.Option(
        32, "--derive-batch", help="Cluster batches per batch (derived as one, in kind order)."
    ),
    within: float = typer.Option(0.001, "--within", help="Longest wait (s) to fill a batch."),
    partitions: int = typer.Option(8, "--partitions", help="Cluster-topic partitions (new)."),
    resolution: float = typer.Option(1.0, "--resolution", help="Changeset time resolution (s)."),
    session_timeout: float = typer.Option(
        10.0, "--session-timeout", help="Seconds before a dead worker's partitions move."
    ),
    metrics_port: int | None = typer.Option(None, "--metrics-port", help="Serve Prometheus."),
    log_level: str = typer.Option("info", "--log-level"),
) -> None:
    """Derive the graph: resources topic in; graph changesets, alerts, dead letters out."""
    import faust

    from processors import app as processors_app

    settings = get_settings()
    bootstrap = _bootstrap(settings)
    options = processors_app.Options(
        app_id=app_id,
        route_batch=route_batch,
        derive_batch=derive_batch,
        within=within,
        partitions=partitions,
        resolution=resolution,
        session_timeout=session_timeout,
    )
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    loop.run_until_complete(
        processors_app.ensure_topics(settings, bootstrap=bootstrap, options=options)
    )
    if metrics_port is not None:
        import prometheus_client

        prometheus_client.start_http_server(metrics_port)
    processor = processors_app.Processor(settings, bootstrap=bootstrap, options=options)
    typer.echo(
        "processor: domain modules "
        + ("compiled (topolog.compiled)" if compiled.active() else "from source"),
        err=True,
    )
    tuning.tune_gc(freeze_survivors=True, quiet=True)
    worker = faust.Worker(processor.app, loglevel=log_level, loop=loop)
    # faust's start-up spinner sets the root logger to DEBUG for the worker's lifetime
    # (a handler at DEBUG drives it): every debug call of faust, aiokafka and mode then
    # builds a LogRecord (~1 % of the worker's CPU). Without it the level is --log-level.
    worker.spinner = None
    worker.execute_from_commandline()
