"""The ``topolog`` command line: one typer app, each command group in its own module.

A command module exposes ``register(app: typer.Typer) -> None``; adding a command is a
new module plus one line in ``_COMMAND_MODULES``.
"""

from __future__ import annotations

import importlib

import typer

app = typer.Typer(
    name="topolog",
    help="The Kubernetes topology as an event log.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)

_COMMAND_MODULES: tuple[str, ...] = (
    "topolog.cli.dev",
    "topolog.cli.demo",
    "topolog.cli.run",
    "topolog.cli.reach",
    "topolog.cli.producer",
    "topolog.cli.ingest",
    "topolog.cli.simulate",
    "topolog.cli.bench",
    "topolog.cli.store",
    "topolog.cli.gateway",
    "topolog.cli.query",
    "topolog.cli.processor",
    "topolog.cli.chaos",
)

for _module in _COMMAND_MODULES:
    importlib.import_module(_module).register(app)


if __name__ == "__main__":
    app()
