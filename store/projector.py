"""The projector: consume the graph topic and keep the Redis projection up to date.

Flows in: graph records (``graph.ChangeSet`` JSON) from the graph topic.
Flows out: ``Projection.apply_records`` writes (one atomic script per changeset, its
arguments built straight from the record's JSON; one pipelined round trip per batch),
then Kafka offset commits, at most one per ``commit_interval_s`` and at stop.

Delivery: at-least-once. Offsets are committed only after Redis has the batch; a crash
in between redelivers it, and the high-water marks in Redis make the redelivery a no-op.
The committed offsets are only advisory (lag monitoring, ``kafka-consumer-groups``): the
projector resumes from the Redis high-water marks, so it commits on a timer rather than
after every batch — a commit per batch put a broker round trip between every small churn
batch and the next.
On partition assignment the consumer seeks to the offset after the Redis high-water mark
(the beginning when Redis has none, e.g. after a flush): Redis, not the committed
offset, says what has been applied, so a flushed Redis is rebuilt by simply running.
The same way, a projection written by an older version in another key layout
(``scripts.LAYOUT``) is dropped at start and rebuilt from the graph topic (the
projection is disposable; ``replace_old_layout=False`` refuses it instead).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from types import TracebackType

import redis.asyncio as aioredis
from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.structs import OffsetAndMetadata

from store import dump
from store.encoding import Position
from store.keys import Keys
from store.projection import LayoutMismatch, Projection, check_layout

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Progress:
    records: int = 0
    changes: int = 0
    revisions: int = 0
    redelivered: int = 0


class _SeekToHighWaterMark(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, projector: Projector) -> None:
        self._projector = projector

    async def on_partitions_revoked(self, revoked: Iterable[TopicPartition]) -> None:
        return None

    async def on_partitions_assigned(self, assigned: Iterable[TopicPartition]) -> None:
        await self._projector.seek_to_applied(list(assigned))


class Projector:
    """``async with Projector(...) as p: await p.run()``; ``stop()`` is idempotent."""

    def __init__(
        self,
        *,
        client: aioredis.Redis,
        keys: Keys,
        bootstrap: str,
        topic: str,
        group_id: str = "topolog-projector",
        batch_records: int = 500,
        replace_old_layout: bool = True,
        commit_interval_s: float = 1.0,
    ) -> None:
        self._client = client
        self._replace_old_layout = replace_old_layout
        self._keys = keys
        self._topic = topic
        self._projection = Projection(client, keys)
        self._batch_records = batch_records
        self._commit_interval_s = commit_interval_s
        #: Offsets applied to Redis but not yet committed to Kafka.
        self._pending: dict[TopicPartition, OffsetAndMetadata] = {}
        self._committed_at = 0.0
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap,
            group_id=group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=batch_records,
        )
        self.progress = Progress()
        self._started = False
        self._stopping = asyncio.Event()

    async def __aenter__(self) -> Projector:
        try:
            await check_layout(self._client, self._keys)
        except LayoutMismatch as exc:
            if not self._replace_old_layout:
                raise
            log.warning("%s. Dropping it instead: it is rebuilt from the graph topic", exc)
            await dump.drop(self._client, self._keys)
        await self._consumer.start()
        self._started = True
        self._consumer.subscribe([self._topic], listener=_SeekToHighWaterMark(self))
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    def request_stop(self) -> None:
        """Make ``run()`` return after the batch in hand is applied and committed."""
        self._stopping.set()

    async def stop(self) -> None:
        self._stopping.set()
        if self._started:
            self._started = False
            with contextlib.suppress(Exception):
                await self._commit()
            with contextlib.suppress(Exception):
                await self._consumer.stop()

    async def seek_to_applied(self, partitions: list[TopicPartition]) -> None:
        for tp in partitions:
            field = Position(topic=tp.topic, partition=tp.partition, offset=0).stream
            applied = await self._client.hget(self._keys.hwm, field)
            if applied is None:
                await self._consumer.seek_to_beginning(tp)
            else:
                self._consumer.seek(tp, int(applied) + 1)

    async def run(self) -> None:
        """Consume until ``stop()``."""
        while not self._stopping.is_set():
            await self.step(timeout_ms=1000)

    async def step(self, *, timeout_ms: int = 1000) -> int:
        """Fetch and apply one batch (commit when due); returns the number of records handled."""
        fetched = await self._consumer.getmany(
            timeout_ms=timeout_ms, max_records=self._batch_records
        )
        batch: list[tuple[bytes, Position]] = []
        commits: dict[TopicPartition, OffsetAndMetadata] = {}
        handled = 0
        for tp, records in fetched.items():
            for record in records:
                handled += 1
                if record.value is not None:  # a tombstone is no changeset
                    position = Position(tp.topic, tp.partition, record.offset)
                    batch.append((record.value, position))
            if records:
                commits[tp] = OffsetAndMetadata(records[-1].offset + 1, "")
        for applied in await self._projection.apply_records(batch):
            if applied is None:  # unreadable: logged and skipped
                continue
            self.progress.records += 1
            self.progress.redelivered += applied.redelivered
            if applied.revision > 0:
                self.progress.revisions += 1
                self.progress.changes += applied.changes
        self._pending.update(commits)
        if self._pending and time.monotonic() - self._committed_at >= self._commit_interval_s:
            await self._commit()
        return handled

    async def _commit(self) -> None:
        """Commit the offsets applied so far (still assigned ones: a revoked partition's
        new owner resumes from the Redis high-water mark anyway)."""
        assigned = self._consumer.assignment()
        pending = {tp: o for tp, o in self._pending.items() if tp in assigned}
        self._pending.clear()
        self._committed_at = time.monotonic()
        if pending:
            await self._consumer.commit(pending)

    async def caught_up(self) -> bool:
        """Whether every assigned partition has been applied up to its end offset."""
        assigned = list(self._consumer.assignment())
        if not assigned:
            return False
        ends = await self._consumer.end_offsets(assigned)
        for tp in assigned:
            if await self._consumer.position(tp) < ends[tp]:
                return False
        return True
