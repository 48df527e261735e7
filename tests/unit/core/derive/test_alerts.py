"""alerts: only state transitions, with the root cause and the source event."""

from __future__ import annotations

import orjson

from topolog.core import graph
from topolog.core.derive import alerts


def node(state: str, reason: str = "", cause: list[str] | None = None) -> graph.Node:
    return graph.Node(
        id="pod",
        metadata={
            "Type": "pod",
            "Name": "p",
            "K8s": {"Namespace": "ns"},
            "State": state,
            "StateReason": reason,
            "RootCause": cause or [],
        },
    )


SOURCE = graph.Source(topic="resources", partition=1, offset=42)


def test_a_state_change_is_an_alert_with_cause_and_source() -> None:
    alert = alerts.transition(
        node("UP"), node("DOWN", "Unschedulable", ["pvc"]), time=5.0, source=SOURCE
    )
    assert alert is not None
    assert alert.to_dict() == {
        "v": 1,
        "type": "State",
        "id": "pod",
        "kind": "pod",
        "name": "p",
        "namespace": "ns",
        "oldState": "UP",
        "newState": "DOWN",
        "reason": "Unschedulable",
        "rootCause": ["pvc"],
        "time": 5.0,
        "source": {"topic": "resources", "partition": 1, "offset": 42},
    }
    assert orjson.loads(alert.to_json())["newState"] == "DOWN"


def test_appearing_down_is_an_alert_appearing_up_is_not() -> None:
    appeared = alerts.transition(None, node("DOWN", "Missing"), time=1.0, source=None)
    assert appeared is not None and appeared.old_state is None
    assert alerts.transition(None, node("UP"), time=1.0, source=None) is None


def test_same_state_or_deletion_is_no_alert() -> None:
    assert alerts.transition(node("DOWN", "A"), node("DOWN", "B"), time=1.0, source=None) is None
    assert alerts.transition(node("DOWN"), None, time=1.0, source=None) is None
