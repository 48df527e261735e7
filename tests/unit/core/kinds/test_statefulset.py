"""statefulset: Skydive's fields, available (or ready, on old servers) vs desired."""

from __future__ import annotations

from typing import Any

import pytest

from topolog.core.graph import State
from topolog.core.kinds import statefulset


def _sts(status: dict[str, Any]) -> dict[str, Any]:
    return {
        "metadata": {"name": "db", "namespace": "ns"},
        "spec": {"replicas": 3, "serviceName": "db", "selector": {"matchLabels": {"a": "b"}}},
        "status": status,
    }


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ({"availableReplicas": 3, "readyReplicas": 3}, (State.UP, "3/3 available")),
        ({"availableReplicas": 1, "readyReplicas": 3}, (State.DOWN, "1/3 available")),
        ({"readyReplicas": 3}, (State.UP, "3/3 available")),
        ({}, (State.DOWN, "0/3 available")),
    ],
    ids=["available", "ready-not-available", "old-server-ready", "nothing"],
)
def test_status(status: dict[str, Any], expected: tuple[State, str]) -> None:
    assert statefulset.status(_sts(status), 0.0) == expected


def test_metadata_has_skydives_fields() -> None:
    meta = statefulset.metadata(
        _sts({"replicas": 3, "currentRevision": "db-1", "updateRevision": "db-2"})
    )
    assert meta["DesiredReplicas"] == 3 and meta["ServiceName"] == "db"
    assert (meta["CurrentRevision"], meta["UpdateRevision"]) == ("db-1", "db-2")
    assert set(meta) >= {"Replicas", "ReadyReplicas", "CurrentReplicas", "UpdatedReplicas"}
