"""``topolog dev up|down|status``: the local platform (Kafka, Redis, Kubernetes + kwok);
``topolog dev compile``: the compiled domain modules (``topolog.compiled``)."""

from __future__ import annotations

import sys
from pathlib import Path

import orjson
import typer
from rich.console import Console

from topolog import compiled
from topolog.platform import local
from topolog.platform.process import PlatformError

dev = typer.Typer(
    help="Run the local platform: Kafka (KRaft), Redis, kube-apiserver + kwok.",
    no_args_is_help=True,
)
console = Console(stderr=True)

StateDirOption = typer.Option(None, "--state-dir", help="State directory (default: .state)")


@dev.command()
def up(
    only: list[str] = typer.Option(
        list(local.SERVICES), "--only", help="Services to start: redis, kafka, kube."
    ),
    state_dir: Path | None = StateDirOption,
) -> None:
    """Start (or keep) the local platform; safe to run again."""
    statuses: dict[str, object] = {}

    def started(name: str) -> None:
        statuses[name] = console.status(f"starting {name} …")
        statuses[name].__enter__()  # type: ignore[attr-defined]

    def done(step: local.Step) -> None:
        statuses.pop(step.service).__exit__(None, None, None)  # type: ignore[attr-defined]
        console.print(f"[green]✓[/] {step.service:<6} ready in {step.seconds:5.1f}s")

    try:
        st = local.up(only, directory=state_dir, on_start=started, on_done=done)
    except PlatformError as exc:
        for pending in statuses.values():
            pending.__exit__(None, None, None)  # type: ignore[attr-defined]
        console.print(f"[red]✗[/] {exc}")
        raise typer.Exit(1) from exc
    eps = st.endpoints
    console.print(f"kafka {eps.kafka}   redis {eps.redis}\nkubeconfig {eps.kubeconfig}")


@dev.command()
def down(state_dir: Path | None = StateDirOption) -> None:
    """Stop every service of the local platform (data is kept)."""
    local.down(directory=state_dir)
    console.print("local platform stopped")


@dev.command()
def status(
    as_json: bool = typer.Option(False, "--json", help="Print endpoints as JSON."),
    state_dir: Path | None = StateDirOption,
) -> None:
    """Endpoints and health; exits 1 when any service is down."""
    report = local.status(state_dir)
    if as_json:
        sys.stdout.write(orjson.dumps(report, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        for name, ok in dict(report.get("services", {})).items():  # type: ignore[call-overload]
            console.print(f"{'[green]up' if ok else '[red]down'}[/]  {name}")
        if "error" in report:
            console.print(str(report["error"]))
    if not report["ok"]:
        raise typer.Exit(1)


@dev.command()
def compile(
    verbose: bool = typer.Option(False, "--verbose", help="Show mypyc's and gcc's output."),
) -> None:
    """Compile the pure domain modules with mypyc into the cache, unless built already
    (each build is named by its sources; edited sources run uncompiled until rebuilt)."""
    target = compiled.build_dir()
    if compiled.files_of(target):
        console.print(f"[green]✓[/] compiled modules up to date: {target}")
        return
    with console.status(f"compiling {len(compiled.MODULES)} modules with mypyc …"):
        try:
            target = compiled.build(quiet=not verbose)
        except (Exception, SystemExit) as exc:  # setuptools exits on a compiler error
            log = compiled.build_log()
            tail = log.read_text(errors="replace")[-3000:] if log.is_file() else ""
            console.print(f"{tail}\n[red]✗[/] compiling failed: {exc!r} (the output: {log})")
            raise typer.Exit(1) from exc
    console.print(f"[green]✓[/] compiled modules built: {target}")


def register(app: typer.Typer) -> None:
    app.add_typer(dev, name="dev")
