"""The churn scenario's bookkeeping: when a phase counts as drained, CPU in cores, and
which broker's CPU it may read."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from bench.scenarios import churn, stack
from topolog.platform import state


async def test_a_phase_drains_only_when_its_last_probe_arrived() -> None:
    window = churn._Window()
    window.sent |= {1: 0.0, 2: 0.0}
    window.arrive(1, at=0.05, wall=100.0)
    window.done_publishing()
    assert not window.all_in.is_set()  # probe 2 is still on its way

    async def late_arrival() -> None:
        await asyncio.sleep(0.05)
        window.arrive(2, at=0.5, wall=100.0)

    arriving = asyncio.create_task(late_arrival())
    waited = await window.drained()
    await arriving
    assert 0.03 < waited < 1.0
    assert sorted(window.latencies) == [0.05, 0.5]
    assert window.arrived == {1: 100.05, 2: 100.5}
    assert window.sent == {}


async def test_a_phase_without_probes_in_flight_is_drained_when_publishing_stops() -> None:
    window = churn._Window()
    window.done_publishing()
    assert await window.drained() < 0.1


def test_cpu_seconds_become_cores_over_the_phase() -> None:
    before = {"processor": 10.0, "kafka": 5.0}
    after = {"processor": 16.0, "kafka": 7.0, "gateway": 3.0}
    assert churn._cores(before, after, 10.0) == {"processor": 0.6, "kafka": 0.2, "gateway": 0.3}
    assert churn._cores(before, after, 0.0) == {"processor": 0.0, "kafka": 0.0, "gateway": 0.0}


def test_the_broker_cpu_is_read_only_for_the_local_platforms_broker(tmp_path: Path) -> None:
    platform = state.PlatformState(
        state_dir=tmp_path, ports={"kafka": 19999, "redis": 1, "etcd_client": 2}
    )
    platform.save()
    platform.run_dir.mkdir()
    (platform.run_dir / "kafka.pid").write_text(str(os.getpid()))  # a live process
    assert stack.broker_pid("127.0.0.1:19999", tmp_path) == os.getpid()
    assert stack.broker_pid("10.0.0.7:9092", tmp_path) is None  # someone else's broker
    assert stack.broker_pid("127.0.0.1:19999", tmp_path / "never-started") is None
