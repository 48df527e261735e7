"""The faust app: the ``route`` stage, the ``derive`` agent and the topics between them.

Flows in: resource records from ``Settings.topic_resources`` (producers, keyed by object).
Flows out: cluster batches on ``<app id>.clusters`` (internal, keyed by cluster);
``graph.ChangeSet`` records on ``Settings.topic_graph`` (keyed by cluster; the store's
projector consumes them), alerts on ``Settings.topic_alerts`` (keyed by node id) and
dead letters on ``Settings.topic_deadletter`` (original key and value, reason headers).

The route stage is not a faust agent: the resources topic has one small record per
object, and faust's per-record machinery cost ~100 µs per record (docs/processors.md).
``routeloop.RouteLoop`` reads it in batches with a plain aiokafka consumer of its own
group (``routeloop.route_group``), started with the app and stopped with it; it commits
an offset only after ``_route`` returned, i.e. after the broker acknowledged every
cluster batch and dead letter made from the records below it. The derive stage is a
faust agent on the cluster topic, in the app's group: ``take_events`` acks a batch only
when the agent asks for the next one, and the agent awaits the delivery of every record
it produced for a batch before that. So no committed offset runs ahead of its outputs.
A crash redelivers the uncommitted tail: route re-sends batches (the derive stage skips
the entries it has applied), derive re-emits the same changesets (full-state upserts:
harmless to apply twice). Any unexpected error crashes the worker (the route loop's
``mode`` crash, the agent's ``CrashingSupervisor``) instead of continuing past records it
never finished.

Derive state (``deriving.Derivation``, in memory) is kept per cluster-topic partition,
with the next offset it expects. When a batch arrives at any other offset (first batch
after start, after a rebalance, after redelivery) the partition's state is rebuilt by
replaying the partition up to that offset without emitting (``replaying``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, cast

import faust
import mode

from processors import batches, deriving, metrics, replaying, routeloop, routing
from processors.deadletter import DeadLetter, Reason
from processors.deriving import Derivation, Output
from producers import topics
from topolog import tuning
from topolog.core import graph
from topolog.settings import Settings

log = logging.getLogger(__name__)

#: Producer request limit; the topics accept records up to 8 MiB.
MAX_REQUEST_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Options:
    #: The faust app id: the consumer group, and the prefix of the cluster topic.
    app_id: str = "topolog-processors"
    #: Resource records per route batch, and the longest wait to fill one.
    route_batch: int = 2000
    #: Cluster batches (each up to ~1 MiB of envelopes) per derive batch, derived as one
    #: batch per cluster in kind order (``deriving.MERGED_RECORDS``).
    derive_batch: int = deriving.MERGED_RECORDS
    #: Envelopes derived between two yields to the event loop (heartbeats, the route
    #: stage and the producer run in between).
    derive_step: int = deriving.STEP
    #: Under load batches fill without waiting; below saturation each stage waits up to
    #: this long, so it is the latency floor (0.2 s: p50 315 ms publish → graph topic;
    #: 0.02 s: 59 ms; 0.001 s: churn at 1,000 envelopes/s publish → SSE p50 ~90 ms
    #: instead of ~200-250, same CPU; docs/processors.md).
    within: float = 0.001
    #: Partitions of the cluster topic when this app creates it (bounds derive workers).
    partitions: int = 8
    #: Changeset grouping (see ``processors.deriving``).
    resolution: float = 1.0
    max_changes: int = 2000
    commit_interval: float = 1.0
    #: How long a silent (killed) worker keeps its partitions before a rebalance hands
    #: them over. faust's default is 60 s; deriving yields to heartbeats every batch.
    session_timeout: float = 10.0


def cluster_topic(app_id: str) -> str:
    """The app's internal topic of cluster batches (one per app: two apps never mix)."""
    return f"{app_id}.clusters"


@dataclass(slots=True)
class _Partition:
    derivation: Derivation
    next_offset: int


