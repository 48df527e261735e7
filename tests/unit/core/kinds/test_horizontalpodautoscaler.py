"""horizontalpodautoscaler: its target as a dependency; DOWN when it cannot scale."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from topolog.core import status as st
from topolog.core.graph import State
from topolog.core.kinds import horizontalpodautoscaler as hpa
from topolog.core.kinds import refs


def _hpa(
    conditions: list[dict[str, Any]] | None = None, kind: str = "Deployment"
) -> dict[str, Any]:
    return {
        "metadata": {"name": "h", "namespace": "ns"},
        "spec": {"scaleTargetRef": {"kind": kind, "name": "web"}, "maxReplicas": 5},
        "status": {"conditions": conditions or [], "currentReplicas": 2},
    }


@pytest.mark.parametrize(
    ("conditions", "expected"),
    [
        ([], (State.UP, "")),
        (
            [{"type": "AbleToScale", "status": "False", "reason": "FailedGetScale"}],
            (State.DOWN, "FailedGetScale"),
        ),
        (
            [{"type": "ScalingActive", "status": "False", "reason": "FailedGetResourceMetric"}],
            (State.DOWN, "FailedGetResourceMetric"),
        ),
        (
            [{"type": "ScalingActive", "status": "False", "reason": "ScalingDisabled"}],
            (State.UP, ""),
        ),
    ],
    ids=["fine", "unable", "no-metrics", "disabled-on-purpose"],
)
def test_status(conditions: list[dict[str, Any]], expected: tuple[State, str]) -> None:
    assert hpa.status(_hpa(conditions), 0.0) == expected


def test_target_is_a_required_dependency() -> None:
    [target] = [r for r in hpa.references(_hpa()) if getattr(r, "kind", "") == "Deployment"]
    assert isinstance(target, refs.ByName)
    assert (target.name, target.relation, target.dependent, target.required) == (
        "web",
        "horizontalpodautoscaler",
        refs.End.PARENT,
        True,
    )
    # A custom-resource target is not watched: no reference, no placeholder.
    assert [getattr(r, "kind", "") for r in hpa.references(_hpa(kind="Rollout"))] == ["Namespace"]


def test_missing_target_is_down() -> None:
    obj = _hpa()
    missing = st.Dependencies(
        total=Counter(deployment=1), down=Counter(deployment=1), missing=Counter(deployment=1)
    )
    assert hpa.aggregate(obj, hpa.status(obj, 0.0), missing) == (State.DOWN, "TargetMissing")
    assert hpa.metadata(obj)["ScaleTargetRef"] == "Deployment/web"
