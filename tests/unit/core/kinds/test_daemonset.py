"""daemonset: every scheduled pod available."""

from __future__ import annotations

from typing import Any

import pytest

from topolog.core.graph import State
from topolog.core.kinds import daemonset


def _ds(status: dict[str, Any]) -> dict[str, Any]:
    return {"metadata": {"name": "ds", "namespace": "ns"}, "spec": {}, "status": status}


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ({"desiredNumberScheduled": 3, "numberAvailable": 3}, (State.UP, "3/3 available")),
        ({"desiredNumberScheduled": 3, "numberAvailable": 2}, (State.DOWN, "2/3 available")),
        ({}, (State.UP, "NoneDesired")),
    ],
    ids=["all", "short", "no-nodes"],
)
def test_status(status: dict[str, Any], expected: tuple[State, str]) -> None:
    assert daemonset.status(_ds(status), 0.0) == expected


def test_metadata_has_skydives_fields() -> None:
    meta = daemonset.metadata(
        _ds({"desiredNumberScheduled": 2, "currentNumberScheduled": 2, "numberMisscheduled": 1})
    )
    assert (
        meta["DesiredNumberScheduled"],
        meta["CurrentNumberScheduled"],
        meta["NumberMisscheduled"],
    ) == (2, 2, 1)
