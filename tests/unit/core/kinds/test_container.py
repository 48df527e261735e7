"""container: derived from a pod, matched to its status by name, with its own status."""

from __future__ import annotations

from typing import Any

import pytest

from topolog.core import graph
from topolog.core.graph import State
from topolog.core.kinds import container, refs

POD: dict[str, Any] = {
    "metadata": {"name": "web", "namespace": "ns", "uid": "pod-uid", "labels": {"app": "web"}},
    "spec": {
        "initContainers": [{"name": "setup", "image": "busybox"}],
        "containers": [{"name": "app", "image": "app:1"}, {"name": "proxy", "image": "envoy"}],
    },
    "status": {
        # Deliberately not in spec order.
        "containerStatuses": [
            {
                "name": "proxy",
                "ready": True,
                "state": {"running": {}},
                "containerID": "containerd://abc",
            },
            {
                "name": "app",
                "ready": False,
                "restartCount": 4,
                "state": {"waiting": {"reason": "CrashLoopBackOff"}},
            },
        ],
        "initContainerStatuses": [
            {"name": "setup", "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}
        ],
    },
}


def test_from_pod_lists_init_containers_first_with_stable_ids() -> None:
    derived = container.from_pod(POD, "pod-uid")
    assert [c["metadata"]["name"] for c in derived] == ["setup", "app", "proxy"]
    assert [c["metadata"]["uid"] for c in derived] == [
        graph.derived_id("pod-uid", "container", n) for n in ("setup", "app", "proxy")
    ]
    assert derived[0]["init"] is True and derived[1]["init"] is False


def test_each_container_gets_the_status_with_its_name() -> None:
    by_name = {c["metadata"]["name"]: c for c in container.from_pod(POD, "pod-uid")}
    assert container.status(by_name["app"], 0.0) == (State.DOWN, "CrashLoopBackOff")
    assert container.status(by_name["proxy"], 0.0) == (State.UP, "Running")
    assert container.status(by_name["setup"], 0.0) == (State.UP, "Completed")
    assert container.metadata(by_name["proxy"]) == {
        "Pod": "web",
        "Image": "envoy",
        "Runtime": "containerd",
        "ContainerID": "abc",
        "Init": False,
        "Ready": True,
        "RestartCount": 0,
    }
    assert container.metadata(by_name["app"])["RestartCount"] == 4


def _with_state(state: dict[str, Any] | None, ready: bool = False, init: bool = False) -> Any:
    status = {} if state is None else {"state": state, "ready": ready}
    return {"metadata": {"name": "c"}, "spec": {}, "status": status, "init": init}


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        (_with_state({"running": {}}, ready=True), (State.UP, "Running")),
        (_with_state({"running": {}}, ready=False), (State.DOWN, "NotReady")),
        (_with_state({"running": {}}, init=True), (State.UP, "Running")),
        (_with_state({"waiting": {}}), (State.DOWN, "Waiting")),
        (_with_state({"waiting": {"reason": "ErrImagePull"}}), (State.DOWN, "ErrImagePull")),
        (
            _with_state({"terminated": {"exitCode": 137, "reason": "OOMKilled"}}),
            (State.DOWN, "OOMKilled"),
        ),
        (_with_state({"terminated": {"exitCode": 2}}), (State.DOWN, "Error")),
        (_with_state(None), (State.DOWN, "NotStarted")),
    ],
    ids=["ready", "unready", "init-running", "waiting", "pull", "oom", "error", "no-status"],
)
def test_status(obj: dict[str, Any], expected: tuple[State, str]) -> None:
    assert container.status(obj, 0.0) == expected


def test_the_pod_owns_its_containers() -> None:
    first = container.from_pod(POD, "pod-uid")[0]
    assert container.references(first) == [
        refs.ByUid(uid="pod-uid", kind="Pod", namespace="ns", name="web", relation="ownership")
    ]
    # Filters on the app label show a pod's containers too (as in Skydive).
    assert first["metadata"]["labels"] == {"app": "web"}
