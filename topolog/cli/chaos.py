"""``topolog chaos``: a bounded fault-injection run of the whole pipeline (loopback only).

Flows in: ``--faults N`` and the pace options; the run's platform lives in its own state
directory (``--state-dir``, default ``<state_dir>/chaos``).
Flows out: progress on stderr; the report on stdout (``--json``: ``{"faults", "lost",
"duplicated", "wrong", "converge_p99_s", ...}``); exit 1 when anything was lost,
duplicated or wrong, or a fault never converged. See docs/reliability.md.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import orjson
import typer
from rich.console import Console

from topolog.settings import get_settings


def register(app: typer.Typer) -> None:
    app.command("chaos")(chaos_command)


def chaos_command(
    faults: int = typer.Option(10, "--faults", min=1, help="Faults to inject (types cycle)."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    interval: float = typer.Option(1.0, "--interval", min=0, help="Churn seconds between faults."),
    pods: int = typer.Option(60, "--pods", min=1, help="Pods of the simulated cluster."),
    seed: int = typer.Option(1, "--seed"),
    state_dir: Path | None = typer.Option(
        None, "--state-dir", help="The run's own platform (default: <state_dir>/chaos)."
    ),
    keep_platform: bool = typer.Option(
        False, "--keep-platform", help="Leave the run's platform running afterwards."
    ),
    settle_timeout: float = typer.Option(180.0, "--settle-timeout", min=1),
) -> None:
    """Kill and restart every part of the pipeline under churn; prove nothing is lost."""
    from topolog.chaos import run

    # The run restarts the broker on purpose: the clients' reconnect noise is expected.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    console = Console(stderr=True, highlight=False)
    options = run.Options(
        faults=faults,
        state_dir=state_dir or get_settings().state_dir / "chaos",
        interval=interval,
        pods=pods,
        seed=seed,
        settle_timeout=settle_timeout,
        keep_platform=keep_platform,
    )
    report = asyncio.run(run.run(options, say=console.print))
    summary = report.summary()
    if as_json:
        typer.echo(orjson.dumps(summary).decode())
    else:
        for key in (
            "faults",
            "lost",
            "duplicated",
            "wrong",
            "converge_p99_s",
            "converge_median_s",
            "converge_max_s",
            "unconverged",
            "duration_s",
        ):
            typer.echo(f"{key:>18}: {summary[key]}")
    failed = report.lost or report.duplicated or report.wrong or report.unconverged
    raise typer.Exit(1 if failed else 0)
