"""Retention: drop history and feed entries older than the hot window, in small steps.

Flows in: the clock (``now`` in ms, passed in) and the window length.
Flows out: Redis deletions made by ``scripts.TRIM`` calls of at most ``batch`` entries
each, so the projector's writes interleave between steps instead of waiting behind one
long script. After a pass, the graph at any time >= ``now - window`` still reads the
same as before it; times before that raise ``reader.OutsideHotWindow``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType

import redis.asyncio as aioredis

from store import scripts
from store.keys import Keys
from topolog import stopping

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Trimmed:
    history: int
    feed: int
    steps: int


async def trim(client: aioredis.Redis, keys: Keys, *, cutoff: int, batch: int = 200) -> Trimmed:
    """Remove everything that ended at or before ``cutoff`` (ms), one batch per call."""
    script = client.register_script(scripts.TRIM)
    history = feed = steps = 0
    while True:
        removed, feed_removed = (int(x) for x in await script(args=[keys.prefix, cutoff, batch]))
        history += removed
        feed += feed_removed
        steps += 1
        if removed < batch and feed_removed < batch:
            return Trimmed(history=history, feed=feed, steps=steps)
        await asyncio.sleep(0)  # let writers in between steps


def wall_clock_ms() -> int:
    return int(time.time() * 1000)


class Trimmer:
    """A background task trimming every ``interval_s``; ``async with Trimmer(...)``."""

    def __init__(
        self,
        client: aioredis.Redis,
        keys: Keys,
        *,
        window_ms: int,
        interval_s: float = 30.0,
        batch: int = 200,
        clock: Callable[[], int] = wall_clock_ms,
    ) -> None:
        self._client = client
        self._keys = keys
        self._window_ms = window_ms
        self._interval_s = interval_s
        self._batch = batch
        self._clock = clock
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    async def __aenter__(self) -> Trimmer:
        self._stopping.clear()
        self._task = asyncio.create_task(self._run(), name="store-trimmer")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def stop(self, *, grace_s: float = 10.0) -> None:
        """Let the current step finish (never cut a Redis call in half), then end."""
        task, self._task = self._task, None
        self._stopping.set()
        if task is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(task), grace_s)
        except TimeoutError:
            await stopping.cancel_and_wait(task)

    async def once(self) -> Trimmed:
        cutoff = self._clock() - self._window_ms
        return await trim(self._client, self._keys, cutoff=cutoff, batch=self._batch)

    async def _run(self) -> None:
        while not self._stopping.is_set():
            done = await self.once()
            if done.history or done.feed:
                log.info("trimmed %d versions and %d feed entries", done.history, done.feed)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self._interval_s)
