"""``topolog demo``: the README's first command — platform, pipeline and the seed's demo."""

from __future__ import annotations

import time

import typer
from rich.console import Console

from topolog.platform import demo as demo_scenario
from topolog.platform import local
from topolog.platform.process import PlatformError

console = Console(stderr=True)

QUERIES = (
    "G.V().Has('K8s.Labels.app', 'hello-node')",
    "G.V().Has('Type', 'networkpolicy')",
    "G.V().Has('Name', Regex('task-pv-.*'))",
    "G.V().Has('Type', 'secret', 'Name', 'mysql-pass').In().Has('Type', 'pod')",
)


def demo() -> None:
    """Start everything locally and load the seed's walkthroughs (safe to re-run)."""
    began = time.monotonic()
    try:
        for service in local.SERVICES:
            with console.status(
                f"starting {service} (a cold control-plane build takes 10-25 min) …"
                if service == "kube"
                else f"starting {service} …"
            ):
                t0 = time.monotonic()
                st = local.up([service])
            console.print(f"[green]✓[/] {service:<6} ready in {time.monotonic() - t0:5.1f}s")
    except PlatformError as exc:
        console.print(f"[red]✗[/] {exc}")
        raise typer.Exit(1) from exc
    eps = st.endpoints
    with console.status("loading the demo scenarios …"):
        applied = demo_scenario.load(eps.kubeconfig)
    console.print(
        f"[green]✓[/] demo     {len(applied)} objects applied "
        "(hello-node, bookinfo + network policies, task-pv, wordpress)"
    )
    with console.status("rotating secret mysql-pass (the seed's rotation) …"):
        rotated = demo_scenario.rotate_secret(eps.kubeconfig)
    console.print(f"[green]✓[/] rotation {'done' if rotated else 'already done'}")
    console.print(
        f"\nready in {time.monotonic() - began:.0f}s\n"
        f"  kafka      {eps.kafka}\n  redis      {eps.redis}\n"
        f"  kubeconfig {eps.kubeconfig}   (kubectl --kubeconfig … get pods -A)\n"
    )
    console.print("Queries to try once the pipeline runs:")
    for q in QUERIES:
        console.print(f'  topolog query "{q}"')


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
