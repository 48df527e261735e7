"""replicaset: available vs desired, ReplicaFailure, owned by its deployment."""

from __future__ import annotations

from typing import Any

import pytest

from topolog.core.graph import State
from topolog.core.kinds import refs, replicaset


def _rs(replicas: int, status: dict[str, Any]) -> dict[str, Any]:
    return {
        "metadata": {
            "name": "rs",
            "namespace": "ns",
            "ownerReferences": [{"kind": "Deployment", "name": "d", "uid": "dep"}],
        },
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "a"}}},
        "status": status,
    }


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        (_rs(2, {"availableReplicas": 2}), (State.UP, "2/2 available")),
        (_rs(2, {"availableReplicas": 1}), (State.DOWN, "1/2 available")),
        (_rs(0, {}), (State.UP, "NoneDesired")),
        (
            _rs(
                2,
                {
                    "conditions": [
                        {"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate"}
                    ]
                },
            ),
            (State.DOWN, "FailedCreate"),
        ),
    ],
    ids=["available", "short", "zero", "failed-create"],
)
def test_status(obj: dict[str, Any], expected: tuple[State, str]) -> None:
    assert replicaset.status(obj, 0.0) == expected


def test_the_deployment_owns_it_and_depends_on_it() -> None:
    [owner] = [r for r in replicaset.references(_rs(1, {})) if isinstance(r, refs.ByUid)]
    assert (owner.uid, owner.relation, owner.dependent) == ("dep", "deployment", refs.End.PARENT)


def test_metadata() -> None:
    assert replicaset.metadata(_rs(2, {"replicas": 2, "readyReplicas": 1})) == {
        "DesiredReplicas": 2,
        "Replicas": 2,
        "ReadyReplicas": 1,
        "AvailableReplicas": 0,
        "FullyLabeledReplicas": 0,
    }
