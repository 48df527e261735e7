"""Prometheus metrics of one app instance (own registry: several apps may share a process).

Flows in: observations from the request middleware, the query runner and the streams.
Flows out: ``/metrics`` in the Prometheus text format.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


@dataclass
class Metrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self.requests = Counter(
            "topolog_gateway_requests_total",
            "HTTP requests by route template, method and status.",
            ["route", "method", "status"],
            registry=r,
        )
        self.latency = Histogram(
            "topolog_gateway_request_seconds",
            "HTTP request duration (until the response starts, for streams).",
            ["route"],
            registry=r,
        )
        self.queries = Counter(
            "topolog_gateway_queries_total",
            "Gremlin queries by outcome (ok, error, timeout).",
            ["outcome"],
            registry=r,
        )
        self.streams = Gauge(
            "topolog_gateway_streams", "Open SSE streams.", ["endpoint"], registry=r
        )
        self.resyncs = Counter(
            "topolog_gateway_stream_resyncs_total",
            "Streams ended with a Resync event (slow client or trimmed feed).",
            registry=r,
        )
        self.revision = Gauge(
            "topolog_gateway_revision", "Graph revision the live hub stands at.", registry=r
        )
        self.deferred = Gauge(
            "topolog_gateway_deferred_versions",
            "Element versions the hub followed but has not read yet (no stream was open).",
            registry=r,
        )