class Processor:
    """The faust app of one worker; ``app`` is what ``faust.Worker`` runs."""

    def __init__(self, settings: Settings, *, bootstrap: str, options: Options = Options()):
        self.settings = settings
        self.bootstrap = bootstrap
        self.options = options
        datadir = settings.state_dir / "faust" / options.app_id
        datadir.parent.mkdir(parents=True, exist_ok=True)
        self.app = faust.App(
            options.app_id,
            broker=f"kafka://{bootstrap}",
            store="memory://",
            # faust keeps a small data dir per app; under the state dir, not the cwd.
            datadir=str(datadir),
            web_enabled=False,
            topic_disable_leader=True,
            agent_supervisor=mode.CrashingSupervisor,
            consumer_auto_offset_reset="earliest",
            broker_commit_interval=options.commit_interval,
            broker_session_timeout=options.session_timeout,
            broker_heartbeat_interval=options.session_timeout / 4,
            producer_acks=-1,
            # zstd (level 3): ~5x faster than aiokafka's lz4 (level 9, HC) on changeset
            # JSON, and twice the ratio; ~5 % less worker CPU (docs/processors.md).
            producer_compression_type="zstd",
            producer_max_request_size=MAX_REQUEST_BYTES,
            # No linger: a record goes out once the loop yields. What a batch sends is
            # queued before that (one request), and while a request is in flight the next
            # records queue behind it (one in flight per broker), so batches still fill
            # under load; a 5-ms linger added 5 ms to the route and the derive hops.
            producer_linger=0.0,
        )
        raw: dict[str, Any] = {"key_serializer": "raw", "value_serializer": "raw"}
        self.clusters = self.app.topic(
            cluster_topic(options.app_id), partitions=options.partitions, **raw
        )
        self._partitions: dict[int, _Partition] = {}
        self._producer: faust.types.ProducerT | None = None
        self.route = routeloop.RouteLoop(
            routeloop.Config(
                bootstrap=bootstrap,
                topic=settings.topic_resources,
                group_id=routeloop.route_group(options.app_id),
                batch=options.route_batch,
                within=options.within,
                commit_interval=options.commit_interval,
                session_timeout=options.session_timeout,
            ),
            self._route,
        )
        self.app.task(self._start_route)
        self.app.agent(self.clusters, name="derive")(self._derive_agent)
        self.app.on_partitions_revoked.connect(cast(Any, self._on_revoked))

    # -- route ---------------------------------------------------------------------------

    async def _start_route(self) -> None:
        # An app task: runs once the app (its producer included) is started; the loop is
        # then a child of the app, stopped with it and crashing it on an error.
        await self.app.add_runtime_dependency(self.route)

    async def _route(self, records: Sequence[routing.Record]) -> None:
        started = time.monotonic()
        routed = routing.route(records)
        topic = self.clusters.get_topic_name()
        sent = [
            await self._send(topic, cluster.encode(), value) for cluster, value in routed.batches
        ]
        sent += await self._send_deadletters(routed.deadletters)
        await _delivered(sent)
        metrics.RECORDS.labels(stage="route").inc(len(records))
        metrics.BATCH_SECONDS.labels(stage="route").observe(time.monotonic() - started)

    # -- derive --------------------------------------------------------------------------

    async def _derive_agent(self, stream: faust.StreamT[bytes]) -> AsyncIterator[None]:
        async for events in cast(faust.Stream[bytes], stream).take_events(
            self.options.derive_batch, within=self.options.within
        ):
            started = time.monotonic()
            sent: list[Awaitable[Any]] = []
            for run in routing.runs([_record(event) for event in events]):
                sent += await self._derive_run(run)
            await _delivered(sent)
            metrics.RECORDS.labels(stage="derive").inc(len(events))
            metrics.BATCH_SECONDS.labels(stage="derive").observe(time.monotonic() - started)
            yield None

    async def _derive_run(self, run: list[routing.Record]) -> list[Awaitable[Any]]:
        """Derive consecutive records of one partition as one batch per cluster (ordered by
        kind: ``processors.deriving``), sending the outputs as they come."""
        partition, offset = run[0].source.partition, run[0].source.offset
        state = self._partitions.get(partition)
        if state is None or state.next_offset != offset:
            state = self._partitions[partition] = await self._rebuild(partition, offset)
        state.next_offset = run[-1].source.offset + 1
        decoded: list[batches.Batch] = []
        dead: list[DeadLetter] = []
        # A sync's run: ~27k envelopes, all kept until derived; the collector would walk
        # them (~1.3 M objects) for nothing. Churn's small runs are left alone.
        large = sum(len(record.value or b"") for record in run) >= deriving.FREEZE_BYTES
        with tuning.collector_paused(freeze=True) if large else contextlib.nullcontext():
            for record in run:
                try:
                    decoded.append(batches.decode(record.value or b""))
                except batches.BatchError as exc:
                    dead.append(
                        DeadLetter(
                            Reason.UNDECODABLE, str(exc), record.key, record.value, record.source
                        )
                    )
        sent = await self._send_output(Output(deadletters=dead)) if dead else []
        for out in state.derivation.parts(decoded, size=self.options.derive_step):
            sent += await self._send_output(out)
            # Deriving is CPU-bound: let the consumer and producer run between parts.
            await asyncio.sleep(0)
        for cluster in {batch.cluster for batch in decoded}:
            metrics.INITIAL_LIST.labels(cluster=cluster).set(state.derivation.listing(cluster))
        return sent

    async def _rebuild(self, partition: int, until: int) -> _Partition:
        derivation = Derivation(
            max_changes=self.options.max_changes, resolution=self.options.resolution
        )
        await replaying.rebuild(
            derivation,
            bootstrap=self.bootstrap,
            topic=self.clusters.get_topic_name(),
            partition=partition,
            until=until,
        )
        return _Partition(derivation, until)

    async def _on_revoked(self, app: Any, *args: Any, **kwargs: Any) -> None:
        """Forget the state of cluster partitions this worker no longer owns."""
        revoked: Iterable[Any] = args[0] if args else kwargs.get("revoked", ())
        name = self.clusters.get_topic_name()
        for tp in revoked:
            if tp.topic == name:
                self._partitions.pop(tp.partition, None)

    # -- output --------------------------------------------------------------------------

    async def _send_output(self, out: Output) -> list[Awaitable[Any]]:
        sent: list[Awaitable[Any]] = []
        graph_topic, alerts_topic = self.settings.topic_graph, self.settings.topic_alerts
        for cluster, changeset in out.changesets:
            sent.append(await self._send(graph_topic, cluster.encode(), changeset.to_json()))
        for alert in out.alerts:
            sent.append(await self._send(alerts_topic, alert.id.encode(), alert.to_json()))
        sent += await self._send_deadletters(out.deadletters)
        metrics.ENVELOPES.inc(out.applied)
        metrics.DUPLICATES.inc(out.duplicates)
        metrics.CHANGESETS.inc(len(out.changesets))
        metrics.CHANGES.inc(out.changes)
        metrics.ALERTS.inc(len(out.alerts))
        return sent

    async def _send_deadletters(self, deadletters: list[DeadLetter]) -> list[Awaitable[Any]]:
        sent: list[Awaitable[Any]] = []
        for dead in deadletters:
            log.warning("dead letter (%s) from %s: %s", dead.reason, dead.source, dead.detail)
            metrics.DEADLETTERS.labels(reason=dead.reason.value).inc()
            sent.append(
                await self._send(
                    self.settings.topic_deadletter, dead.key, dead.value, dead.headers()
                )
            )
        return sent

    async def _send(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        headers: list[tuple[str, bytes]] | None = None,
    ) -> Awaitable[Any]:
        """Hand one record to the app's producer; the result resolves once the broker
        acknowledged it (``acks=all``) and raises if it failed.

        The producer's own ``send``, not ``faust.Topic.send``: the topic's layer above it
        (future messages, sensors, callbacks, a debug log record) was ~1 % of the worker's
        CPU in a sync and gives nothing here (raw bytes, no attachments, no sensors).
        """
        producer = self._producer
        if producer is None:
            producer = self._producer = await self.app.maybe_start_producer()
        return await producer.send(topic, key, value, None, None, headers)


