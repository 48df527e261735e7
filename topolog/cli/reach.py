"""``topolog reach --manifests DIR [--json]``: who can talk to whom, from files only.

Flows in: a directory (or file) of manifests, read by ``core.manifests``.
Flows out: on stdout, the reachability matrix of ``core.netpol.reach.matrix`` — a rich table,
or with ``--json`` the documented shape::

    {"endpoints": [{"id": "ns/pod", "namespace": .., "pod": .., "workload": "ns/name",
                    "workload_kind": "Deployment"}, ...],
     "connections": [{"src": "ns/pod", "dst": "ns/pod",
                      "protocols": {"TCP": [[lo, hi], ...], "UDP": [...], "SCTP": [...]}}, ...]}

Exit code 2 (and the file and document on stderr) when a manifest cannot be used.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import orjson
import typer
from rich.console import Console
from rich.table import Table

from topolog.core import manifests
from topolog.core.netpol import inventory, ports, reach
from topolog.core.netpol import policy as np


def register(app: typer.Typer) -> None:
    app.command("reach")(reach_command)


def reach_command(
    manifests_dir: Path | None = typer.Option(
        None,
        "--manifests",
        help="Offline: a directory (or file) of Kubernetes manifests (YAML or JSON).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the matrix as JSON."),
    src: str | None = typer.Option(None, "--from", help="Live: source pod, namespace/name."),
    dst: str | None = typer.Option(None, "--to", help="Live: destination pod, namespace/name."),
    port: int | None = typer.Option(None, "--port", help="Live: destination port."),
    protocol: str = typer.Option("TCP", "--protocol", help="Live: TCP, UDP or SCTP."),
    at: str | None = typer.Option(None, "--at", help="Live: at a past time."),
    url: str | None = typer.Option(None, "--url", help="Gateway URL (default: settings)."),
    token: str | None = typer.Option(None, "--token", help="Bearer token (default: settings)."),
) -> None:
    """Which pods may connect to which: offline over manifests (--manifests, the whole
    matrix), or live over the gateway's graph (--from/--to/--port, with the deciding
    policies)."""
    if manifests_dir is None:
        if src is None or dst is None or port is None:
            typer.echo("error: give --manifests DIR, or --from, --to and --port", err=True)
            raise typer.Exit(code=2)
        _live(src, dst, port, protocol, at=at, url=url, token=token)
        return
    try:
        inv = inventory.build(manifests.load([manifests_dir]))
    except (manifests.ManifestError, np.NetpolError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=2) from exc
    connections = reach.matrix(inv.cluster)
    if as_json:
        sys.stdout.buffer.write(orjson.dumps(report(inv, connections)) + b"\n")
        sys.stdout.flush()
        return
    _print_table(inv, connections)


def _live(
    src: str,
    dst: str,
    port: int,
    protocol: str,
    *,
    at: str | None,
    url: str | None,
    token: str | None,
) -> None:
    """Ask the gateway (``GET /api/v1/reach``) and print its JSON verdict."""
    from topolog.cli import query

    params: dict[str, str | int] = {"from": src, "to": dst, "port": port, "protocol": protocol}
    if at is not None:
        params["at"] = at
    query.print_json(query.request("GET", "/api/v1/reach", url=url, token=token, params=params))


def report(inv: inventory.Inventory, connections: list[reach.Connection]) -> dict[str, Any]:
    """The ``--json`` document: every endpoint, and every pair with an open port."""
    return {
        "endpoints": [
            {
                "id": e.id,
                "namespace": e.pod.namespace,
                "pod": e.pod.name,
                "workload": e.workload,
                "workload_kind": e.workload_kind,
            }
            for e in inv.entries
        ],
        "connections": [
            {"src": c.src.ref, "dst": c.dst.ref, "protocols": c.ports.to_lists()}
            for c in connections
        ],
    }


def _print_table(inv: inventory.Inventory, connections: list[reach.Connection]) -> None:
    console = Console()
    table = Table(
        title=f"Allowed connections ({len(inv.entries)} pods, "
        f"{len(inv.cluster.policies)} network policies)"
    )
    table.add_column("source")
    table.add_column("destination")
    for proto in ports.PROTOCOLS:
        table.add_column(proto.value)
    for c in connections:
        table.add_row(
            c.src.ref,
            c.dst.ref,
            *(ports.format_ranges(c.ports.get(p)) for p in ports.PROTOCOLS),
        )
    console.print(table)
    pairs = len(inv.entries) * (len(inv.entries) - 1)
    console.print(f"{len(connections)} of {pairs} ordered pod pairs can connect.")
