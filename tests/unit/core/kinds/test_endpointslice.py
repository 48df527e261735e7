"""endpointslice: ready addresses, UP with a ready endpoint, hangs from its service."""

from __future__ import annotations

from topolog.core.graph import State
from topolog.core.kinds import endpointslice, refs

SLICE = {
    "metadata": {
        "name": "web-abc",
        "namespace": "ns",
        "labels": {"kubernetes.io/service-name": "web"},
    },
    "addressType": "IPv4",
    "endpoints": [
        {"addresses": ["10.0.0.1"], "conditions": {"ready": True}},
        {"addresses": ["10.0.0.2"], "conditions": {"ready": False}},
        {"addresses": ["10.0.0.3"]},
    ],
    "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
}


def test_endpointslice_counts_absent_readiness_as_ready() -> None:
    meta = endpointslice.metadata(SLICE)
    assert meta["Addresses"] == ["10.0.0.1", "10.0.0.3"]
    assert (meta["AddressType"], meta["ServiceName"]) == ("IPv4", "web")
    assert endpointslice.status(SLICE, 0.0) == (State.UP, "Ready")
    none_ready = {
        **SLICE,
        "endpoints": [{"addresses": ["1.1.1.1"], "conditions": {"ready": False}}],
    }
    assert endpointslice.status(none_ready, 0.0) == (State.DOWN, "NoReadyEndpoints")


def test_endpointslice_hangs_from_its_service_when_it_exists() -> None:
    assert refs.ByName(
        kind="Service",
        namespace="ns",
        name="web",
        relation="service",
        declarer=refs.End.CHILD,
        required=False,
    ) in endpointslice.references(SLICE)