def _record(event: faust.EventT[Any]) -> routing.Record:
    message = event.message
    return routing.Record(
        key=message.key,
        value=message.value,
        source=graph.Source(message.topic, message.partition, message.offset),
    )


async def _delivered(sent: list[Awaitable[Any]]) -> None:
    """Wait until the broker acknowledged every record of a batch (raises on failure)."""
    if sent:
        await asyncio.gather(*sent)


def topic_specs(settings: Settings, options: Options) -> list[topics.TopicSpec]:
    """Every topic the app reads or writes: topolog's shared ones and its cluster topic."""
    return [
        *topics.specs(settings),
        # A batched copy of the resources topic, kept as long: the derive state is
        # rebuilt from it on every start (``replaying``).
        topics.TopicSpec(
            cluster_topic(options.app_id),
            options.partitions,
            {
                "cleanup.policy": "delete",
                "retention.ms": "-1",
                "retention.bytes": "-1",
                "max.message.bytes": str(MAX_REQUEST_BYTES),
                "compression.type": "producer",
            },
        ),
    ]


async def ensure_topics(settings: Settings, *, bootstrap: str, options: Options) -> list[str]:
    """Create the missing topics (see ``producers.topics``); returns the names created."""
    return await topics.ensure(bootstrap, topic_specs(settings, options))
