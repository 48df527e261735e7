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

Order: a batch of at least ``order_after`` entries (an initial sync, a replay, a
backlog) is derived in ``kinds.DERIVE_ORDER`` — referenced kinds first — instead of in
source order: a sync read from many partitions interleaves its kinds, and a pod derived
before its ReplicaSet, ConfigMap or claim makes a placeholder that the real object then
replaces (node, edges, their deletion and the edges again: ~25 % more changes). The
sort is stable and by kind, so one object's events keep their order; redeliveries and
stale versions are judged before it, in source order. The graph does not depend on the
order; each changeset's time does, so changeset times are kept non-decreasing per
cluster (a changeset is stamped with at least the time of the one before it), which the
gateway's replay by revision relies on.

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

import logging
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from processors import batches
from processors.deadletter import DeadLetter, Reason
from topolog import tuning
from topolog.core import envelope, graph, kinds
from topolog.core.derive import alerts
from topolog.core.derive.engine import Deriver

log = logging.getLogger(__name__)

#: Entries of a batch from which ``Derivation.apply`` freezes the heap (module doc).
FREEZE_AFTER = 256

#: Bytes of cluster records from which the derive stage and the replay decode them with
#: the collector paused and freeze what they decoded (``tuning.collector_paused``): about
#: ``FREEZE_AFTER`` envelopes.
FREEZE_BYTES = 256 * 1024

#: Entries of a batch from which ``Derivation.apply`` derives in ``kinds.DERIVE_ORDER``.
ORDER_AFTER = 256

#: Cluster batches (records of ~1 MiB of envelopes) merged into one derive batch, live
#: (``app.Options.derive_batch``) and when replaying: up to ~27k envelopes of a sync in
#: kind order at once (a 10k-pod sync read 800 envelopes of a partition at a time,
#: ordered ~7k at once, made 6.7 % more changes than its graph; ordered ~27k, none).
MERGED_RECORDS = 32

