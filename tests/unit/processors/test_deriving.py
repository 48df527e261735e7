from __future__ import annotations

import collections
import dataclasses
import gc
import zlib
from collections.abc import Iterator

import pytest

from processors import batches, folding
from processors.deadletter import Reason
from processors.deriving import ORDER_AFTER, Derivation, Output
from tests.unit.processors import scenario
from topolog.core import envelope, graph, kinds
from topolog.core.derive.engine import Deriver


def _batch(
    envs: list[envelope.Envelope], *, cluster: str = "east", start: int = 0
) -> batches.Batch:
    return batches.Batch(
        cluster,
        [batches.Entry(graph.Source("res", 0, start + i), e) for i, e in enumerate(envs)],
    )


@pytest.fixture(scope="module")
def east() -> list[envelope.Envelope]:
    return scenario.cluster("east", seed=5, pods=120, churn=40, with_demo=True)


def test_every_change_carries_the_resource_record_that_caused_it(
    east: list[envelope.Envelope],
) -> None:
    out = Derivation().apply(_batch(east))
    reference = Deriver("east")
    # A large batch is derived in kind order (stable): the reference follows it.
    for i in sorted(range(len(east)), key=lambda i: kinds.derive_rank(east[i].kind)):
        expected = reference.apply(east[i], source=graph.Source("res", 0, i)).changes
        emitted = [
            c
            for _, cs in out.changesets
            for c in cs.changes
            if c.source == graph.Source("res", 0, i)
        ]
        assert emitted == expected


def test_emitted_changesets_fold_into_the_derivers_graph(east: list[envelope.Envelope]) -> None:
    derivation = Derivation()
    out = derivation.apply(_batch(east))
    assert folding.fold(cs for _, cs in out.changesets) == derivation.snapshot("east")
    assert {c for c, _ in out.changesets} == {"east"}


