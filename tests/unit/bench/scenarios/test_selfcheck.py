"""The harness's self-check reports a blocked event loop and its own CPU."""

from __future__ import annotations

import asyncio
import time

from bench.scenarios import selfcheck


async def test_a_blocked_loop_shows_as_lag_and_busy_cpu_as_cores() -> None:
    async with selfcheck.SelfCheck() as check:
        await asyncio.sleep(0.05)
        busy_until = time.perf_counter() + 0.15
        while time.perf_counter() < busy_until:  # the loop cannot run: a late wake-up
            pass
        await asyncio.sleep(0.05)
    result = check.result()
    assert result["harness_lag_max_ms"] >= 100
    assert result["harness_lag_p50_ms"] < 50
    assert 0.3 < result["cores_harness"] <= 1.5


async def test_an_idle_loop_is_on_time() -> None:
    async with selfcheck.SelfCheck() as check:
        await asyncio.sleep(0.2)
    result = check.result()
    assert result["harness_lag_n"] >= 5
    assert result["harness_lag_max_ms"] < 50
    assert result["cores_harness"] < 0.5
