"""The scale-out and replay claims, in memory: how records are split between workers and
interleaved does not change the graph."""

from __future__ import annotations

import itertools

import pytest

from processors import batches, folding, pipeline, routing
from processors.deadletter import Reason
from processors.deriving import Derivation
from tests.unit.processors import scenario
from topolog.core import envelope, graph


@pytest.fixture(scope="module")
def envelopes() -> list[envelope.Envelope]:
    east = scenario.cluster("east", seed=11, pods=300, churn=60, with_demo=True)
    west = scenario.cluster("west", seed=12, pods=80, churn=30)
    return east + west


def _graph(out_changesets: list[tuple[str, graph.ChangeSet]]) -> folding.Graph:
    return folding.fold(cs for _, cs in out_changesets)


def _reference(envs: list[envelope.Envelope]) -> folding.Graph:
    """Every envelope applied in publishing order by one Derivation."""
    derivation = Derivation()
    out = pipeline.process(derivation, scenario.records(envs))
    return _graph(out.changesets)


def _round_robin(parts: list[list[routing.Record]], chunk: int) -> list[list[routing.Record]]:
    """Batches taking ``chunk`` records from each partition in turn (a consumer's view)."""
    out: list[list[routing.Record]] = []
    cursors = [0] * len(parts)
    while any(c < len(p) for c, p in zip(cursors, parts, strict=True)):
        batch: list[routing.Record] = []
        for i, part in enumerate(parts):
            batch += part[cursors[i] : cursors[i] + chunk]
            cursors[i] += chunk
        out.append(batch)
    return out


def test_two_route_workers_and_any_interleaving_give_the_graph_of_one(
    envelopes: list[envelope.Envelope],
) -> None:
    reference = _reference(envelopes)
    parts = scenario.by_partition(scenario.records(envelopes))
    worker_a = [parts[p] for p in sorted(parts) if p % 2 == 0]
    worker_b = [parts[p] for p in sorted(parts) if p % 2 == 1]
    # Each route worker packs its own partitions; the derive stage sees their batches
    # in an order no one chooses: here B's first, alternating, with different chunking.
    routed_a = [routing.route(b).batches for b in _round_robin(worker_a, 7)]
    routed_b = [routing.route(b).batches for b in _round_robin(worker_b, 29)]
    empty: list[tuple[str, bytes]] = []
    merged = [
        item
        for pair in itertools.zip_longest(routed_b, routed_a, fillvalue=empty)
        for batch in pair
        for item in batch
    ]
    per_cluster: dict[str, Derivation] = {}
    changesets: list[tuple[str, graph.ChangeSet]] = []
    for cluster, value in merged:
        # One derive worker per cluster (each cluster lives in one cluster-topic partition).
        derivation = per_cluster.setdefault(cluster, Derivation())
        changesets += derivation.apply(batches.decode(value)).changesets
    nodes, edges = _graph(changesets)
    assert (nodes, edges) == reference
    assert len(nodes) > 1000 and len(edges) > 1000


def test_cross_namespace_policy_edges_are_derived(envelopes: list[envelope.Envelope]) -> None:
    nodes, edges = _reference(envelopes)
    policy = next(n for n in nodes.values() if n.metadata["Name"] == "from-peer-team")
    peers = {
        nodes[e.parent].metadata["K8s"]["Namespace"]
        for e in edges.values()
        if e.child == policy.id and e.parent in nodes and nodes[e.parent].metadata["Type"] == "pod"
    } | {
        nodes[e.child].metadata["K8s"]["Namespace"]
        for e in edges.values()
        if e.parent == policy.id and nodes[e.child].metadata["Type"] == "pod"
    }
    assert len(peers) == 2, "policy edges should reach pods of both namespaces"


def test_the_same_input_twice_gives_the_same_graph(envelopes: list[envelope.Envelope]) -> None:
    records = scenario.records(envelopes)
    first, second = Derivation(), Derivation()
    assert _graph(pipeline.process(first, records).changesets) == _graph(
        pipeline.process(second, records).changesets
    )
    # Delivered again to the same worker (a reset of the route stage): nothing changes.
    again = pipeline.process(first, records)
    assert again.changesets == [] and again.duplicates == len(records)


def test_the_same_envelopes_published_again_end_in_the_same_graph(
    envelopes: list[envelope.Envelope],
) -> None:
    reference = _reference(envelopes)
    doubled = scenario.records(envelopes + envelopes)
    assert _graph(pipeline.process(Derivation(), doubled).changesets) == reference


def test_garbage_between_envelopes_is_dead_lettered_and_the_rest_derived(
    envelopes: list[envelope.Envelope],
) -> None:
    records = scenario.records(envelopes[:200])
    garbage = routing.Record(b"x", b"\xff\xfe", graph.Source("resources", 0, 10_000))
    out = pipeline.process(Derivation(), [*records[:100], garbage, *records[100:]])
    assert [(d.reason, d.source.offset) for d in out.deadletters] == [(Reason.UNDECODABLE, 10_000)]
    assert _graph(out.changesets) == _reference(envelopes[:200])
