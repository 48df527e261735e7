from __future__ import annotations

import pytest

from processors import batches
from tests.unit.processors import scenario
from topolog.core import graph


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
