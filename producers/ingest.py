"""Offline ingest: objects from manifest files published as if they had been watched.

Flows in: ``manifests.Manifest`` values (``topolog.core.manifests`` loads and checks
every file first, so nothing is published when any file is bad).
Flows out: sanitized ``Envelope``s (``plan``, pure), then records on the resources topic
(``publish``). ``status`` is kept when present. A namespaced object without a namespace
gets ``default`` (as kubectl does); an object without a uid gets
``envelope.stable_uid`` (the same on every ingest, so re-ingesting updates in place).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from producers import publishing, topics
from topolog.core import envelope, resources, sanitize
from topolog.core.manifests import Manifest
from topolog.settings import Settings

DEFAULT_NAMESPACE = "default"


def plan(
    items: Sequence[Manifest], *, cluster: str, now: float, delete: bool = False
) -> list[envelope.Envelope]:
    """One envelope per object, in file order: ADDED, or DELETED with ``delete``."""
    return [to_envelope(m.object, cluster=cluster, now=now, delete=delete) for m in items]


def to_envelope(
    obj: dict[str, Any], *, cluster: str, now: float, delete: bool = False
) -> envelope.Envelope:
    kind = str(obj["kind"])
    meta = dict(obj.get("metadata") or {})
    if resources.is_namespaced(kind):
        namespace = str(meta.get("namespace") or DEFAULT_NAMESPACE)
        meta["namespace"] = namespace
    else:
        namespace = envelope.CLUSTER_SCOPE
        meta.pop("namespace", None)
    name = str(meta["name"])
    uid = str(meta.get("uid") or envelope.stable_uid(cluster, kind, namespace, name))
    meta["uid"] = uid
    complete = {**obj, "metadata": meta}
    return envelope.Envelope(
        cluster=cluster,
        api_version=str(obj["apiVersion"]),
        kind=kind,
        namespace=namespace,
        name=name,
        uid=uid,
        type=envelope.EventType.DELETED if delete else envelope.EventType.ADDED,
        resource_version=str(meta.get("resourceVersion") or ""),
        observed_at=now,
        object=sanitize.sanitize(complete),
    )


async def publish(
    events: Sequence[envelope.Envelope], *, settings: Settings, bootstrap: str
) -> None:
    """Create the topics if needed, publish ``events`` and wait until Kafka has them all.

    Each cluster's events end with its SYNCED marker: manifests are a complete list, and
    the deriver raises no alert for a cluster until its first one (a no-op after it)."""
    await topics.ensure(bootstrap, topics.specs(settings))
    markers = [
        envelope.cluster_synced_marker(cluster=cluster, observed_at=observed_at)
        for cluster, observed_at in _latest_per_cluster(events).items()
    ]
    async with publishing.Publisher(
        bootstrap=bootstrap, topic=settings.topic_resources, client_id="topolog-ingest"
    ) as publisher:
        await publisher.publish(list(events))
        # Once the events are acknowledged: the markers' timestamps come after theirs.
        for marker in markers:
            await publisher.publish_marker(marker)


def _latest_per_cluster(events: Sequence[envelope.Envelope]) -> dict[str, float]:
    latest: dict[str, float] = {}
    for event in events:
        latest[event.cluster] = max(event.observed_at, latest.get(event.cluster, event.observed_at))
    return latest
