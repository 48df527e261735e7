from __future__ import annotations

import pytest

from processors import batches
from tests.unit.processors import scenario
from topolog.core import envelope, graph


def test_batch_round_trips_envelopes_and_their_sources() -> None:
    envs = scenario.cluster("east", seed=2, pods=10, churn=0)
    items = [(graph.Source("res", i % 3, i), e.to_json()) for i, e in enumerate(envs)]
    batch = batches.decode(batches.encode("east", items))
    assert batch.cluster == "east"
    assert [(e.source, e.envelope) for e in batch.entries] == [
        (s, e) for (s, _), e in zip(items, envs, strict=True)
    ]


@pytest.mark.parametrize(
    "raw", [b"garbage", b'{"v": 99, "cluster": "x", "entries": []}', b'{"v": 1, "entries": [{}]}']
)
def test_a_record_that_is_not_a_batch_is_rejected(raw: bytes) -> None:
    with pytest.raises(batches.BatchError):
        batches.decode(raw)


def test_consecutive_batches_merge_into_one_per_cluster_keeping_each_clusters_order() -> None:
    east = scenario.cluster("east", seed=2, pods=6, churn=0)
    west = scenario.cluster("west", seed=3, pods=4, churn=0)

    def batch(cluster: str, envs: list[envelope.Envelope], start: int) -> batches.Batch:
        entries = [batches.Entry(graph.Source("res", 0, start + i), e) for i, e in enumerate(envs)]
        return batches.Batch(cluster, entries)

    half = len(east) // 2
    parts = [
        batch("east", east[:half], 0),
        batch("west", west, 100),
        batch("east", east[half:], 200),
    ]
    merged = batches.merged(parts)
    assert [b.cluster for b in merged] == ["east", "west"]
    assert [e.envelope for e in merged[0].entries] == east
    assert [e.source.offset for e in merged[0].entries] == [
        *range(half),
        *range(200, 200 + len(east) - half),
    ]
    assert merged[1].entries == parts[1].entries
    assert batches.merged([]) == []
