"""replicationcontroller: a map selector, available-vs-desired status."""

from __future__ import annotations

from topolog.core.graph import State
from topolog.core.kinds import refs, replicationcontroller

RC = {
    "metadata": {"name": "rc", "namespace": "ns"},
    "spec": {"replicas": 2, "selector": {"app": "a"}},
    "status": {"availableReplicas": 1, "replicas": 2},
}


def test_status_compares_available_with_desired() -> None:
    assert replicationcontroller.status(RC, 0.0) == (State.DOWN, "1/2 available")


def test_its_plain_map_selector_selects_ownerless_pods() -> None:
    [sel] = [r for r in replicationcontroller.references(RC) if isinstance(r, refs.BySelector)]
    assert sel.relation == "replicationcontroller" and sel.ownerless_only
    assert sel.selector.matches({"app": "a", "x": "y"})
    assert not sel.selector.matches({"app": "b"})


def test_metadata() -> None:
    assert replicationcontroller.metadata(RC)["DesiredReplicas"] == 2
