"""service: Skydive's fields, selector → pods, name → endpoints, DOWN without ready pods."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from topolog.core import status as st
from topolog.core.graph import State
from topolog.core.kinds import refs, service


def _svc(**spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": "web", "namespace": "ns"}, "spec": spec}


def test_metadata_has_skydives_fields() -> None:
    obj = _svc(
        selector={"app": "web"},
        type="NodePort",
        clusterIP="10.0.0.10",
        ports=[{"name": "http", "port": 80, "targetPort": "http", "nodePort": 30080}],
    )
    assert service.metadata(obj) == {
        "Ports": [
            {"Name": "http", "Protocol": "TCP", "Port": 80, "NodePort": 30080, "TargetPort": "http"}
        ],
        "ClusterIP": "10.0.0.10",
        "ServiceType": "NodePort",
        "SessionAffinity": "None",
        "LoadBalancerIP": "",
        "ExternalName": "",
        "Selector": {"app": "web"},
    }


def test_references_select_pods_and_name_the_endpoints() -> None:
    declared = service.references(_svc(selector={"app": "web"}))
    [sel] = [r for r in declared if isinstance(r, refs.BySelector)]
    assert (sel.kind, sel.relation, sel.dependent, sel.ownerless_only) == (
        "Pod",
        "service",
        refs.End.PARENT,
        False,
    )
    assert (
        refs.ByName(
            kind="Endpoints", namespace="ns", name="web", relation="service", required=False
        )
        in declared
    )


def test_a_service_without_selector_selects_nothing() -> None:
    assert not [r for r in service.references(_svc()) if isinstance(r, refs.BySelector)]


def deps(pods: int, down: int) -> st.Dependencies:
    return st.Dependencies(total=Counter(pod=pods), down=Counter(pod=down))


@pytest.mark.parametrize(
    ("obj", "dependencies", "expected"),
    [
        (_svc(selector={"a": "b"}), deps(2, 1), (State.UP, "ClusterIP")),
        (_svc(selector={"a": "b"}), deps(2, 2), (State.DOWN, "NoReadyEndpoints")),
        (_svc(selector={"a": "b"}), deps(0, 0), (State.DOWN, "NoEndpoints")),
        (_svc(), deps(0, 0), (State.UP, "ClusterIP")),
        (
            _svc(type="ExternalName", externalName="x.example"),
            deps(0, 0),
            (State.UP, "ExternalName"),
        ),
    ],
    ids=["one-ready", "none-ready", "no-pods", "no-selector", "external-name"],
)
def test_aggregate(obj: dict[str, Any], dependencies: st.Dependencies, expected: Any) -> None:
    assert service.aggregate(obj, service.status(obj, 0.0), dependencies) == expected
