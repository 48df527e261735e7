"""``topolog demo``: the README's first command — platform, pipeline and the seed's demo."""

from __future__ import annotations

import threading
import time

import typer
from rich.console import Console

from topolog.cli import run as run_cmd
from topolog.platform import demo as demo_scenario
from topolog.platform import local
from topolog.platform.process import PlatformError
from topolog.platform.state import Endpoints

console = Console(stderr=True)

QUERIES = (
    "G.V().Has('K8s.Labels.app', 'hello-node')",
    "G.V().Has('Type', 'networkpolicy')",
    "G.V().Has('Name', Regex('task-pv-.*'))",
    "G.V().Has('Type', 'secret', 'Name', 'mysql-pass').In().Has('Type', 'pod')",
)


def _start_platform() -> Endpoints:
    st = None
    for service in local.SERVICES:
        hint = " (a cold control-plane build takes 10-25 min)" if service == "kube" else ""
        with console.status(f"starting {service}{hint} …"):
            t0 = time.monotonic()
            st = local.up([service])
        console.print(f"[green]✓[/] {service:<9} ready in {time.monotonic() - t0:5.1f}s")
    assert st is not None
    return st.endpoints


def _load_scenario(kubeconfig: str, port: int, began: float) -> None:
    t0 = time.monotonic()
    applied = demo_scenario.load(kubeconfig)
    console.print(
        f"[green]✓[/] demo      {len(applied)} objects applied in "
        f"{time.monotonic() - t0:.1f}s (hello-node, bookinfo + network policies, "
        "task-pv, wordpress)"
    )
    rotated = demo_scenario.rotate_secret(kubeconfig)
    console.print(
        f"[green]✓[/] rotation  secret mysql-pass "
        f"{'re-created (pods still use the old one)' if rotated else 'already rotated'}"
    )
    console.print(
        f"\n[bold]ready in {time.monotonic() - began:.0f}s[/] — dashboard "
        f"http://127.0.0.1:{port}/   (Ctrl-C stops the pipeline; "
        "`topolog dev down` stops the platform)\n  kubectl --kubeconfig "
        f"{kubeconfig} get pods -A\nQueries to try:"
    )
    for query in QUERIES:
        console.print(f'  topolog query "{query}"')


def demo(
    ctx: typer.Context,
    port: int = typer.Option(8082, "--port", help="Gateway port."),
    pipeline: bool = typer.Option(
        True,
        "--pipeline/--no-pipeline",
        help="--no-pipeline: start the platform, load the demo, exit.",
    ),
) -> None:
    """Start everything locally, load the seed's walkthroughs and run the pipeline."""
    began = time.monotonic()
    try:
        eps = _start_platform()
    except PlatformError as exc:
        console.print(f"[red]✗[/] {exc}")
        raise typer.Exit(1) from exc
    if not pipeline:
        _load_scenario(eps.kubeconfig, port, began)
        return
    registered = set(ctx.find_root().command.commands)  # type: ignore[attr-defined]
    specs = run_cmd.pipeline_specs(
        kafka=eps.kafka,
        redis=eps.redis,
        kubeconfig=eps.kubeconfig,
        watch=True,
        gateway_port=port,
        registered=registered,
    )

    def ready() -> None:
        threading.Thread(
            target=_load_scenario, args=(eps.kubeconfig, port, began), daemon=True
        ).start()

    raise typer.Exit(run_cmd.run_pipeline(specs, ready=ready))


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
