"""``topolog bench SCENARIO --pods N [--json]``: the performance scenarios of issue 9.

Flows in: a scenario (``sync``, ``churn``, ``queries``, ``memory``, ``fanout``, ``reach``,
``growth``, ``limits`` or ``all``), a size and options.
Flows out: a table of figures (or one JSON object with ``--json``), preceded by the
command line, the date, the machine and its load. The scenarios live in
``bench.scenarios`` (imported when the command runs); they start their own pipeline
processes and a throwaway Redis, on the local platform's Kafka (docs/benchmarks.md).
"""

from __future__ import annotations

import asyncio
import os
import platform
import shlex
import signal
import sys
import time
from collections.abc import Coroutine
from typing import Any, TypeVar

import orjson
import typer

from topolog import compiled, stopping

T = TypeVar("T")


def register(app: typer.Typer) -> None:
    app.command("bench")(bench_command)


def _machine() -> dict[str, object]:
    mem = 0
    try:
        with open("/proc/meminfo") as f:
            mem = int(f.readline().split()[1]) * 1024
    except OSError:
        pass
    return {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "cpus": os.cpu_count(),
        "memory_gib": round(mem / 2**30, 1),
        "python": platform.python_version(),
        "load_before": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        # The stages run this checkout with this environment: they load the same modules.
        "compiled": compiled.active(),
    }


def bench_command(
    scenario: str = typer.Argument(
        ..., help="sync, churn, queries, memory, fanout, reach, growth, limits or all"
    ),
    pods: int = typer.Option(1000, "--pods", help="Simulated cluster size."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object instead of a table."),
    rate: float = typer.Option(1000.0, "--rate", help="churn: envelopes/s of churn."),
    seconds: float = typer.Option(20.0, "--seconds", help="churn/fanout: how long to publish."),
    warmup: float = typer.Option(
        30.0, "--warmup", help="churn: seconds of the same churn before the measured window."
    ),
    subscribers: int = typer.Option(1000, "--subscribers", help="fanout: SSE subscribers."),
    policies: int = typer.Option(100, "--policies", help="reach: NetworkPolicies."),
    within: float | None = typer.Option(
        None, "--within", help="Processor batch wait (s); default: the processor's."
    ),
) -> None:
    """Run one benchmark scenario of issue 9 and print its figures."""
    from bench import scenarios
    from bench.scenarios import stats

    if scenario not in scenarios.SCENARIOS:
        typer.echo(f"error: scenario is one of {', '.join(scenarios.SCENARIOS)}", err=True)
        raise typer.Exit(code=2)
    options = scenarios.Options(
        pods=pods,
        rate=rate,
        seconds=seconds,
        warmup=warmup,
        subscribers=subscribers,
        policies=policies,
        within=within,
    )
    machine = _machine()
    result = asyncio.run(_with_task_dump(scenarios.run(scenario, options)))
    machine["load_after"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    command = shlex.join(["topolog", "bench", *sys.argv[sys.argv.index("bench") + 1 :]])
    if as_json:
        out = {**result, "command": command, "machine": machine}
        typer.echo(orjson.dumps(out, option=orjson.OPT_SERIALIZE_NUMPY).decode())
        return
    typer.echo(f"$ {command}")
    typer.echo(stats.table({"machine": machine}))
    typer.echo(stats.table(result))


async def _with_task_dump(main: Coroutine[Any, Any, T]) -> T:
    """``kill -USR1 <bench pid>`` prints where each of the harness's tasks waits (a
    scenario that seems to hang)."""
    asyncio.get_running_loop().add_signal_handler(signal.SIGUSR1, stopping.dump_tasks)
    return await main
