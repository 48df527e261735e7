"""cluster: the derived root, always UP, declaring nothing."""

from __future__ import annotations

from topolog.core.graph import State
from topolog.core.kinds import cluster


def test_cluster() -> None:
    obj = cluster.stub("prod")
    assert obj["metadata"]["name"] == "prod"
    assert cluster.status(obj, 0.0).state is State.UP
    assert cluster.references(obj) == []
