"""Deriving: cluster batches in, graph changesets, alerts and dead letters out.

Flows in: ``batches.Batch`` values of one cluster-topic partition, in offset order.
Flows out: ``Output`` — ``graph.ChangeSet``s for the graph topic (keyed by cluster),
``alerts.Alert``s for the alerts topic, dead letters for envelopes a rule failed on.
``processors.app`` sends them; ``replaying`` feeds the same method with ``emit=False``
to rebuild the state after a restart.

State: one ``Deriver`` per cluster, and per (cluster, source partition) the highest
source offset applied. An entry at or below that mark is a redelivery (the route stage
re-sent it after a rebalance or a crash) and is skipped: re-applying an old version of
an object after a newer one would briefly revert it.

ChangeSets: the changes of consecutive envelopes share one changeset (one Kafka record)
while their ``observed_at`` lie within ``resolution`` seconds and the changeset holds
fewer than ``max_changes`` changes; its time is the latest of those ``observed_at``
(so time travel sees an event at most ``resolution`` late). One envelope's changes are
never split across changesets, so the store applies each event atomically.

Heap: a batch of at least ``freeze_after`` entries (an initial sync, a replay) runs
with the cyclic collector off and ends with ``gc.freeze()``, which moves every object
alive into CPython's permanent generation: the collector then no longer walks the
deriver state built so far (its collections walked it again and again as it grew:
~10 % of a worker's CPU in a sync). Deriving makes no cyclic garbage (a full collection
after a 10k-pod sync finds nothing) and frozen objects are still freed when their last
reference goes; only cyclic garbage alive at the freeze (a few asyncio objects of the
worker) is never collected. Small batches (churn) leave the collector as
``topolog.tuning`` set it. ``TOPOLOG_GC_TUNING=0`` turns this off with the rest of the
tuning.
"""

from __future__ import annotations

import gc
import logging
import os
from dataclasses import dataclass, field

from processors import batches
from processors.deadletter import DeadLetter, Reason
from topolog.core import envelope, graph
from topolog.core.derive import alerts
from topolog.core.derive.engine import Deriver

log = logging.getLogger(__name__)

#: Entries of a batch from which ``Derivation.apply`` freezes the heap (module doc).
FREEZE_AFTER = 256

#: (cluster, source topic, source partition)
_Stream = tuple[str, str, int]


@dataclass(slots=True)
class Output:
    #: ``(cluster, changeset)``, in the order they must be sent.
    changesets: list[tuple[str, graph.ChangeSet]] = field(default_factory=list)
    alerts: list[alerts.Alert] = field(default_factory=list)
    deadletters: list[DeadLetter] = field(default_factory=list)
    #: Envelopes given to a deriver.
    applied: int = 0
    #: Entries skipped as redeliveries.
    duplicates: int = 0

    @property
    def changes(self) -> int:
        return sum(len(cs.changes) for _, cs in self.changesets)

    def extend(self, other: Output) -> None:
        self.changesets.extend(other.changesets)
        self.alerts.extend(other.alerts)
        self.deadletters.extend(other.deadletters)
        self.applied += other.applied
        self.duplicates += other.duplicates


class Derivation:
    """The derivers of the clusters one worker owns, and what they have applied."""

    def __init__(
        self,
        *,
        max_changes: int = 2000,
        resolution: float = 1.0,
        freeze_after: int | None = FREEZE_AFTER,
    ) -> None:
        self.max_changes = max_changes
        self.resolution = resolution
        if os.environ.get("TOPOLOG_GC_TUNING") == "0":
            freeze_after = None
        #: Freeze the heap after a batch of at least this many envelopes (module doc).
        self.freeze_after = freeze_after
        self._derivers: dict[str, Deriver] = {}
        self._marks: dict[_Stream, int] = {}
        #: envelope key → (uid, numeric resourceVersion) of the latest version derived.
        self._versions: dict[str, tuple[str, int]] = {}

    @property
    def clusters(self) -> list[str]:
        return sorted(self._derivers)

    def snapshot(self, cluster: str) -> tuple[dict[str, graph.Node], dict[str, graph.Edge]]:
        deriver = self._derivers.get(cluster)
        return deriver.snapshot() if deriver is not None else ({}, {})

    def apply(self, batch: batches.Batch, *, emit: bool = True) -> Output:
        """Derive every new entry of ``batch``; with ``emit=False`` only update the state."""
        if self.freeze_after is None or len(batch.entries) < self.freeze_after:
            return self._apply(batch, emit)
        # A large batch: no collection while it runs (deriving makes no cyclic garbage,
        # and nothing else runs meanwhile), then what it built leaves the collector.
        enabled = gc.isenabled()
        gc.disable()
        try:
            return self._apply(batch, emit)
        finally:
            gc.freeze()
            if enabled:
                gc.enable()

    def _apply(self, batch: batches.Batch, emit: bool) -> Output:
        out = Output()
        deriver = self._derivers.get(batch.cluster)
        if deriver is None:
            deriver = self._derivers[batch.cluster] = Deriver(batch.cluster)
        pending: list[graph.Change] = []
        first = last = 0.0

        def flush() -> None:
            nonlocal pending
            if pending:
                out.changesets.append((batch.cluster, graph.ChangeSet(last, pending)))
                pending = []

        for entry in batch.entries:
            stream = (batch.cluster, entry.source.topic, entry.source.partition)
            if entry.source.offset <= self._marks.get(stream, -1):
                out.duplicates += 1
                continue
            self._marks[stream] = entry.source.offset
            env = entry.envelope
            if self._stale(env):
                if emit:
                    out.deadletters.append(
                        DeadLetter(
                            Reason.OUT_OF_ORDER,
                            f"resourceVersion {env.resource_version} after a newer one",
                            env.key.encode(),
                            env.to_json(),
                            entry.source,
                        )
                    )
                continue
            out.applied += 1
            try:
                result = deriver.apply(env, source=entry.source)
            except Exception as exc:  # a rule's bug must not stop the cluster's pipeline
                if emit:
                    log.exception("deriving %s at %s failed", env.key, entry.source)
                    out.deadletters.append(
                        DeadLetter(
                            Reason.DERIVE_ERROR,
                            f"{type(exc).__name__}: {exc}",
                            env.key.encode(),
                            env.to_json(),
                            entry.source,
                        )
                    )
                continue
            if not emit:
                continue
            out.alerts.extend(result.alerts)
            if not result.changes:
                continue
            t = env.observed_at
            if pending and (
                abs(t - first) > self.resolution
                or len(pending) + len(result.changes) > self.max_changes
            ):
                flush()
            if not pending:
                first = last = t
            last = max(last, t)
            pending.extend(result.changes)
        flush()
        return out

    def _stale(self, env: envelope.Envelope) -> bool:
        """Whether ``env`` is older than what was derived for its object, remembering it if not.

        Per-object order holds end to end (the resources topic is keyed by object), so a
        stale version only comes from a faulty writer or a replayed old record; deriving
        it would move the graph back in time. resourceVersions are opaque to clients but
        etcd's are increasing integers; non-numeric ones (ingested manifests) and a new
        uid (a recreated object) are never stale.
        """
        if env.type is envelope.EventType.DELETED:
            self._versions.pop(env.key, None)
            return False
        if not env.resource_version.isdigit():
            return False
        version = int(env.resource_version)
        seen = self._versions.get(env.key)
        if seen is not None and seen[0] == env.uid and version < seen[1]:
            return True
        self._versions[env.key] = (env.uid, version)
        return False
