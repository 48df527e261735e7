"""The producer process: topics, memory from Kafka, one reflector per kind, one publisher.

Flows in: settings (cluster name, topic names, endpoints) and the kinds to watch.
Flows out: every change of every kind on the resources topic, until cancelled.

Startup order: create the topics; rebuild what was published from the resources topic
(``history``); discover configured custom kinds; then start one task per kind. One
failing kind retries on its own (``watching``); a skipped kind (403/404) ends its task
quietly. Once every kind has finished its first list (or was skipped), a cluster SYNCED
marker says the initial list is complete (``InitialList``): the deriver raises no
alert before it (sent anyway after ``initial_list_timeout``, naming the kinds late).
A Kafka delivery failure, or any unexpected error in a task, stops everything and is
re-raised — a restart then resumes from what Kafka really holds.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from producers import history, kube, publishing, topics, watching
from topolog.core import envelope, resources
from topolog.settings import Settings

log = logging.getLogger(__name__)

_CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"

#: Seconds after which the cluster's SYNCED marker is sent even if a kind has not
#: finished its first list (``close_when_overdue``).
INITIAL_LIST_TIMEOUT_S = 300.0


@dataclass(frozen=True, slots=True)
class Options:
    bootstrap: str
    kubeconfig: Path | None
    kinds: Sequence[resources.Resource] = resources.BUILTIN
    #: CustomResourceDefinition names (``plural.group``) whose kinds are watched too.
    crds: Sequence[str] = ()
    read_timeout: float = 120.0
    #: ``close_when_overdue``'s delay.
    initial_list_timeout: float = INITIAL_LIST_TIMEOUT_S
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
        await supervise(reflectors, publisher, initial_list_timeout=options.initial_list_timeout)


class InitialList:
    """The reflectors whose first list is not complete yet, and the cluster's SYNCED
    marker once none is left (once per producer run: a relist marks its kind only)."""

    def __init__(
        self,
        cluster: str,
        reflectors: Sequence[watching.Reflector],
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.cluster = cluster
        self.clock = clock
        self._pending = {id(r): r.resource.kind for r in reflectors}
        self._closed = False

    def listed(self, reflector: watching.Reflector) -> envelope.Envelope | None:
        """``reflector`` finished its first list, or was skipped: the cluster's marker
        when it was the last one, else None."""
        self._pending.pop(id(reflector), None)
        return None if self._pending else self._close()

    def overdue(self) -> envelope.Envelope | None:
        """The cluster's marker now, whatever has not listed yet (None once sent): the
        deriver holds the cluster's alerts until it comes."""
        if not self._closed:
            log.warning(
                "cluster %r: %s not listed yet; alerts from now on anyway",
                self.cluster,
                ", ".join(sorted(set(self._pending.values()))),
            )
        return self._close()

    def _close(self) -> envelope.Envelope | None:
        """The cluster's marker, the first time only."""
        if self._closed:
            return None
        self._closed = True
        return envelope.cluster_synced_marker(cluster=self.cluster, observed_at=self.clock())


async def pump(
    reflector: watching.Reflector, publisher: publishing.Publisher, initial: InitialList
) -> None:
    """Publish a reflector's events in order; a complete list is delivered as one batch,
    and the last kind's first list with the cluster's SYNCED marker after it."""
    async for event in reflector.events():
        await publisher.submit(event)
        if event.type is envelope.EventType.SYNCED:
            await publisher.flush()
            await _close_initial_list(initial.listed(reflector), publisher)
    # Skipped: the initial list does not wait for it.
    await _close_initial_list(initial.listed(reflector), publisher)


async def _close_initial_list(
    marker: envelope.Envelope | None, publisher: publishing.Publisher
) -> None:
    if marker is not None:
        log.info("cluster %r: every kind listed", marker.cluster)
        await publisher.publish_marker(marker)


async def close_when_overdue(
    initial: InitialList, publisher: publishing.Publisher, after_s: float
) -> None:
    """After ``after_s``, the cluster's marker if a kind still has not listed (one whose
    list keeps failing must not hold every alert back for ever)."""
    await asyncio.sleep(after_s)
    await _close_initial_list(initial.overdue(), publisher)


async def supervise(
    reflectors: Sequence[watching.Reflector],
    publisher: publishing.Publisher,
    *,
    initial_list_timeout: float = INITIAL_LIST_TIMEOUT_S,
) -> None:
    """Run every pump; the first failure (or a failed delivery) cancels the rest and is raised."""
    clusters = {r.cluster for r in reflectors}
    initial = {c: InitialList(c, [r for r in reflectors if r.cluster == c]) for c in clusters}
    pumps = {
        asyncio.create_task(pump(r, publisher, initial[r.cluster]), name=r.resource.kind)
        for r in reflectors
    }
    overdue = {
        asyncio.create_task(close_when_overdue(i, publisher, initial_list_timeout))
        for i in initial.values()
    }
    failure = asyncio.create_task(publisher.failure(), name="kafka-delivery")
    running: set[asyncio.Task[None]] = set(pumps) | overdue | {failure}
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
