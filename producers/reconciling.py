"""Deciding what to publish: what was published before + what the API says now → changes.

Flows in: the producer's memory of one kind (``Published``: key → the uid and
resourceVersion last published for it), and either a fresh list of the kind (after a
start, or a 410 Gone) or one watch event.
Flows out: ``Change``s to publish, in order; ``remember`` folds each into the memory.
``watching`` calls this; ``publishing`` sends the resulting envelopes.

Pure and clock-free. Invariants:
- A key is in ``Published`` if and only if its latest published event is not DELETED.
- Publishing the changes of ``reconcile(published, listed)`` and folding them makes the
  memory equal to ``listed``; an unchanged object yields no change, so a restart or a
  relist rewrites nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from topolog.core import envelope, sanitize
from topolog.core.resources import Resource


@dataclass(frozen=True, slots=True)
class Seen:
    """What was last published for a key."""

    uid: str
    resource_version: str


#: One kind's memory: envelope key → the last published (not deleted) version.
Published = dict[str, Seen]


@dataclass(frozen=True, slots=True)
class DeletedFinalStateUnknown:
    """An object that vanished while the producer was not watching (client-go's name).

    Only what was published about it is known, not its final state.
    """

    namespace: str
    name: str
    uid: str
    resource_version: str


@dataclass(frozen=True, slots=True)
class Change:
    type: envelope.EventType
    #: The object as the API gave it (unsanitized), or the tombstone of a missed delete.
    object: Mapping[str, Any] | DeletedFinalStateUnknown = field(default_factory=dict)


def identity(obj: Mapping[str, Any]) -> tuple[str, str, str, str]:
    """(namespace, name, uid, resourceVersion) of an API object."""
    meta = obj.get("metadata") or {}
    return (
        str(meta.get("namespace") or envelope.CLUSTER_SCOPE),
        str(meta.get("name") or ""),
        str(meta.get("uid") or ""),
        str(meta.get("resourceVersion") or ""),
    )


def key_of(cluster: str, kind: str, obj: Mapping[str, Any]) -> str:
    namespace, name, _, _ = identity(obj)
    return envelope.object_key(cluster, kind, namespace, name)


def reconcile(
    *, cluster: str, kind: str, published: Mapping[str, Seen], listed: Sequence[Mapping[str, Any]]
) -> list[Change]:
    """The changes that turn ``published`` into ``listed`` (a complete list of ``kind``).

    Deleted-while-disconnected objects come first as tombstones; then, in list order,
    new objects as ADDED and changed ones as MODIFIED. An object recreated under the
    same name (another uid) is a tombstone of the old one, then ADDED.
    """
    changes: list[Change] = []
    current: dict[str, Mapping[str, Any]] = {key_of(cluster, kind, o): o for o in listed}
    for key, gone in published.items():
        if key not in current:
            changes.append(_tombstone(key, gone))
    for key, obj in current.items():
        _, _, uid, rv = identity(obj)
        seen = published.get(key)
        if seen is None:
            changes.append(Change(envelope.EventType.ADDED, obj))
        elif seen.uid != uid:
            changes.append(_tombstone(key, seen))
            changes.append(Change(envelope.EventType.ADDED, obj))
        elif seen.resource_version != rv:
            changes.append(Change(envelope.EventType.MODIFIED, obj))
    return changes


def classify(
    *,
    cluster: str,
    kind: str,
    published: Mapping[str, Seen],
    event_type: str,
    obj: Mapping[str, Any],
) -> list[Change]:
    """The changes one watch event makes, given what was published (usually one)."""
    key = key_of(cluster, kind, obj)
    _, _, uid, rv = identity(obj)
    seen = published.get(key)
    if event_type == "DELETED":
        # Nothing to delete: it was never published, or its delete already was.
        if seen is None:
            return []
        return [Change(envelope.EventType.DELETED, obj)]
    if seen is None:
        return [Change(envelope.EventType.ADDED, obj)]
    if seen.uid != uid:
        # The watch skipped the old object's DELETED (it never does; this keeps the invariant).
        return [_tombstone(key, seen), Change(envelope.EventType.ADDED, obj)]
    if seen.resource_version == rv:
        return []  # already published (a replayed event)
    return [Change(envelope.EventType.MODIFIED, obj)]


def remember(published: MutableMapping[str, Seen], cluster: str, kind: str, change: Change) -> None:
    """Fold a published change into the memory of its kind."""
    if isinstance(change.object, DeletedFinalStateUnknown):
        tomb = change.object
        published.pop(envelope.object_key(cluster, kind, tomb.namespace, tomb.name), None)
        return
    key = key_of(cluster, kind, change.object)
    if change.type is envelope.EventType.DELETED:
        published.pop(key, None)
    else:
        _, _, uid, rv = identity(change.object)
        published[key] = Seen(uid=uid, resource_version=rv)


def to_envelope(
    change: Change,
    *,
    cluster: str,
    resource: Resource,
    observed_at: float,
    list_resource_version: str = "",
) -> envelope.Envelope:
    """The sanitized envelope of a change.

    A tombstone carries a minimal object (identity only) and, as resourceVersion, the
    list's (it is when the delete became known; later than anything published before).
    """
    if isinstance(change.object, DeletedFinalStateUnknown):
        tomb = change.object
        meta: dict[str, Any] = {"name": tomb.name, "uid": tomb.uid}
        if tomb.namespace:
            meta["namespace"] = tomb.namespace
        meta["resourceVersion"] = tomb.resource_version
        return envelope.Envelope(
            cluster=cluster,
            api_version=resource.api_version,
            kind=resource.kind,
            namespace=tomb.namespace,
            name=tomb.name,
            uid=tomb.uid,
            type=envelope.EventType.DELETED,
            resource_version=list_resource_version or tomb.resource_version,
            observed_at=observed_at,
            object={"apiVersion": resource.api_version, "kind": resource.kind, "metadata": meta},
        )
    obj = dict(change.object)
    # PartialObjectMetadata items name their own meta kind; restore the resource's.
    obj["apiVersion"], obj["kind"] = resource.api_version, resource.kind
    namespace, name, uid, rv = identity(obj)
    return envelope.Envelope(
        cluster=cluster,
        api_version=resource.api_version,
        kind=resource.kind,
        namespace=namespace,
        name=name,
        uid=uid,
        type=change.type,
        resource_version=rv,
        observed_at=observed_at,
        object=sanitize.sanitize(obj),
    )


def fold_history(records: Iterable[envelope.Envelope], *, cluster: str) -> dict[str, Published]:
    """Rebuild every kind's memory from the resources topic (oldest record first).

    Records of other clusters and SYNCED markers are ignored; the latest record per key
    wins, and a key whose latest record is DELETED is absent.
    """
    kinds: dict[str, Published] = {}
    for record in records:
        fold_record(kinds, record, cluster=cluster)
    return kinds


def fold_record(kinds: dict[str, Published], record: envelope.Envelope, *, cluster: str) -> None:
    """Fold one record of the resources topic into every kind's memory (see fold_history)."""
    if record.cluster != cluster or record.type is envelope.EventType.SYNCED:
        return
    published = kinds.setdefault(record.kind, {})
    if record.type is envelope.EventType.DELETED:
        published.pop(record.key, None)
    else:
        published[record.key] = Seen(uid=record.uid, resource_version=record.resource_version)


def _tombstone(key: str, seen: Seen) -> Change:
    _, namespace, name = key.rsplit("/", 2)
    return Change(
        envelope.EventType.DELETED,
        DeletedFinalStateUnknown(
            namespace=namespace, name=name, uid=seen.uid, resource_version=seen.resource_version
        ),
    )
