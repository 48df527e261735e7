"""The harness watching itself: its CPU and how late its event loop runs.

Flows in: nothing (started around a measured phase).
Flows out: ``cores_harness`` (CPU of this process over the phase, in cores) and the
loop's lag (``harness_lag_*``: how much later than asked a 10-ms sleep wakes). The churn
scenario timestamps SSE arrivals and feed entries in this process: when the loop runs
late, those hops and the end-to-end latency include the harness's own delay, not the
pipeline's — these figures say whether a run can be trusted.
"""

from __future__ import annotations

import asyncio
import time

from bench.scenarios import stats
from topolog import stopping

TICK_S = 0.01


class SelfCheck:
    """``async with SelfCheck() as check: ...``; then ``check.result()``."""

    def __init__(self) -> None:
        self.lags: list[float] = []
        self._task: asyncio.Task[None] | None = None
        self._cpu = 0.0
        self._wall = 0.0

    async def __aenter__(self) -> SelfCheck:
        self._cpu, self._wall = time.process_time(), time.perf_counter()
        self._task = asyncio.create_task(self._tick(), name="bench-selfcheck")
        return self

    async def __aexit__(self, *exc: object) -> None:
        await stopping.cancel_and_wait(self._task)
        self._cpu = time.process_time() - self._cpu
        self._wall = time.perf_counter() - self._wall

    async def _tick(self) -> None:
        while True:
            asked = time.perf_counter()
            await asyncio.sleep(TICK_S)
            self.lags.append(max(0.0, time.perf_counter() - asked - TICK_S))

    def result(self) -> stats.Result:
        return {
            "cores_harness": round(self._cpu / self._wall, 2) if self._wall else 0.0,
            **stats.latency_ms(self.lags, "harness_lag"),
        }
