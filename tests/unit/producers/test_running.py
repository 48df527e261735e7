"""The producer closes a cluster's initial list once every kind has listed (no Kafka)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any, cast

import pytest

from producers import publishing, running, watching
from topolog.core import envelope

CLUSTER = "east"


class FakeReflector:
    """A kind's events: what its list found and its SYNCED marker, as many times as listed."""

    def __init__(self, kind: str, lists: int = 1, *, skipped: bool = False) -> None:
        self.kind, self.lists, self.skipped = kind, lists, skipped
        self.resource = SimpleNamespace(kind=kind)
        self.cluster = CLUSTER
        self.go = asyncio.Event()

    async def events(self) -> AsyncIterator[envelope.Envelope]:
        await self.go.wait()
        if self.skipped:
            return
        for n in range(self.lists):
            yield envelope.Envelope(
                CLUSTER, "v1", self.kind, "", f"{self.kind}-{n}", "u", envelope.EventType.ADDED,
                "1", 1.0,
            )  # fmt: skip
            yield envelope.synced_marker(
                cluster=CLUSTER, api_version="v1", kind=self.kind, resource_version="1",
                observed_at=1.0,
            )  # fmt: skip


class FakePublisher:
    def __init__(self) -> None:
        self.log: list[str] = []

    async def submit(self, event: envelope.Envelope) -> None:
        self.log.append(f"{event.type.value} {event.kind}")

    async def flush(self) -> None:
        self.log.append("flush")

    async def publish_marker(self, marker: envelope.Envelope) -> None:
        # The real one puts a copy on every partition and awaits their delivery.
        self.log.append(f"{marker.type.value} {marker.kind}")


async def _pump_all(reflectors: list[FakeReflector], order: list[int]) -> list[str]:
    """Run every pump, letting the reflectors list in ``order``; what was published."""
    publisher = FakePublisher()
    as_reflectors = cast(list[watching.Reflector], reflectors)
    initial = running.InitialList(CLUSTER, as_reflectors, clock=lambda: 2.0)
    pumps = [
        asyncio.create_task(running.pump(r, cast(publishing.Publisher, publisher), initial))
        for r in as_reflectors
    ]
    for i in order:
        reflectors[i].go.set()
        for _ in range(10):
            await asyncio.sleep(0)
    await asyncio.gather(*pumps)
    return publisher.log


def _markers(log: list[str]) -> list[int]:
    return [i for i, line in enumerate(log) if line == "SYNCED Cluster"]


async def test_the_cluster_marker_follows_the_last_kinds_first_list_once() -> None:
    reflectors = [FakeReflector("Pod", lists=2), FakeReflector("Secret"), FakeReflector("Node")]
    log = await _pump_all(reflectors, order=[0, 2, 1])
    [at] = _markers(log)
    # After every kind's first list was flushed; the Pod's relist does not repeat it.
    first_lists = [log.index(f"SYNCED {k}") for k in ("Pod", "Secret", "Node")]
    assert at > max(first_lists) and log[at - 1] == "flush"
    assert log.count("SYNCED Pod") == 2


async def test_a_skipped_kind_does_not_hold_the_initial_list_open() -> None:
    reflectors = [FakeReflector("Pod"), FakeReflector("Widget", skipped=True)]
    log = await _pump_all(reflectors, order=[0, 1])
    assert len(_markers(log)) == 1 and _markers(log)[0] > log.index("SYNCED Pod")


async def test_no_marker_while_a_kind_has_not_listed() -> None:
    publisher = FakePublisher()
    slow = FakeReflector("Secret")
    reflectors = cast(list[watching.Reflector], [FakeReflector("Pod"), slow])
    initial = running.InitialList(CLUSTER, reflectors, clock=lambda: 3.0)
    cast(Any, reflectors[0]).go.set()
    await running.pump(reflectors[0], cast(publishing.Publisher, publisher), initial)
    assert _markers(publisher.log) == []
    # The slow kind lists: now the initial list is complete, and only once.
    assert initial.listed(reflectors[1]) == envelope.cluster_synced_marker(
        cluster=CLUSTER, observed_at=3.0
    )
    assert initial.listed(reflectors[1]) is None


async def test_a_kind_that_never_lists_holds_the_marker_back_only_until_the_timeout(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A kind whose list keeps failing (its reflector retries for ever) must not hold
    every alert of the cluster back for ever: the marker goes anyway, naming it."""
    publisher = FakePublisher()
    stuck = FakeReflector("Secret")
    listed = FakeReflector("Pod")
    reflectors = cast(list[watching.Reflector], [listed, stuck])
    initial = running.InitialList(CLUSTER, reflectors, clock=lambda: 5.0)
    as_publisher = cast(publishing.Publisher, publisher)
    listed.go.set()
    await running.pump(reflectors[0], as_publisher, initial)
    assert _markers(publisher.log) == []
    with caplog.at_level(logging.WARNING, logger="producers.running"):
        await running.close_when_overdue(initial, as_publisher, 0.01)
    assert len(_markers(publisher.log)) == 1
    assert "Secret not listed yet" in caplog.text
    # The late kind lists at last: no second marker.
    stuck.go.set()
    await running.pump(reflectors[1], as_publisher, initial)
    await running.close_when_overdue(initial, as_publisher, 0)
    assert len(_markers(publisher.log)) == 1
