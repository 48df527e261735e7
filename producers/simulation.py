"""Running the synthetic cluster of ``topolog.core.simulate`` against Kafka or a control plane.

Flows in: a ``simulate.Simulator`` (seeded), a churn rate and duration.
Flows out, ``to_kafka``: the simulator's events as sanitized envelopes on the resources
topic, submitted without per-record awaits (fast, for benchmarks).
Flows out, ``to_cluster``: the simulator's root objects created (then patched or deleted
by churn) through the API; the control plane's controllers and kwok make the
ReplicaSets, Jobs and Pods, and ``topolog producer`` publishes what really happens.
Pod-level churn (crash loops, pod relabels and replacements) has no API equivalent
there and is skipped.

Progress is reported through ``Progress`` callbacks (rich progress bars in the CLI).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

from producers import kube, publishing, topics
from topolog.core import envelope, resources, sanitize, simulate
from topolog.settings import Settings

#: Called with the number of events (or objects) just handled.
Advance = Callable[[int], None]

_FIRST = ("Namespace", "Node", "StorageClass", "PersistentVolume")


def to_envelope(event: simulate.Event, *, cluster: str, now: float) -> envelope.Envelope:
    obj = event.object
    meta = obj["metadata"]
    return envelope.Envelope(
        cluster=cluster,
        api_version=obj["apiVersion"],
        kind=obj["kind"],
        namespace=meta.get("namespace", envelope.CLUSTER_SCOPE),
        name=meta["name"],
        uid=meta["uid"],
        type=event.type,
        resource_version=meta["resourceVersion"],
        observed_at=now,
        object=sanitize.sanitize(obj),
    )


async def to_kafka(
    sim: simulate.Simulator,
    initial: Sequence[simulate.Event],
    *,
    settings: Settings,
    bootstrap: str,
    churn_rate: float,
    duration: float,
    on_initial: Advance = lambda _: None,
    on_churn: Advance = lambda _: None,
    clock: Callable[[], float] = time.time,
) -> tuple[int, int]:
    """Publish ``initial`` (from ``sim.initial()``) and the cluster's SYNCED marker,
    then churn.

    Returns the numbers of initial and churn events published."""
    await topics.ensure(bootstrap, topics.specs(settings))
    cluster = settings.cluster_name
    async with publishing.Publisher(
        bootstrap=bootstrap, topic=settings.topic_resources, client_id="topolog-simulate"
    ) as publisher:
        now = clock()
        for start in range(0, len(initial), 5000):
            chunk = initial[start : start + 5000]
            for event in chunk:
                await publisher.submit(to_envelope(event, cluster=cluster, now=now))
            await publisher.flush()
            on_initial(len(chunk))
        # The initial objects are the cluster as a producer lists it.
        await publisher.publish_marker(
            envelope.cluster_synced_marker(cluster=cluster, observed_at=now)
        )
        churned = 0

        async def step() -> int:
            events = sim.churn(clock())
            for event in events:
                await publisher.submit(to_envelope(event, cluster=cluster, now=clock()))
            return len(events)

        async for count in _paced(step, rate=churn_rate, duration=duration, clock=clock):
            churned += count
            on_churn(count)
        await publisher.flush()
    return len(initial), churned


async def to_cluster(
    sim: simulate.Simulator,
    initial: Sequence[simulate.Event],
    *,
    client: kube.Kube,
    churn_rate: float,
    duration: float,
    parallel: int = 16,
    on_initial: Advance = lambda _: None,
    on_churn: Advance = lambda _: None,
    clock: Callable[[], float] = time.time,
) -> tuple[int, int]:
    """Create the root objects of ``initial``, then apply churn.

    Returns the numbers of objects created and churn events applied."""
    roots = [obj for e in initial if (obj := simulate.for_cluster(e.object)) is not None]
    first = [o for o in roots if o["kind"] in _FIRST]
    rest = [o for o in roots if o["kind"] not in _FIRST]
    gate = asyncio.Semaphore(parallel)

    async def create(obj: dict[str, Any]) -> None:
        async with gate:
            await apply(client, envelope.EventType.ADDED, obj)
        on_initial(1)

    for phase in (first, rest):
        await asyncio.gather(*(create(o) for o in phase))

    async def step() -> int:
        applied = 0
        for event in sim.churn(clock()):
            obj = simulate.for_cluster(event.object)
            if obj is not None:
                await apply(client, event.type, obj)
                applied += 1
        return applied

    churned = 0
    async for count in _paced(step, rate=churn_rate, duration=duration, clock=clock):
        churned += count
        on_churn(count)
    return len(roots), churned


async def apply(client: kube.Kube, event_type: envelope.EventType, obj: dict[str, Any]) -> None:
    """Create, merge-patch or delete ``obj``; an existing object on create, or a missing one
    on delete, is not an error (a rerun of the same seed converges)."""
    resource = resources.by_kind()[obj["kind"]]
    meta = obj["metadata"]
    collection = resource.namespaced_path(meta.get("namespace", ""))
    try:
        if event_type is envelope.EventType.ADDED:
            await client.request_json("POST", collection, body=obj)
        elif event_type is envelope.EventType.MODIFIED:
            patch = {"metadata": {"labels": meta.get("labels") or {}}}
            if "spec" in obj:
                patch["spec"] = obj["spec"]
            await client.request_json(
                "PATCH",
                f"{collection}/{meta['name']}",
                body=patch,
                content_type="application/merge-patch+json",
            )
        elif event_type is envelope.EventType.DELETED:
            await client.request_json("DELETE", f"{collection}/{meta['name']}")
    except kube.ApiError as exc:
        if not (exc.status == 409 and event_type is envelope.EventType.ADDED) and not (
            exc.status == 404 and event_type is envelope.EventType.DELETED
        ):
            raise


async def _paced(
    step: Callable[[], Awaitable[int]],
    *,
    rate: float,
    duration: float,
    clock: Callable[[], float],
) -> AsyncIterator[int]:
    """Run ``step`` ``rate`` times a second (as fast as possible when 0) for ``duration`` s."""
    if duration <= 0:
        return
    began = clock()
    done = 0
    while clock() - began < duration:
        yield await step()
        done += 1
        if rate > 0:
            delay = began + done / rate - clock()
            if delay > 0:
                await asyncio.sleep(delay)