def test_redelivered_entries_are_skipped(east: list[envelope.Envelope]) -> None:
    derivation = Derivation()
    derivation.apply(_batch(east))
    before = derivation.snapshot("east")
    again = derivation.apply(_batch(east[len(east) // 2 :], start=len(east) // 2))
    assert again.changesets == [] and again.applied == 0
    assert again.duplicates == len(east) - len(east) // 2
    assert derivation.snapshot("east") == before


def test_redelivery_is_judged_per_cluster(east: list[envelope.Envelope]) -> None:
    """Two clusters' entries from one source partition are not each other's duplicates."""
    west = scenario.cluster("west", seed=6, pods=20, churn=0)
    derivation = Derivation()
    derivation.apply(_batch(east[:50], start=100))
    out = derivation.apply(_batch(west, cluster="west", start=0))
    assert out.duplicates == 0 and out.applied == len(west)


def test_state_replayed_without_emitting_continues_exactly_like_an_uninterrupted_run(
    east: list[envelope.Envelope],
) -> None:
    cut = len(east) * 2 // 3
    uninterrupted = Derivation()
    uninterrupted.apply(_batch(east[:cut]))
    expected = uninterrupted.apply(_batch(east[cut:], start=cut))

    restarted = Derivation()
    replayed = restarted.apply(_batch(east[:cut]), emit=False)
    assert replayed.changesets == [] and replayed.alerts == [] and replayed.applied == cut
    continued = restarted.apply(_batch(east[cut:], start=cut))
    assert continued.changesets == expected.changesets
    assert continued.alerts == expected.alerts
    assert expected.changes > 0


def _interleaved(envs: list[envelope.Envelope], partitions: int = 8) -> list[envelope.Envelope]:
    """``envs`` as a consumer of a keyed topic reads them: each object's events in order
    in one partition, the partitions read one after the other (the worst interleaving
    of kinds: most pods before the objects they reference)."""
    parts: list[list[envelope.Envelope]] = [[] for _ in range(partitions)]
    for env in envs:
        parts[zlib.crc32(env.key.encode()) % partitions].append(env)
    return [env for part in parts for env in part]


def _ops(out: Output) -> collections.Counter[graph.Op]:
    return collections.Counter(c.op for _, cs in out.changesets for c in cs.changes)


def test_a_large_batch_is_derived_referenced_kinds_first_without_placeholders() -> None:
    """A sync read partition after partition has pods before their ReplicaSets, configmaps
    and claims; derived in source order each of those makes a placeholder that the real
    object replaces. In kind order the same batch makes only the graph itself."""
    initial = scenario.cluster("east", seed=8, pods=150, churn=0)
    batch = _batch(_interleaved(initial))
    in_source_order = Derivation(order_after=None)
    wasteful = in_source_order.apply(batch)
    ordered = Derivation()
    out = ordered.apply(batch)

    nodes, edges = ordered.snapshot("east")
    assert ordered.snapshot("east") == in_source_order.snapshot("east")
    assert folding.fold(cs for _, cs in out.changesets) == (nodes, edges)
    assert _ops(out) == {graph.Op.NODE_UPSERT: len(nodes), graph.Op.EDGE_UPSERT: len(edges)}
    assert _ops(wasteful)[graph.Op.NODE_DELETE] > 20  # the placeholders ordering avoids
    # ... and no alert for them either way: a "Missing" placeholder is DOWN until replaced,
    # but the initial list raises its alerts once complete, from the graph as it stands.
    assert out.alerts == wasteful.alerts
    assert all(a.old_state is None for a in out.alerts)
    assert out.applied == wasteful.applied == len(initial)


def test_ordering_keeps_each_objects_events_in_order_and_judges_redelivery_in_source_order(
    east: list[envelope.Envelope],
) -> None:
    disordered, stale = _disordered(_interleaved(east))
    reference = Derivation()
    reference.apply(_batch(east))
    derivation = Derivation(order_after=1)
    half = len(disordered) // 2
    first = derivation.apply(_batch(disordered[:half]))
    # Redelivered from a quarter on: only the entries after the half are new.
    rest = derivation.apply(_batch(disordered[half // 2 :], start=half // 2))
    assert rest.duplicates == half - half // 2
    assert derivation.snapshot("east") == reference.snapshot("east")
    assert len(first.deadletters) + len(rest.deadletters) == stale
    folded = folding.fold(cs for out in (first, rest) for _, cs in out.changesets)
    assert folded == reference.snapshot("east")


def test_changeset_times_never_go_backwards_within_a_cluster_even_when_replayed(
    east: list[envelope.Envelope],
) -> None:
    """Kind order derives a Deployment observed later before a Pod observed earlier; the
    Pod's changeset is stamped no earlier than the Deployment's (the gateway replays a
    revision from the time of its changeset)."""
    late = [dataclasses.replace(e, observed_at=e.observed_at + 5) for e in east]
    mixed = [e if e.kind == "Pod" else late[i] for i, e in enumerate(east)]
    # The second batch: pods only, observed before the first batch's latest objects.
    head, tail = mixed[:-40], [e for e in mixed[-40:] if e.kind == "Pod"]
    assert min(e.observed_at for e in tail) < max(e.observed_at for e in head)
    live = Derivation(order_after=1, resolution=0.1)
    out = live.apply(_batch(head)).changesets
    out += live.apply(_batch(tail, start=len(head))).changesets
    times = [cs.time for _, cs in out]
    assert times == sorted(times) and len(set(times)) > 2
    assert times[-1] > max(e.observed_at for e in tail)  # stamped later than observed
    replayed = Derivation(order_after=1, resolution=0.1)
    replayed.apply(_batch(head), emit=False)
    again = replayed.apply(_batch(tail, start=len(head))).changesets
    assert again and [cs.time for _, cs in again] == times[len(times) - len(again) :]


def _namespaces(times: list[float]) -> list[envelope.Envelope]:
    """One new namespace per time (each event changes the graph)."""
    return [
        envelope.Envelope(
            cluster="east",
            api_version="v1",
            kind="Namespace",
            namespace="",
            name=f"ns-{i}",
            uid=f"ns-uid-{i}",
            type=envelope.EventType.ADDED,
            resource_version="1",
            observed_at=t,
            object={"metadata": {"name": f"ns-{i}", "uid": f"ns-uid-{i}"}},
        )
        for i, t in enumerate(times)
    ]


def test_events_within_the_resolution_share_a_changeset_stamped_with_the_latest_time() -> None:
    out = Derivation(resolution=1.0).apply(_batch(_namespaces([10.0, 10.4, 10.9, 12.0, 12.5])))
    assert [cs.time for _, cs in out.changesets] == [10.9, 12.5]


def test_a_changeset_holds_at_most_max_changes_but_never_splits_an_event() -> None:
    envs = _namespaces([10.0] * 12)
    out = Derivation(max_changes=5).apply(_batch(envs))
    sizes = [len(cs.changes) for _, cs in out.changesets]
    assert len(sizes) > 1
    reference = Deriver("east")
    per_event = [len(reference.apply(e).changes) for e in envs]
    assert all(s <= max(5, max(per_event)) for s in sizes)
    # Each changeset boundary falls between two events' changes.
    boundaries = set()
    total = 0
    for n in per_event:
        total += n
        boundaries.add(total)
    running = 0
    for s in sizes:
        running += s
        assert running in boundaries


def test_a_rule_that_raises_dead_letters_the_envelope_and_the_cluster_continues(
    east: list[envelope.Envelope], monkeypatch: pytest.MonkeyPatch
) -> None:
    victim = next(e for e in east if e.kind == "Service")
    original = Deriver.apply

    def failing(self: Deriver, env: envelope.Envelope, **kw: object) -> object:
        if env.key == victim.key:
            raise KeyError("spec")
        return original(self, env, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(Deriver, "apply", failing)
    out: Output = Derivation().apply(_batch(east))
    assert [(d.reason, d.key) for d in out.deadletters] == [
        (Reason.DERIVE_ERROR, victim.key.encode()) for e in east if e.key == victim.key
    ]
    assert out.applied == len(east)
    touched = {c.source.offset for _, cs in out.changesets for c in cs.changes if c.source}
    assert max(touched) > east.index(victim)


def _disordered(envs: list[envelope.Envelope]) -> tuple[list[envelope.Envelope], int]:
    """``envs`` with, after every MODIFIED, the object's previous version again (stale)
    and then the current one again (a duplicate); returns them and the stale count."""
    out: list[envelope.Envelope] = []
    previous: dict[str, envelope.Envelope] = {}
    stale = 0
    for env in envs:
        out.append(env)
        before = previous.get(env.key)
        if (
            env.type is envelope.EventType.MODIFIED
            and before is not None
            and before.uid == env.uid
            and int(before.resource_version) < int(env.resource_version)
        ):
            out.extend([before, env])
            stale += 1
        previous[env.key] = env
    return out, stale


def test_out_of_order_and_duplicated_delivery_ends_in_the_same_graph(
    east: list[envelope.Envelope],
) -> None:
    disordered, stale = _disordered(east)
    assert stale > 10
    reference = Derivation()
    reference.apply(_batch(east))
    derivation = Derivation()
    out = derivation.apply(_batch(disordered))
    assert derivation.snapshot("east") == reference.snapshot("east")
    assert [d.reason for d in out.deadletters] == [Reason.OUT_OF_ORDER] * stale
    assert folding.fold(cs for _, cs in out.changesets) == reference.snapshot("east")


def test_a_stale_version_is_judged_the_same_way_when_replayed(
    east: list[envelope.Envelope],
) -> None:
    disordered, _ = _disordered(east)
    half = len(disordered) // 2
    live = Derivation()
    live.apply(_batch(disordered[:half]))
    rest = live.apply(_batch(disordered[half:], start=half))
    replayed = Derivation()
    replayed.apply(_batch(disordered[:half]), emit=False)
    again = replayed.apply(_batch(disordered[half:], start=half))
    assert again.changesets == rest.changesets
    assert again.deadletters == rest.deadletters


def test_a_recreated_object_or_a_non_numeric_version_is_never_stale() -> None:
    derivation = Derivation()
    old = scenario.cluster("east", seed=5, pods=3, churn=0)[-1]
    newer = dataclasses.replace(old, resource_version="900")
    recreated = dataclasses.replace(old, uid="another-uid", resource_version="5")
    ingested = dataclasses.replace(old, resource_version="")
    out = derivation.apply(_batch([newer, recreated, ingested]))
    assert out.deadletters == []
    assert out.applied == 3


@pytest.fixture
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()


def test_a_large_batch_moves_the_state_out_of_the_collectors_walks(
    unfrozen: None, east: list[envelope.Envelope]
) -> None:
    small = Derivation(freeze_after=len(east))
    small.apply(_batch(east[:-1]))
    assert gc.get_freeze_count() == 0  # a smaller batch (churn) leaves the collector alone
    large = Derivation(freeze_after=len(east))
    large.apply(_batch(east))
    assert gc.get_freeze_count() > 0
    assert gc.isenabled()
    young = {id(o) for o in gc.get_objects()}
    assert id(small._derivers["east"]._objects) not in young
    assert id(large._derivers["east"]._objects) not in young


def test_a_frozen_state_derives_the_same_changes(
    unfrozen: None, east: list[envelope.Envelope]
) -> None:
    half = len(east) // 2
    frozen, plain = Derivation(freeze_after=1), Derivation(freeze_after=None)
    for part, start in ((east[:half], 0), (east[half:], half)):
        assert frozen.apply(_batch(part, start=start)) == plain.apply(_batch(part, start=start))
    assert frozen.snapshot("east") == plain.snapshot("east")


def test_freezing_is_off_with_the_gc_tuning(
    unfrozen: None, monkeypatch: pytest.MonkeyPatch, east: list[envelope.Envelope]
) -> None:
    monkeypatch.setenv("TOPOLOG_GC_TUNING", "0")
    Derivation(freeze_after=1).apply(_batch(east))
    assert gc.get_freeze_count() == 0


def test_a_batch_derived_in_steps_gives_the_same_changes_in_bounded_parts(
    east: list[envelope.Envelope],
) -> None:
    whole = Derivation().apply(_batch(east))
    parts = list(Derivation().steps(_batch(east), size=100))
    assert len(parts) == -(-len(east) // 100)
    assert all(p.applied <= 100 for p in parts)
    changes = [c for p in parts for _, cs in p.changesets for c in cs.changes]
    assert changes == [c for _, cs in whole.changesets for c in cs.changes]
    assert [a for p in parts for a in p.alerts] == whole.alerts
    assert sum(p.applied for p in parts) == whole.applied == len(east)


def test_a_replay_grouped_into_other_batches_continues_like_the_live_run(
    east: list[envelope.Envelope],
) -> None:
    """The live derive stage merges up to 32 records per batch and the replay groups them
    as its fetches come: the state must not depend on the grouping (nor on the kind
    order it implies for large batches)."""
    cut = len(east) * 2 // 3
    live = Derivation()
    live.apply(_batch(east[:cut]))  # one batch: in kind order
    expected = live.apply(_batch(east[cut:], start=cut))

    replayed = Derivation()
    assert cut - 60 >= ORDER_AFTER > 60  # a small batch in source order, a large one not
    for start, end in ((0, 60), (60, cut)):
        replayed.apply(_batch(east[start:end], start=start), emit=False)
    continued = replayed.apply(_batch(east[cut:], start=cut))
    assert continued.changesets == expected.changesets
    assert continued.alerts == expected.alerts
    assert expected.changes > 0


def test_a_clusters_marker_closes_the_initial_list_after_every_entry_it_came_with() -> None:
    """Published in the same millisecond as the list's last objects, the marker can be
    read before some of them; it still closes the list after them, and its alerts (it
    changes nothing) are emitted: what is DOWN as the list stands, nothing else."""
    from tests.unit.core.derive import objects as o
    from tests.unit.core.derive.test_initial_list import secret, wordpress_pod

    marker = envelope.cluster_synced_marker(cluster=o.CLUSTER, observed_at=1000.0)
    listed = [o.env(o.namespace("default")), o.env(wordpress_pod()), marker]
    listed += [o.env(secret()), o.env(o.pending_pod("stuck"))]
    assert len(listed) < ORDER_AFTER  # derived in source order, but for the marker
    out = Derivation().apply(_batch(listed, cluster=o.CLUSTER))
    # Not the Secret's "Missing" moment: it was there by the end of the list.
    assert {(a.kind, a.name, a.old_state) for a in out.alerts} == {
        ("pod", "stuck", None),
        ("container", "main", None),
    }
    assert {a.source for a in out.alerts} == {graph.Source("res", 0, 2)}


def test_a_replayed_marker_leaves_the_initial_list_closed() -> None:
    """After a restart the replay (no output) rebuilds whether the list was complete."""
    east = scenario.cluster("east", seed=5, pods=30, churn=0)
    replayed = Derivation()
    replayed.apply(_batch(east), emit=False)
    deleted = dataclasses.replace(
        next(e for e in east if e.kind == "Secret"), type=envelope.EventType.DELETED
    )
    after = replayed.apply(_batch([deleted], start=len(east)))
    assert [(a.kind, a.old_state, a.new_state) for a in after.alerts] == [
        ("secret", None, graph.State.DOWN)
    ]
    # Replayed without its marker, the list is still open: no alert yet.
    cut = Derivation()
    cut.apply(_batch(east[:-1]), emit=False)
    assert cut.apply(_batch([deleted], start=len(east))).alerts == []
