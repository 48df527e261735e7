"""``topolog simulate``: a seeded synthetic cluster, to Kafka (fast) or a control plane (real).

Flows in: ``--seed``, ``--pods`` (about 2.5 objects per pod), ``--churn-rate`` churn steps
per second for ``--duration`` seconds, ``--to kafka|cluster``.
Flows out: ``producers.simulation`` publishes the events or creates the objects; rich
progress bars on stderr; a summary line on stdout.
"""

from __future__ import annotations

import asyncio
import enum
import time

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from topolog.settings import get_settings


class Target(enum.StrEnum):
    KAFKA = "kafka"
    CLUSTER = "cluster"


def register(app: typer.Typer) -> None:
    app.command("simulate")(simulate_command)


def simulate_command(
    pods: int = typer.Option(1000, "--pods", min=1, help="Pods in the synthetic cluster."),
    seed: int = typer.Option(1, "--seed", help="Same seed, same cluster and churn."),
    to: Target = typer.Option(Target.KAFKA, "--to", help="kafka: publish events; cluster: API."),
    churn_rate: float = typer.Option(
        10.0, "--churn-rate", min=0, help="Churn steps per second (0: as fast as possible)."
    ),
    duration: float = typer.Option(
        0.0, "--duration", min=0, help="Seconds of churn after the initial cluster (0: none)."
    ),
    cluster: str | None = typer.Option(None, "--cluster", help="Cluster name (kafka mode)."),
) -> None:
    """Generate a synthetic cluster with churn (rolling updates, crash loops, relabels, deletes)."""
    from producers import endpoints, kube, simulation
    from topolog.core import simulate

    settings = get_settings()
    if cluster:
        settings = settings.model_copy(update={"cluster_name": cluster})
    console = Console(stderr=True)
    try:
        bootstrap = endpoints.kafka(settings) if to is Target.KAFKA else ""
        kubeconfig = endpoints.kubeconfig(settings) if to is Target.CLUSTER else None
    except endpoints.EndpointError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=2) from exc

    sim = simulate.Simulator(seed=seed, pods=pods, now=time.time())
    with console.status(f"generating a cluster of {pods} pods (seed {seed})"):
        initial = sim.initial()
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )
    began = time.monotonic()
    with progress:
        if to is Target.KAFKA:
            first = progress.add_task("initial events", total=len(initial))
        else:
            roots = sum(1 for e in initial if simulate.for_cluster(e.object) is not None)
            first = progress.add_task("objects created", total=roots)
        churn = progress.add_task("churn events", total=None, visible=duration > 0)

        def on_initial(n: int) -> None:
            progress.advance(first, n)

        def on_churn(n: int) -> None:
            progress.advance(churn, n)

        if to is Target.KAFKA:
            made, churned = asyncio.run(
                simulation.to_kafka(
                    sim,
                    initial,
                    settings=settings,
                    bootstrap=bootstrap,
                    churn_rate=churn_rate,
                    duration=duration,
                    on_initial=on_initial,
                    on_churn=on_churn,
                )
            )
        else:

            async def run_cluster() -> tuple[int, int]:
                async with kube.connect(kubeconfig) as client:
                    return await simulation.to_cluster(
                        sim,
                        initial,
                        client=client,
                        churn_rate=churn_rate,
                        duration=duration,
                        on_initial=on_initial,
                        on_churn=on_churn,
                    )

            made, churned = asyncio.run(run_cluster())
    elapsed = time.monotonic() - began
    what = "events published" if to is Target.KAFKA else "objects created"
    typer.echo(f"{made} {what}, {churned} churn events, in {elapsed:.1f}s")
