"""The producer process: topics, memory from Kafka, one reflector per kind, one publisher.

Flows in: settings (cluster name, topic names, endpoints) and the kinds to watch.
Flows out: every change of every kind on the resources topic, until cancelled.

Startup order: create the topics; rebuild what was published from the resources topic
(``history``); discover configured custom kinds; then start one task per kind. One
failing kind retries on its own (``watching``); a skipped kind (403/404) ends its task
quietly. A Kafka delivery failure, or any unexpected error in a task, stops everything
and is re-raised — a restart then resumes from what Kafka really holds.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from producers import history, kube, publishing, topics, watching
from topolog.core import envelope, resources
from topolog.settings import Settings

log = logging.getLogger(__name__)

_CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"


@dataclass(frozen=True, slots=True)
class Options:
    bootstrap: str
    kubeconfig: Path | None
    kinds: Sequence[resources.Resource] = resources.BUILTIN
    #: CustomResourceDefinition names (``plural.group``) whose kinds are watched too.
    crds: Sequence[str] = ()
    read_timeout: float = 120.0
    partitions: int = 8
    replication_factor: int = 1


async def run(settings: Settings, options: Options) -> None:
    """Run until cancelled (returns early only when every kind was skipped)."""
    await topics.ensure(
        options.bootstrap,
        topics.specs(settings, partitions=options.partitions),
        replication_factor=options.replication_factor,
    )
    memory = await history.load_published(
        bootstrap=options.bootstrap, topic=settings.topic_resources, cluster=settings.cluster_name
    )
    async with (
        kube.connect(options.kubeconfig) as client,
        publishing.Publisher(
            bootstrap=options.bootstrap, topic=settings.topic_resources
        ) as publisher,
    ):
        kinds = list(options.kinds) + await discover(client, options.crds)
        reflectors = [
            watching.Reflector(
                client=client,
                resource=kind,
                cluster=settings.cluster_name,
                published=memory.setdefault(kind.kind, {}),
                read_timeout=options.read_timeout,
            )
            for kind in kinds
        ]
        log.info("watching %d kinds as cluster %r", len(kinds), settings.cluster_name)
        await supervise(reflectors, publisher)


async def pump(reflector: watching.Reflector, publisher: publishing.Publisher) -> None:
    """Publish a reflector's events in order; a complete list is delivered as one batch."""
    async for event in reflector.events():
        await publisher.submit(event)
        if event.type is envelope.EventType.SYNCED:
            await publisher.flush()


async def supervise(
    reflectors: Sequence[watching.Reflector], publisher: publishing.Publisher
) -> None:
    """Run every pump; the first failure (or a failed delivery) cancels the rest and is raised."""
    pumps = {asyncio.create_task(pump(r, publisher), name=r.resource.kind) for r in reflectors}
    failure = asyncio.create_task(publisher.failure(), name="kafka-delivery")
    running: set[asyncio.Task[None]] = set(pumps) | {failure}
    try:
        while pumps & running:
            done, running = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                task.result()  # re-raises the task's failure
        log.error("every kind was skipped; nothing to watch")
    finally:
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)


async def discover(client: kube.Kube, names: Sequence[str]) -> list[resources.Resource]:
    """The kinds of the named CustomResourceDefinitions (unknown ones are logged and skipped)."""
    found: list[resources.Resource] = []
    for name in names:
        try:
            crd = await client.get(f"{_CRDS}/{name}")
            found.append(resources.from_crd(crd))
        except (kube.ApiError, resources.ResourceError) as exc:
            log.warning("custom resource %s not watched: %s", name, exc)
    return found