#: Envelopes derived between two yields to the event loop (``Derivation.parts``).
STEP = 2000

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
        order_after: int | None = ORDER_AFTER,
    ) -> None:
        self.max_changes = max_changes
        self.resolution = resolution
        if os.environ.get("TOPOLOG_GC_TUNING") == "0":
            freeze_after = None
        #: Freeze the heap after a batch of at least this many envelopes (module doc).
        self.freeze_after = freeze_after
        #: Derive a batch of at least this many admitted entries in kind order (None: never).
        self.order_after = order_after
        self._derivers: dict[str, Deriver] = {}
        self._marks: dict[_Stream, int] = {}
        #: envelope key → (uid, numeric resourceVersion) of the latest version derived.
        self._versions: dict[str, tuple[str, int]] = {}
        #: cluster → no changeset of it is stamped earlier (the latest changeset's time,
        #: and after a batch the latest time of its envelopes: ``_derive_entries``).
        self._stamped: dict[str, float] = {}

    @property
    def clusters(self) -> list[str]:
        return sorted(self._derivers)

    def listing(self, cluster: str) -> bool:
        """Whether ``cluster``'s initial list is still being derived: no alert until its
        SYNCED marker (``derive.engine``)."""
        deriver = self._derivers.get(cluster)
        return deriver is None or deriver.initial_list

    def snapshot(self, cluster: str) -> tuple[dict[str, graph.Node], dict[str, graph.Edge]]:
        deriver = self._derivers.get(cluster)
        return deriver.snapshot() if deriver is not None else ({}, {})

    def apply(self, batch: batches.Batch, *, emit: bool = True) -> Output:
        """Derive every new entry of ``batch``; with ``emit=False`` only update the state."""
        out = Output()
        for part in self.steps(batch, emit=emit):
            out.extend(part)
        return out

    def parts(
        self, decoded: Sequence[batches.Batch], *, emit: bool = True, size: int = STEP
    ) -> Iterator[Output]:
        """``steps`` of consecutive batches of one partition, merged into one batch per
        cluster first (``batches.merged``): what the derive stage and the replay do with
        the records they take at once."""
        for batch in batches.merged(decoded):
            yield from self.steps(batch, emit=emit, size=size)

    def steps(
        self, batch: batches.Batch, *, emit: bool = True, size: int | None = None
    ) -> Iterator[Output]:
        """``apply`` in parts of at most ``size`` derived entries each (None: one part), for
        a caller that lets its event loop run between them: the same changes, alerts and
        dead letters in the same order (a changeset never spans two parts). The first part
        also holds the batch's redeliveries and stale versions."""
        out = Output()
        admitted = self._admit(batch, out, emit)
        if self.order_after is not None and len(admitted) >= self.order_after:
            admitted.sort(key=_rank)
        size = size or len(admitted) or 1
        for start in range(0, max(len(admitted), 1), size):
            yield self._derive(batch.cluster, admitted[start : start + size], out, emit)
            out = Output()

    def _derive(
        self, cluster: str, entries: list[batches.Entry], out: Output, emit: bool
    ) -> Output:
        if self.freeze_after is None or len(entries) < self.freeze_after:
            return self._derive_entries(cluster, entries, out, emit)
        # A large batch: no collection while it runs (deriving makes no cyclic garbage,
        # and nothing else runs meanwhile), then what it built leaves the collector.
        with tuning.collector_paused(freeze=True):
            return self._derive_entries(cluster, entries, out, emit)

    def _derive_entries(
        self, cluster: str, entries: list[batches.Entry], out: Output, emit: bool
    ) -> Output:
        deriver = self._derivers.get(cluster)
        if deriver is None:
            deriver = self._derivers[cluster] = Deriver(cluster)
        pending: list[graph.Change] = []
        first = last = 0.0
        listing = deriver.initial_list

        def flush() -> None:
            nonlocal pending
            if pending:
                stamp = max(last, self._stamped.get(cluster, last))
                self._stamped[cluster] = stamp
                out.changesets.append((cluster, graph.ChangeSet(stamp, pending)))
                pending = []

        for entry in entries:
            env = entry.envelope
            out.applied += 1
            try:
                result = deriver.apply(env, source=entry.source)
            except Exception as exc:  # a rule's bug must not stop the cluster's pipeline
                if emit:
                    log.exception("deriving %s at %s failed", env.key, entry.source)
                    out.deadletters.append(
                        _dead(entry, Reason.DERIVE_ERROR, f"{type(exc).__name__}: {exc}")
                    )
                continue
            if not emit:
                continue
            # A cluster's SYNCED marker changes nothing but raises its initial alerts.
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
        if listing and not deriver.initial_list and emit:
            log.info("cluster %r: initial list complete; alerts from now on", cluster)
        if entries:
            # After a batch the floor is the latest time admitted, whatever the order or the
            # batches: a replay (``emit=False``) leaves the floor an emitting run left.
            latest = max(entry.envelope.observed_at for entry in entries)
            self._stamped[cluster] = max(latest, self._stamped.get(cluster, latest))
        return out

    def _admit(self, batch: batches.Batch, out: Output, emit: bool) -> list[batches.Entry]:
        """The entries of ``batch`` to derive, in source order (a cluster's SYNCED marker
        last): not redeliveries (counted in ``out``) and not stale versions
        (dead-lettered when emitting)."""
        admitted: list[batches.Entry] = []
        closing: list[batches.Entry] = []
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
                        _dead(
                            entry,
                            Reason.OUT_OF_ORDER,
                            f"resourceVersion {env.resource_version} after a newer one",
                        )
                    )
                continue
            if envelope.is_cluster_synced(env):
                closing.append(entry)
            else:
                admitted.append(entry)
        # A cluster's SYNCED marker closes the initial list: after every entry it came with
        # (one published in the same millisecond as the last objects of the list may be
        # read before some of them; a change after it only joins the list).
        return admitted + closing if closing else admitted

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


def _rank(entry: batches.Entry) -> int:
    return kinds.derive_rank(entry.envelope.kind)


def _dead(entry: batches.Entry, reason: Reason, detail: str) -> DeadLetter:
    """The dead letter of an entry: its envelope's key and JSON, and its source."""
    env = entry.envelope
    return DeadLetter(reason, detail, env.key.encode(), env.to_json(), entry.source)
