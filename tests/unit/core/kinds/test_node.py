"""node: addresses and system info; UP exactly when Ready is True."""

from __future__ import annotations

from typing import Any

import pytest

from topolog.core.graph import State
from topolog.core.kinds import node, refs


def _node(ready: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "metadata": {"name": "n1"},
        "spec": {},
        "status": {
            "conditions": [ready] if ready else [],
            "addresses": [
                {"type": "InternalIP", "address": "192.168.0.10"},
                {"type": "Hostname", "address": "n1"},
            ],
            "nodeInfo": {"architecture": "amd64", "kernelVersion": "6.1", "osImage": "Debian 12"},
        },
    }


@pytest.mark.parametrize(
    ("ready", "expected"),
    [
        ({"type": "Ready", "status": "True"}, (State.UP, "Ready")),
        (
            {"type": "Ready", "status": "False", "reason": "KubeletNotReady"},
            (State.DOWN, "KubeletNotReady"),
        ),
        (
            {"type": "Ready", "status": "Unknown", "reason": "NodeStatusUnknown"},
            (State.DOWN, "NodeStatusUnknown"),
        ),
        (None, (State.DOWN, "NotReady")),
    ],
    ids=["ready", "not-ready", "unknown", "never-reported"],
)
def test_status(ready: dict[str, Any] | None, expected: tuple[State, str]) -> None:
    assert node.status(_node(ready), 0.0) == expected


def test_metadata_has_skydives_fields() -> None:
    assert node.metadata(_node(None)) == {
        "Hostname": "n1",
        "InternalIP": "192.168.0.10",
        "ExternalIP": "",
        "Arch": "amd64",
        "Kernel": "6.1",
        "OS": "Debian 12",
        "Unschedulable": False,
    }


def test_the_cluster_owns_nodes() -> None:
    [owner] = node.references(_node(None))
    assert isinstance(owner, refs.ByName)
    assert (owner.kind, owner.relation, owner.declarer) == (
        refs.CLUSTER,
        "ownership",
        refs.End.CHILD,
    )
