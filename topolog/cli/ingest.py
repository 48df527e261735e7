"""``topolog ingest PATH... [--delete]``: publish objects from manifests as if watched.

Flows in: YAML/JSON files or directories (multi-document, ``List``s).
Flows out: one event per object on the resources topic (``producers.ingest``); exit
code 2, the file and the document on stderr, and nothing published, when any file is bad.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import typer

from topolog.core import manifests
from topolog.settings import get_settings


def register(app: typer.Typer) -> None:
    app.command("ingest")(ingest_command)


def ingest_command(
    paths: list[Path] = typer.Argument(..., help="Manifest files or directories."),
    delete: bool = typer.Option(
        False, "--delete", help="Publish the deletion of the objects named in the files."
    ),
    cluster: str | None = typer.Option(None, "--cluster", help="Cluster name (default: settings)."),
) -> None:
    """Publish Kubernetes objects from files (clusters out of reach, CI, tests)."""
    from producers import endpoints, ingest

    settings = get_settings()
    try:
        loaded = manifests.load(paths)
        bootstrap = endpoints.kafka(settings)
    except (manifests.ManifestError, endpoints.EndpointError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=2) from exc
    events = ingest.plan(
        loaded, cluster=cluster or settings.cluster_name, now=time.time(), delete=delete
    )
    asyncio.run(ingest.publish(events, settings=settings, bootstrap=bootstrap))
    verb = "deletions" if delete else "objects"
    typer.echo(f"published {len(events)} {verb} to {settings.topic_resources}")
