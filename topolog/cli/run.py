"""``topolog run``: every pipeline process in the foreground against one set of endpoints."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape

from topolog import runner
from topolog.platform import local
from topolog.platform.process import PlatformError
from topolog.settings import get_settings

console = Console(stderr=True, highlight=False)

STAGES = ("producer", "processor", "projector", "gateway")
#: Stages serving Prometheus metrics on a port of their own (the gateway serves /metrics).
_METRICS_STAGES = ("producer", "processor")
_COLOURS = {"producer": "cyan", "processor": "magenta", "projector": "yellow", "gateway": "green"}


def pipeline_specs(
    *,
    kafka: str,
    redis: str,
    kubeconfig: str | None,
    watch: bool,
    gateway_port: int,
    registered: set[str],
) -> list[runner.ProcessSpec]:
    settings = get_settings()
    env = {
        "TOPOLOG_KAFKA_BOOTSTRAP": kafka,
        "TOPOLOG_REDIS_URL": redis,
        "TOPOLOG_CLUSTER_NAME": settings.cluster_name,
    }
    if kubeconfig:
        env["TOPOLOG_KUBECONFIG"] = kubeconfig
    specs = []
    for stage in STAGES:
        if stage == "producer" and not watch:
            continue
        if stage not in registered:
            console.print(f"[yellow]![/] this build has no `topolog {stage}` command; skipped")
            continue
        args = ["--port", str(gateway_port)] if stage == "gateway" else []
        if stage in _METRICS_STAGES:
            # A free port each, so several pipelines (demo, tests, benches) can share a host.
            port = free_port()
            args += ["--metrics-port", str(port)]
            console.print(f"{stage} metrics: http://127.0.0.1:{port}/metrics")
        specs.append(runner.ProcessSpec(stage, runner.topolog_command(stage, *args), env))
    return specs


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def emit(name: str, line: str) -> None:
    colour = _COLOURS.get(name, "white")
    console.print(f"[{colour}]{name:>9}[/] | {escape(line)}")


def start_platform(*, watch_local: bool) -> tuple[str, str, str | None]:
    """Endpoints from settings, else the local platform (started when needed)."""
    settings = get_settings()
    needed = [
        s
        for s, configured in (("redis", settings.redis_url), ("kafka", settings.kafka_bootstrap))
        if not configured
    ]
    if watch_local and settings.kubeconfig is None:
        needed.append("kube")
    eps = None
    if needed:
        with console.status(f"starting {', '.join(needed)} …"):
            eps = local.up(needed).endpoints
    kafka = settings.kafka_bootstrap or (eps.kafka if eps else "")
    redis = settings.redis_url or (eps.redis if eps else "")
    kubeconfig = (
        str(settings.kubeconfig)
        if settings.kubeconfig
        else (eps.kubeconfig if eps and watch_local else None)
    )
    return kafka, redis, kubeconfig


def run_pipeline(
    specs: list[runner.ProcessSpec], *, ready: Callable[[], None] | None = None
) -> int:
    ended = asyncio.run(runner.supervise(specs, emit=emit, ready=ready))
    if ended.returncode is None:
        console.print("stopped")
        return 0
    console.print(f"[red]✗[/] {ended.name} exited with code {ended.returncode}; stopped the rest")
    return 1


def run(
    ctx: typer.Context,
    kubeconfig: Path | None = typer.Option(
        None, "--kubeconfig", help="Watch this cluster instead of the local one."
    ),
    watch: bool = typer.Option(
        True, "--watch/--no-watch", help="--no-watch: no producer; only `topolog ingest` feeds it."
    ),
    port: int = typer.Option(8082, "--port", help="Gateway port."),
) -> None:
    """Run producer, processor, projector and gateway in the foreground (Ctrl-C stops all)."""
    try:
        kafka, redis, local_kube = start_platform(watch_local=watch and kubeconfig is None)
    except PlatformError as exc:
        console.print(f"[red]✗[/] {exc}")
        raise typer.Exit(1) from exc
    registered = set(ctx.find_root().command.commands)  # type: ignore[attr-defined]
    specs = pipeline_specs(
        kafka=kafka,
        redis=redis,
        kubeconfig=str(kubeconfig) if kubeconfig else local_kube,
        watch=watch,
        gateway_port=port,
        registered=registered,
    )
    console.print(f"dashboard and API: http://127.0.0.1:{port}/")
    raise typer.Exit(run_pipeline(specs))


def register(app: typer.Typer) -> None:
    app.command("run")(run)
