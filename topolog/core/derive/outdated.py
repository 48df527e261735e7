"""Outdated pods: pods running with an older copy of a ConfigMap or Secret they read.

Flows in (from ``engine``): every ConfigMap/Secret event (``set_config``,
``delete_config``), every pod upsert (``set_pod``) and removal (``remove_pod``), and
the pods to re-check after a config change (``recheck``, fed from the reverse-reference
index: only the pods that name the changed object).
Flows out: per pod node, ``metadata(pod)`` — ``Outdated`` (bool) and ``OutdatedRefs``
(``[{"Kind", "Name", "ChangedAt"}]``, ``ChangedAt`` in epoch ms) — merged by the engine
into the node's metadata; ``alerts`` turns a new entry into an alert.

The rule, for one pod and one ConfigMap/Secret its containers read (env, envFrom,
volumes, projected volumes; not imagePullSecrets):
- the pod started at ``status.startTime`` (else ``metadata.creationTimestamp``);
- the object last changed at the later of its ``metadata.creationTimestamp`` (a
  re-created object) and the ``observed_at`` of its latest MODIFIED event with a new
  resourceVersion. Secrets are watched as metadata only, so every MODIFIED counts, a
  label or annotation edit included (an approximation: the values cannot be compared);
- the pod is outdated by it when the object exists now and changed after the pod
  started. Times are compared in whole seconds (the API's resolution): a change in the
  same second as the start is not counted, so the flag never fires on a tie.
A pod that has finished (Succeeded/Failed), or whose start time is unknown, is never
outdated. A deleted object outdates nobody (the reference is "Missing" instead) until
it is re-created.

Incremental: a config event re-checks only the pods that name it; a pod event re-checks
only that pod. The result depends only on each object's own events, so any interleaving
that keeps per-object order gives the same flags.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from topolog.core import envelope
from topolog.core.derive import indexes
from topolog.core.kinds import fields, pod

#: The kinds whose changes can leave a pod outdated.
CONFIG_KINDS = frozenset({"ConfigMap", "Secret"})

#: Node metadata keys (documented in docs/query-language.md).
OUTDATED = "Outdated"
OUTDATED_REFS = "OutdatedRefs"

#: ``OutdatedRefs`` of every pod that is not outdated: one shared list (never modify it).
_NONE: list[dict[str, Any]] = []


@dataclass(frozen=True, slots=True, order=True)
class Ref:
    """One object a pod holds an outdated copy of."""

    #: The node Type of the object (``"secret"``, ``"configmap"``).
    kind: str
    name: str
    #: When the object last changed, epoch seconds (whole).
    changed_at: float

    def to_metadata(self) -> dict[str, Any]:
        return {"Kind": self.kind, "Name": self.name, "ChangedAt": int(self.changed_at * 1000)}


@dataclass(frozen=True, slots=True)
class _Config:
    uid: str
    resource_version: str
    created_at: float | None
    #: ``observed_at`` of the latest MODIFIED with a new resourceVersion (same uid).
    modified_at: float | None

    @property
    def changed_at(self) -> float | None:
        times = [t for t in (self.created_at, self.modified_at) if t is not None]
        return math.floor(max(times)) if times else None


@dataclass(slots=True)
class _Pod:
    namespace: str
    #: Whole epoch seconds; ``None``: unknown or finished (never outdated).
    started_at: float | None
    reads: tuple[tuple[str, str], ...]
    outdated: tuple[Ref, ...] = ()


def config_state(previous: _Config | None, env: envelope.Envelope) -> _Config:
    """The change record of a ConfigMap/Secret after the (non-DELETED) event ``env``."""
    meta = fields.meta(env.object)
    uid = env.uid or fields.uid(env.object)
    created = fields.timestamp(meta.get("creationTimestamp"))
    rv = env.resource_version
    if previous is None or previous.uid != uid:
        # First sight of this object. A MODIFIED first seen (replay of a compacted topic
        # keeps only the latest event) still says it changed then.
        modified = env.observed_at if env.type is envelope.EventType.MODIFIED else None
        return _Config(uid, rv, created, modified)
    if rv == previous.resource_version:
        # The same version again (a re-list, a redelivery): nothing changed.
        return previous
    # A new version of a known object (a MODIFIED, or an ADDED after a missed change).
    return _Config(uid, rv, created, env.observed_at)


def outdated_refs(
    *, started_at: float | None, changes: Iterable[tuple[str, str, float | None]]
) -> tuple[Ref, ...]:
    """The refs among ``changes`` — ``(kind, name, changed_at)`` — newer than the start."""
    if started_at is None:
        return ()
    return tuple(
        sorted(
            Ref(kind.lower(), name, changed)
            for kind, name, changed in changes
            if changed is not None and changed > started_at
        )
    )


class Tracker:
    """Change times of ConfigMaps/Secrets, start times of pods, and the flags they give."""

    def __init__(self) -> None:
        #: How many pod evaluations so far (for cost tests).
        self.evaluations = 0
        self._configs: dict[indexes.Key, _Config] = {}
        self._pods: dict[str, _Pod] = {}

    def set_config(self, key: indexes.Key, env: envelope.Envelope) -> bool:
        """Record an event of a ConfigMap/Secret; True when its change time moved."""
        before = self._configs.get(key)
        after = config_state(before, env)
        self._configs[key] = after
        return before is None or before.changed_at != after.changed_at

    def delete_config(self, key: indexes.Key) -> bool:
        """Forget a deleted ConfigMap/Secret; True when it was known."""
        return self._configs.pop(key, None) is not None

    def set_pod(self, node: str, obj: fields.Obj, *, namespace: str) -> bool:
        """Record a pod's start and reads and re-check it; True when its flags changed."""
        start = None if pod.finished(obj) else pod.started_at(obj)
        started = math.floor(start) if start is not None else None
        reads = tuple(pod.config_reads(obj))
        old = self._pods.get(node)
        if old is not None and (old.started_at, old.reads) == (started, reads):
            return False
        rec = _Pod(namespace, started, reads, old.outdated if old is not None else ())
        self._pods[node] = rec
        return self._evaluate(rec) or old is None

    def remove_pod(self, node: str) -> None:
        self._pods.pop(node, None)

    def recheck(self, nodes: Iterable[str]) -> set[str]:
        """Re-check the tracked pods among ``nodes``; the ones whose flags changed."""
        changed: set[str] = set()
        for node in nodes:
            rec = self._pods.get(node)
            if rec is not None and self._evaluate(rec):
                changed.add(node)
        return changed

    def metadata(self, node: str) -> dict[str, Any]:
        """``Outdated``/``OutdatedRefs`` of a tracked pod; ``{}`` for any other node."""
        rec = self._pods.get(node)
        if rec is None:
            return {}
        return {
            OUTDATED: bool(rec.outdated),
            OUTDATED_REFS: [ref.to_metadata() for ref in rec.outdated] if rec.outdated else _NONE,
        }

    def _evaluate(self, rec: _Pod) -> bool:
        self.evaluations += 1
        changes = []
        for kind, name in rec.reads:
            config = self._configs.get((kind, rec.namespace, name))
            changes.append((kind, name, config.changed_at if config is not None else None))
        found = outdated_refs(started_at=rec.started_at, changes=changes)
        if found == rec.outdated:
            return False
        rec.outdated = found
        return True
