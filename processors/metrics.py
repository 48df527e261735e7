"""Prometheus metrics of the processors (served by ``topolog processor --metrics-port``).

Flows in: increments from ``processors.app`` (both stages) and ``replaying``.
Flows out: the default prometheus-client registry.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

RECORDS = Counter(
    "topolog_processor_records_total",
    "Records consumed, by stage (route: resource records; derive: cluster batches)",
    ["stage"],
)
ENVELOPES = Counter(
    "topolog_processor_envelopes_total",
    "Envelopes given to a deriver (redeliveries excluded)",
)
DUPLICATES = Counter(
    "topolog_processor_duplicates_total",
    "Envelopes skipped by the derive stage as redeliveries of an applied source offset",
)
DEADLETTERS = Counter(
    "topolog_processor_deadletters_total",
    "Records sent to the dead-letter topic, by reason",
    ["reason"],
)
CHANGES = Counter("topolog_processor_changes_total", "Graph changes emitted")
CHANGESETS = Counter("topolog_processor_changesets_total", "Changeset records emitted")
ALERTS = Counter("topolog_processor_alerts_total", "State-transition alerts emitted")
INITIAL_LIST = Gauge(
    "topolog_processor_initial_list",
    "1 while a cluster's initial list is being derived (its alerts held until complete), then 0",
    ["cluster"],
)
REPLAYED = Counter(
    "topolog_processor_replayed_records_total",
    "Cluster batches replayed (without emitting) to rebuild the derive state",
)
BATCH_SECONDS = Histogram(
    "topolog_processor_batch_seconds",
    "Time to handle one take() batch, outputs delivered, by stage",
    ["stage"],
)
