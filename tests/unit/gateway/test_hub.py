"""The hub's fan-out: every subscriber gets its batch; equal visibilities share the work."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from gateway import events, hub, wire
from gateway.memory_backend import MemoryBackend
from gateway.scope import Scope
from gateway.settings import GatewaySettings
from store.history import History
from topolog.core import query


def visibility(gremlin: str) -> events.Visibility:
    return events.Visibility(Scope(), query.element_filter(query.parse(gremlin)))


async def loaded(backend: MemoryBackend) -> hub.Hub:
    h = hub.Hub(backend, block_s=0.05)
    await h.start()
    await until(lambda: h.ready)
    return h


async def until(check: Any) -> None:
    for _ in range(500):
        if check():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("timed out")


async def test_subscribers_with_one_filter_share_one_rendering_and_all_get_the_batch(
    backend: MemoryBackend, graph_builders: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    g = graph_builders
    h = await loaded(backend)
    renders: list[events.Visibility] = []
    real = events.render

    def counting(transitions: Any, vis: events.Visibility, *memo: Any) -> list[events.Event]:
        renders.append(vis)
        return real(transitions, vis, *memo)

    monkeypatch.setattr(events, "render", counting)
    shop = [
        h.subscribe(visibility("G.V().Has('K8s.Namespace', 'shop')"), limit=100) for _ in range(3)
    ]
    other = h.subscribe(visibility("G.V().Has('K8s.Namespace', 'other')"), limit=100)
    await backend.apply(g.changeset(g.T0 + 10, g.upsert(g.node("api", "pod", "api", "shop"))))
    batches = [await asyncio.wait_for(sub.get(), 5) for sub in shop]
    # One per distinct filter that sees the change (not one per subscriber; the other
    # namespace's filter renders nothing).
    assert renders == [shop[0].vis]
    assert all(len(b) == 1 for b in batches)
    # One batch object, encoded once, shared by the whole group.
    assert all(b[0] is batches[0][0] for b in batches)
    batch = batches[0][0]
    assert [e.name for e in batch.events] == ["NodeAdded"]
    assert batch.payload == wire.batch(batch.revision, batch.events, history=h.history)
    # Ids name the projection's identity: revisions start again when it is rebuilt.
    assert h.history == events.history_tag(backend.epoch)
    head = f"id: {h.history}:{batch.revision}.0\r\nevent: NodeAdded\r\n"
    assert batch.payload.startswith(head.encode())
    assert other.start == shop[0].start
    assert h.subscribers == 4
    for sub in shop:
        sub.close()
    assert h.subscribers == 1
    await h.stop()


async def test_batches_that_queue_up_are_taken_together_in_order(
    backend: MemoryBackend, graph_builders: Any
) -> None:
    g = graph_builders
    h = await loaded(backend)
    sub = h.subscribe(visibility("G.V().Has('K8s.Namespace', 'shop')"), limit=100)
    for i in range(3):
        await backend.apply(
            g.changeset(g.T0 + 10 + i, g.upsert(g.node(f"n{i}", "pod", "x", "shop")))
        )
    await until(lambda: h.revision == sub.start + 3)
    batches = await asyncio.wait_for(sub.get(), 5)
    assert [b.revision for b in batches] == [sub.start + 1, sub.start + 2, sub.start + 3]
    assert [b.events[0].data["ID"] for b in batches] == ["n0", "n1", "n2"]
    await h.stop()


async def test_a_subscriber_over_its_bound_is_dropped_after_its_queued_batches(
    backend: MemoryBackend, graph_builders: Any
) -> None:
    g = graph_builders
    h = await loaded(backend)
    slow = h.subscribe(visibility("G.V().Has('K8s.Namespace', 'shop')"), limit=2)
    fine = h.subscribe(visibility("G.V().Has('K8s.Namespace', 'shop')"), limit=100)
    for i in range(3):
        await backend.apply(
            g.changeset(g.T0 + 10 + i, g.upsert(g.node(f"n{i}", "pod", "x", "shop")))
        )
    await until(lambda: h.revision == slow.start + 3)
    assert h.subscribers == 1
    assert len(await asyncio.wait_for(slow.get(), 5)) == 2
    with pytest.raises(hub.Overflow):
        await asyncio.wait_for(slow.get(), 5)
    assert len(await asyncio.wait_for(fine.get(), 5)) == 3
    await h.stop()


async def test_the_sync_event_is_computed_once_per_revision_and_filter(
    backend: MemoryBackend, graph_builders: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    g = graph_builders
    h = await loaded(backend)
    syncs: list[int] = []
    real = events.sync

    def counting(mirror: Any, vis: events.Visibility) -> events.Event:
        syncs.append(mirror.revision)
        return real(mirror, vis)

    monkeypatch.setattr(events, "sync", counting)
    vis = visibility("G.V().Has('K8s.Namespace', 'shop')")
    first = h.sync(vis)
    assert h.sync(visibility("G.V().Has('K8s.Namespace', 'shop')")) is first
    assert len(syncs) == 1
    await backend.apply(g.changeset(g.T0 + 10, g.upsert(g.node("api", "pod", "api", "shop"))))
    await until(lambda: h.revision != syncs[0])
    await h.live_mirror()  # no subscriber: the upsert was deferred; completed here
    later = h.sync(vis)
    assert len(syncs) == 2
    assert "api" in {n["ID"] for n in later.data["Nodes"]}
    assert "api" not in {n["ID"] for n in first.data["Nodes"]}
    payload = h.sync_payload(vis)
    assert h.sync_payload(visibility("G.V().Has('K8s.Namespace', 'shop')")) is payload
    assert payload == wire.event("Sync", later.data, f"{h.history}:{h.revision}")
    assert len(syncs) == 2
    await h.stop()


async def test_encoded_syncs_are_kept_within_a_budget_but_always_the_first(
    backend: MemoryBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = await loaded(backend)
    monkeypatch.setattr(hub, "_SYNC_CACHE_BYTES", 10)  # smaller than any Sync
    big = visibility("G.V().Has('K8s.Namespace', 'shop')")
    assert h.sync_payload(big) is h.sync_payload(big)
    other = visibility("G.V().Has('K8s.Namespace', 'other')")
    first = h.sync_payload(other)
    assert h.sync_payload(other) == first and h.sync_payload(other) is not first
    await h.stop()


async def test_without_subscribers_the_hub_stops_reading_the_feed_and_reloads_for_the_next(
    backend: MemoryBackend, graph_builders: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    g = graph_builders
    h = hub.Hub(backend, block_s=0.05, idle_s=0.05)
    await h.start()
    await until(lambda: h.ready and not h.live)
    assert not h.mirror.nodes and not h.mirror.edges  # the mirror is dropped
    reads: list[int] = []
    real = backend.wait_after

    async def counting(after: int, timeout_s: float, epoch: str | None = None, **kw: Any) -> Any:
        reads.append(after)
        return await real(after, timeout_s, epoch, **kw)

    monkeypatch.setattr(backend, "wait_after", counting)
    for i in range(3):
        await backend.apply(
            g.changeset(g.T0 + 10 + i, g.upsert(g.node(f"n{i}", "pod", "x", "shop")))
        )
    await asyncio.sleep(0.2)
    assert reads == []  # parked: the feed is not read while nobody listens
    vis = visibility("G.V().Has('K8s.Namespace', 'shop')")
    with pytest.raises(RuntimeError):
        h.subscribe(vis, limit=100)
    await h.live_mirror()
    sub = h.subscribe(vis, limit=100)
    assert h.live and sub.start == await backend.revision()
    # The first subscriber's Sync is the graph now, changes made while parked included.
    assert {"n0", "n1", "n2"} <= {n["ID"] for n in h.sync(vis).data["Nodes"]}
    await backend.apply(g.changeset(g.T0 + 20, g.upsert(g.node("n3", "pod", "x", "shop"))))
    batches = await asyncio.wait_for(sub.get(), 5)
    assert [(b.revision, b.events[0].data["ID"]) for b in batches] == [(sub.start + 1, "n3")]
    # Subscribed, the hub keeps following however long it waits.
    await asyncio.sleep(0.2)
    assert h.live
    await backend.apply(g.changeset(g.T0 + 30, g.upsert(g.node("n4", "pod", "x", "shop"))))
    batches = await asyncio.wait_for(sub.get(), 5)
    assert [b.revision for b in batches] == [sub.start + 2]
    sub.close()
    await until(lambda: not h.live)  # and parks again once the last one left
    await h.stop()


async def test_subscribers_arriving_together_at_a_parked_hub_share_one_load(
    backend: MemoryBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = hub.Hub(backend, block_s=0.05, idle_s=0.05)
    await h.start()
    await until(lambda: h.ready and not h.live)
    loads: list[int] = []
    real = backend.current

    async def counting() -> Any:
        loads.append(1)
        return await real()

    monkeypatch.setattr(backend, "current", counting)
    vis = visibility("G.V()")

    async def join() -> hub.Subscription:
        await h.live_mirror()
        return h.subscribe(vis, limit=100)

    subs = await asyncio.gather(*(join() for _ in range(5)))
    assert loads == [1]
    assert {s.start for s in subs} == {h.revision}
    await h.stop()


def _history(*changesets: Any) -> History:
    out = History()
    for cs in changesets:
        out.apply(cs)
    return out


async def test_a_rebuild_of_the_same_history_is_followed_on_without_a_resync(
    backend: MemoryBackend, graph_builders: Any
) -> None:
    g = graph_builders
    h = await loaded(backend)
    sub = h.subscribe(visibility("G.V()"), limit=1000)
    base = g.changeset(g.T0, *g.base_changes())
    second = g.changeset(g.T0 + 10, g.upsert(g.node("n1", "pod", "n1", "shop")))
    await backend.apply(second)
    assert [b.revision for b in await asyncio.wait_for(sub.get(), 5)] == [2]
    # Dropped and replayed from the same records, slower than the hub reads: behind
    # it first (the hub waits, serving its mirror), then past it.
    await backend.rebuild(_history(base))
    await asyncio.sleep(0.3)
    assert h.revision == 2 and h.epoch != backend.epoch and not sub.overflowed
    await backend.apply(second)
    await backend.apply(g.changeset(g.T0 + 20, g.upsert(g.node("n2", "pod", "n2", "shop"))))
    batches = await asyncio.wait_for(sub.get(), 5)
    assert [(b.revision, b.events[0].data["ID"]) for b in batches] == [(3, "n2")]
    assert h.epoch == backend.epoch and not sub.overflowed
    # Event ids name the new identity; those of the old one still resume (same history).
    assert h.history == events.history_tag(backend.epoch)
    assert h.histories == {events.history_tag("memory-0"), h.history}
    assert batches[0].payload.startswith(f"id: {h.history}:3.0".encode())
    current = await backend.current()
    assert (h.mirror.nodes, h.mirror.edges) == (current.nodes, current.edges)
    await h.stop()


async def test_a_rebuild_of_another_history_past_the_hub_resyncs_its_streams_to_it(
    backend: MemoryBackend, graph_builders: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    g = graph_builders
    vis = visibility("G.V()")
    h = await loaded(backend)
    sub = h.subscribe(vis, limit=1000)
    stale = h.sync_payload(vis)  # cached for revision 1
    loads = 0
    gate = asyncio.Event()
    real = backend.current

    async def slow() -> Any:  # the hub's check passes, its reload waits for the gate
        nonlocal loads
        loads += 1
        if loads > 1:
            await gate.wait()
        return await real()

    monkeypatch.setattr(backend, "current", slow)
    # Another history, already at the hub's revision: the number alone cannot tell.
    await backend.rebuild(
        _history(g.changeset(g.T0 + 5, g.upsert(g.node("x", "pod", "x", "other"))))
    )
    with pytest.raises(hub.Overflow):  # its stream ends with a Resync
        await asyncio.wait_for(sub.get(), 5)
    await until(lambda: not h.live)  # reloading
    # A stream reconnecting at once waits for the new graph (not the mirror being
    # replaced, nor the Sync cached for the same revision number).

    async def join() -> tuple[hub.Subscription, bytes]:
        await h.live_mirror()
        return h.subscribe(vis, limit=1000), h.sync_payload(vis)

    joined = asyncio.create_task(join())
    await asyncio.sleep(0.1)
    assert not joined.done()
    gate.set()
    again, payload = await asyncio.wait_for(joined, 5)
    assert again.start == 1 and payload != stale
    assert {n["ID"] for n in h.sync(vis).data["Nodes"]} == {"x"}
    assert h.epoch == backend.epoch
    # Only the new identity's ids resume: the old ones name another history.
    assert h.histories == {events.history_tag(backend.epoch)}
    await backend.apply(g.changeset(g.T0 + 20, g.upsert(g.node("y", "pod", "y", "other"))))
    batches = await asyncio.wait_for(again.get(), 5)
    assert [(b.revision, b.events[0].data["ID"]) for b in batches] == [(2, "y")]
    await h.stop()


async def test_a_rebuilt_projection_that_stays_behind_the_hub_is_reloaded(
    backend: MemoryBackend, graph_builders: Any
) -> None:
    h = hub.Hub(backend, block_s=0.05, rebuild_wait_s=0.3)
    await h.start()
    await until(lambda: h.ready)
    sub = h.subscribe(visibility("G.V()"), limit=1000)
    await backend.rebuild()  # nothing replayed (yet): revision 0, behind the hub's 1
    await asyncio.sleep(0.15)
    assert h.revision == 1 and not sub.overflowed  # waiting for it to pass
    with pytest.raises(hub.Overflow):
        await asyncio.wait_for(sub.get(), 5)
    await until(lambda: h.live and h.epoch == backend.epoch)
    assert h.revision == 0 and not h.mirror.nodes
    await h.stop()


async def test_without_subscribers_versions_are_read_once_the_feed_is_quiet(
    backend: MemoryBackend, graph_builders: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    g = graph_builders
    h = hub.Hub(backend, block_s=0.05, settle_quiet_s=0.3)
    await h.start()
    await until(lambda: h.ready)
    read: list[str] = []
    resolve, deferred_versions = backend.resolve, backend.deferred_versions

    async def resolving(entries: Any) -> Any:
        read.extend(c["id"] for e in entries for c in e.changes)
        return await resolve(entries)

    async def reading(wanted: Any) -> Any:
        read.extend(i for ids, _ in wanted.values() for i in ids)
        return await deferred_versions(wanted)

    monkeypatch.setattr(backend, "resolve", resolving)
    monkeypatch.setattr(backend, "deferred_versions", reading)
    # A burst nobody watches: a change every 0.05 s for 1 s, "busy" changed 20 times.
    for i in range(20):
        await backend.apply(
            g.changeset(
                g.T0 + 10 + i,
                g.upsert(g.node("busy", "pod", "busy", "shop", state="UP" if i % 2 else "DOWN")),
                g.upsert(g.node(f"n{i}", "pod", f"n{i}", "shop")),
                *([g.delete(f"n{i - 1}")] if i % 3 == 0 and i else []),
            )
        )
        await asyncio.sleep(0.05)
    await until(lambda: h.revision == backend.history.revision)
    assert read == []  # nothing read while the feed kept moving
    assert h.mirror.deferred > 0
    await until(lambda: h.mirror.deferred == 0)  # then read once the feed was quiet
    assert read.count("busy") == 1  # the latest version of "busy" only
    assert not {f"n{i - 1}" for i in range(3, 20, 3)} & set(read)  # deleted: not read
    current = await backend.current()
    assert (h.mirror.nodes, h.mirror.edges) == (current.nodes, current.edges)
    await h.stop()


async def test_a_subscriber_waits_for_the_deferred_versions_and_syncs_with_them(
    backend: MemoryBackend, graph_builders: Any
) -> None:
    g = graph_builders
    h = hub.Hub(backend, block_s=0.05, settle_quiet_s=60)  # never quiet long enough
    await h.start()
    await until(lambda: h.ready)
    for i in range(3):
        await backend.apply(
            g.changeset(g.T0 + 10 + i, g.upsert(g.node(f"n{i}", "pod", "x", "shop")))
        )
    await until(lambda: h.revision == backend.history.revision)
    assert h.mirror.deferred == 3
    vis = visibility("G.V().Has('K8s.Namespace', 'shop')")
    with pytest.raises(RuntimeError):
        h.subscribe(vis, limit=100)  # an incomplete mirror
    await h.live_mirror()
    sub = h.subscribe(vis, limit=100)
    assert h.mirror.deferred == 0 and sub.start == backend.history.revision
    synced = {n["ID"]: n for n in h.sync(vis).data["Nodes"]}
    current = await backend.current()
    assert {f"n{i}" for i in range(3)} <= set(synced)
    assert all(synced[i] == current.nodes[i] for i in synced)
    # Subscribed: the next change is read at once and delivered.
    await backend.apply(g.changeset(g.T0 + 20, g.upsert(g.node("n3", "pod", "x", "shop"))))
    batches = await asyncio.wait_for(sub.get(), 5)
    assert [(b.revision, b.events[0].data["ID"]) for b in batches] == [(sub.start + 1, "n3")]
    await h.stop()


async def test_with_deferral_off_every_version_is_read_at_once(
    backend: MemoryBackend, graph_builders: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TOPOLOG_GATEWAY_FEED_SETTLE_QUIET_S", "none")
    g = graph_builders
    h = hub.Hub(backend, block_s=0.05, settle_quiet_s=GatewaySettings().feed_settle_quiet_s)
    await h.start()
    await until(lambda: h.ready)
    await backend.apply(g.changeset(g.T0 + 10, g.upsert(g.node("n0", "pod", "x", "shop"))))
    await until(lambda: h.revision == backend.history.revision)
    assert h.mirror.deferred == 0 and "n0" in h.mirror.nodes
    await h.stop()
