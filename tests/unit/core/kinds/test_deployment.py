"""deployment: replica fields, available-vs-desired status, selector only for ownerless pods."""

from __future__ import annotations

from typing import Any

import pytest

from topolog.core.graph import State
from topolog.core.kinds import deployment, refs


def _dep(replicas: int | None, status: dict[str, Any], **spec: Any) -> dict[str, Any]:
    s: dict[str, Any] = {"selector": {"matchLabels": {"app": "a"}}, **spec}
    if replicas is not None:
        s["replicas"] = replicas
    return {"metadata": {"name": "d", "namespace": "ns"}, "spec": s, "status": status}


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        (_dep(3, {"availableReplicas": 3}), (State.UP, "3/3 available")),
        (_dep(3, {"availableReplicas": 2}), (State.DOWN, "2/3 available")),
        (_dep(None, {}), (State.DOWN, "0/1 available")),
        (_dep(0, {}), (State.UP, "NoneDesired")),
        (
            _dep(
                2,
                {
                    "availableReplicas": 2,
                    "conditions": [
                        {
                            "type": "Progressing",
                            "status": "False",
                            "reason": "ProgressDeadlineExceeded",
                        }
                    ],
                },
            ),
            (State.DOWN, "ProgressDeadlineExceeded"),
        ),
    ],
    ids=["all-available", "one-short", "default-one", "scaled-to-zero", "deadline"],
)
def test_status(obj: dict[str, Any], expected: tuple[State, str]) -> None:
    assert deployment.status(obj, 0.0) == expected


def test_metadata_uses_skydives_replica_names() -> None:
    obj = _dep(
        3,
        {"replicas": 3, "readyReplicas": 2, "availableReplicas": 2, "unavailableReplicas": 1},
    )
    assert deployment.metadata(obj) == {
        "DesiredReplicas": 3,
        "Replicas": 3,
        "ReadyReplicas": 2,
        "AvailableReplicas": 2,
        "UnavailableReplicas": 1,
    }


def test_its_selector_reaches_only_pods_without_owners() -> None:
    [selector] = [r for r in deployment.references(_dep(1, {})) if isinstance(r, refs.BySelector)]
    assert (selector.kind, selector.namespace, selector.relation) == ("Pod", "ns", "deployment")
    assert selector.ownerless_only and selector.dependent is refs.End.PARENT
    assert selector.selector.matches({"app": "a"})


def test_a_selector_the_api_would_reject_is_ignored() -> None:
    bad = _dep(1, {}, selector={"matchExpressions": [{"key": "a", "operator": "Near"}]})
    assert not [r for r in deployment.references(bad) if isinstance(r, refs.BySelector)]
