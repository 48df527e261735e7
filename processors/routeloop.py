"""The route stage's consumer: resource records in batches, committed after their outputs.

Flows in: records of the resources topic, read with a plain aiokafka consumer in the
consumer group ``route_group(app id)`` (``getmany``: no per-record faust machinery —
the resources topic has one small envelope per record, so that machinery cost ~90 µs
per envelope, ~20 % of a worker).
Flows out: each batch, as ``routing.Record``s, to a ``Handler`` that sends what it makes
of them (cluster batches, dead letters) and returns once the broker acknowledged all of
it; then the batch's offsets are committed.

Guarantees (docs/processors.md):

- at-least-once: an offset is committed only after the handler returned for the records
  below it (their outputs acknowledged); a crash redelivers the uncommitted tail;
- per-partition order: a batch keeps each partition's records in offset order, and a
  batch is delivered before the next one is handed over;
- rebalancing: the revocation callback waits for the batch in flight, commits what was
  delivered, and drops the records fetched but not yet handled (their new owner reads
  them from the committed offset), so the old owner never commits after revocation;
- an error in the handler, a send or a commit crashes the service (``mode``: the worker
  stops) instead of skipping records.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import mode
from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError
from aiokafka.structs import ConsumerRecord

from processors import routing, timeorder
from topolog.core import graph

log = logging.getLogger(__name__)

#: What the stage does with a batch: send its outputs, return once they are acknowledged.
Handler = Callable[[Sequence[routing.Record]], Awaitable[None]]

#: How long ``getmany`` blocks while no batch is open (then it checks for a stop).
IDLE_POLL_S = 1.0

#: Bytes of one partition per fetch (see ``RouteLoop.on_start``).
FETCH_BYTES_PER_PARTITION = 64 * 1024

#: Records held back for timestamp order (``timeorder``: a partition has data on the
#: broker not fetched yet) are handed on in fetch order after this long without progress,
#: or once this many are held: a partition whose fetch does not come (its leader moving,
#: a slow broker) delays the others this much at most. ``getmany`` hands over one
#: partition's fetched records after another, so a round of fetches (``FETCH_BYTES_PER_
#: PARTITION`` of each partition: up to ~1,000 small records) is taken in whole.
MAX_HOLD_S = 0.5
MAX_HOLD_RECORDS = 20_000


def route_group(app_id: str) -> str:
    """The route stage's consumer group (the app's own group consumes the cluster topic)."""
    return f"{app_id}.route"


@dataclass(frozen=True, slots=True)
class Config:
    bootstrap: str
    topic: str
    group_id: str
    #: Records per batch, and the longest wait after a batch's first record to fill it.
    batch: int
    within: float
    #: Delivered offsets are committed at most this often, and when the topic goes idle
    #: (after ``IDLE_POLL_S``), on revocation and on stop.
    commit_interval: float
    session_timeout: float


class RouteLoop(mode.Service):
    """Consume ``Config.topic`` in batches for ``handler``; commit what it delivered."""

    def __init__(self, config: Config, handler: Handler, **kwargs: Any) -> None:
        self.config = config
        self.handler = handler
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Future[None] | None = None
        #: Held while a batch is handled and while offsets are committed.
        self._lock = asyncio.Lock()
        #: Fetched, not yet handled (cleared on revocation).
        self._held: timeorder.Held[TopicPartition, ConsumerRecord[bytes, bytes]] = timeorder.Held()
        #: When records were last handed on (or first held after none were).
        self._moved = time.monotonic()
        #: The next batch is taken in fetch order (a partition's fetch did not come).
        self._force = False
        #: Next offset per partition whose outputs are delivered but not committed.
        self._delivered: dict[TopicPartition, int] = {}
        self._committed_at = time.monotonic()
        #: The periodic commit, sent while the next batch is fetched and handled.
        self._committing: asyncio.Future[None] | None = None
        super().__init__(**kwargs)

    @property
    def consumer(self) -> AIOKafkaConsumer:
        assert self._consumer is not None, "not started"
        return self._consumer

    async def on_start(self) -> None:
        c = self.config
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=c.bootstrap,
            group_id=c.group_id,
            client_id=c.group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            session_timeout_ms=int(c.session_timeout * 1000),
            heartbeat_interval_ms=int(c.session_timeout * 1000 / 4),
            # A fetch takes this much of each partition (aiokafka's default: 1 MiB, thousands
            # of compressed envelopes), and the batches drain one partition's share before
            # the next: a backlog's kinds then interleave over more than the derive stage
            # orders at once (``processors.deriving``), and pods come long before the
            # objects they reference. A 100k-pod sync in kind order replaced ~28k
            # placeholder nodes with 256 KiB, 7-11k with 64 KiB, and 56k with 16 KiB (the
            # partitions then drifted further apart): docs/benchmarks.md, session 10.
            max_partition_fetch_bytes=FETCH_BYTES_PER_PARTITION,
        )
        self._consumer.subscribe([c.topic], listener=_Listener(self))
        await self._consumer.start()

    async def on_started(self) -> None:
        self._task = self.add_future(self._run())

    async def on_stop(self) -> None:
        if self._consumer is None:
            return
        async with self._lock:  # the batch in flight is delivered first
            if self._task is not None:
                self._task.cancel()  # waiting to fetch or for the lock: nothing lost
            try:
                await self._commit()
            except Exception:  # uncommitted offsets are redelivered: log, go on stopping
                log.exception("route: final commit failed (the tail will be re-routed)")
        await self._consumer.stop()

    # -- the loop --------------------------------------------------------------------------

    async def _run(self) -> None:
        while not self.should_stop:
            if self._committing is not None and self._committing.done():
                await self._committed()  # a failed commit crashes the service
            await self._fill()
            if self._held.count:
                await self._handle()
            elif self._delivered:
                async with self._lock:  # idle: commit the tail now, not with the next batch
                    await self._commit()

    async def _fill(self) -> None:
        """Fetch until a batch can be handed on (``timeorder``): ``batch`` records ready,
        or some ready ``within`` after the first record; records held back for timestamp
        order are forced out after ``MAX_HOLD_S`` or beyond ``MAX_HOLD_RECORDS``."""
        batch, cap = self.config.batch, MAX_HOLD_RECORDS
        deadline = time.monotonic() + self.config.within if self._held.count else None
        while True:
            now = time.monotonic()
            due = deadline is not None and now >= deadline
            if self._held.count >= batch or (due and self._held.count):
                ready = self._held.ready(await self._frontiers())
                if ready >= batch or (ready and (due or self._held.count >= cap)):
                    return
                if not ready and (self._held.count >= cap or now - self._moved >= MAX_HOLD_S):
                    self._force = True
                    return
            if not self._held.count:
                timeout = IDLE_POLL_S
            elif deadline is not None and not due:
                timeout = deadline - now
            else:  # waiting for the fetch of a partition behind the others
                timeout = max(self._moved + MAX_HOLD_S - now, 0.001)
            fetched = await self.consumer.getmany(
                timeout_ms=max(int(timeout * 1000), 0), max_records=cap - self._held.count
            )
            if fetched and not self._held.count:
                self._moved = time.monotonic()
            for tp, records in fetched.items():
                self._held.add(tp, records)
            if not self._held.count:
                return  # idle: let ``_run`` check for a stop
            if deadline is None:
                deadline = time.monotonic() + self.config.within

    async def _frontiers(self) -> dict[TopicPartition, float]:
        """Each assigned partition's frontier (``timeorder``): caught up once the consumer
        reached the high watermark of its last fetch."""
        out: dict[TopicPartition, float] = {}
        for tp in self.consumer.assignment():
            try:
                highwater = self.consumer.highwater(tp)
                caught_up = highwater is not None and await self.consumer.position(tp) >= highwater
            except (AssertionError, IllegalStateError):
                continue  # revoked meanwhile: the revocation drops what is held of it
            out[tp] = timeorder.frontier(self._held.of(tp), caught_up=caught_up)
        return out

    async def _handle(self) -> None:
        async with self._lock:
            force, self._force = self._force, False
            frontiers = {} if force else await self._frontiers()
            limit = self._held.count if force else self.config.batch
            taken = self._held.release(frontiers, limit=limit, force=force)
            if not taken:
                return  # revoked while filling, or no longer ready
            self._moved = time.monotonic()
            records = [
                routing.Record(r.key, r.value, graph.Source(r.topic, r.partition, r.offset))
                for _, r in taken
            ]
            await self.handler(records)
            for tp, r in taken:
                self._delivered[tp] = r.offset + 1
            committing = self._committing
            if committing is not None and committing.done():
                await self._committed()  # raises what the commit raised
            if (
                self._committing is None
                and time.monotonic() - self._committed_at >= self.config.commit_interval
            ):
                # Off the hot path: the next batch does not wait for the commit's round
                # trip. One commit at a time (offsets are committed in order): while one
                # is in flight, the delivered offsets wait for a later batch.
                self._committing = asyncio.ensure_future(self._send_commit(self._take()))

    async def _commit(self) -> None:
        """Commit the delivered offsets, after any commit in flight (call with the lock held)."""
        await self._committed()
        await self._send_commit(self._take())

    async def _committed(self) -> None:
        """Wait for the commit in flight, if any (raises what it raised)."""
        committing, self._committing = self._committing, None
        if committing is not None:
            await committing

    def _take(self) -> dict[TopicPartition, int]:
        delivered, self._delivered = self._delivered, {}
        self._committed_at = time.monotonic()
        return delivered

    async def _send_commit(self, delivered: dict[TopicPartition, int]) -> None:
        if not delivered:
            return
        try:
            await self.consumer.commit(delivered)
        except CommitFailedError as exc:
            # The group moved on without us (e.g. a missed session); the new owners
            # re-route from the last commit: duplicates, which the derive stage skips.
            log.warning("route: commit failed, the tail will be re-routed: %s", exc)

    async def _revoked(self, revoked: Iterable[TopicPartition]) -> None:
        async with self._lock:  # the batch in flight is delivered and committed first
            await self._commit()
            self._held.clear()
            self._force = False


class _Listener(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, loop: RouteLoop) -> None:
        self.loop = loop

    async def on_partitions_revoked(self, revoked: Iterable[TopicPartition]) -> None:
        await self.loop._revoked(revoked)

    async def on_partitions_assigned(self, assigned: Iterable[TopicPartition]) -> None:
        pass
