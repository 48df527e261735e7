from __future__ import annotations

import dataclasses
import gc
from collections.abc import Iterator

import pytest

from processors import batches, folding
from processors.deadletter import Reason
from processors.deriving import Derivation, Output
from tests.unit.processors import scenario
from topolog.core import envelope, graph
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
    for i, env in enumerate(east):
        expected = reference.apply(env, source=graph.Source("res", 0, i)).changes
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
