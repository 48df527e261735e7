"""Prometheus metrics of the producers (served by ``topolog producer --metrics-port``).

Flows in: increments from ``watching`` and ``publishing``.
Flows out: the default prometheus-client registry.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge

EVENTS = Counter(
    "topolog_producer_events_total",
    "Events published to the resources topic",
    ["kind", "type"],
)
RELISTS = Counter(
    "topolog_producer_relists_total",
    "Lists of a kind after the first (410 Gone, expired resourceVersion)",
    ["kind"],
)
WATCH_RESTARTS = Counter(
    "topolog_producer_watch_restarts_total",
    "Watch streams reopened (server timeout, dropped or half-open connection)",
    ["kind"],
)
QUIET_WATCHES = Counter(
    "topolog_producer_quiet_watches_total",
    "Watch streams that sent nothing for the read timeout and were reopened (a quiet kind)",
    ["kind"],
)
ERRORS = Counter(
    "topolog_producer_errors_total",
    "Errors while listing or watching a kind",
    ["kind", "reason"],
)
SKIPPED = Gauge(
    "topolog_producer_kind_skipped",
    "1 when a kind is not watched (forbidden by RBAC, or not served)",
    ["kind"],
)
PENDING = Gauge(
    "topolog_producer_pending_records",
    "Records handed to Kafka whose delivery is not yet acknowledged",
)
LAG = Gauge(
    "topolog_producer_event_lag_seconds",
    "Seconds between an object's last change (managedFields/creation time) and its publishing",
    ["kind"],
)
