"""endpoints: addresses, ports, UP with a ready address."""

from __future__ import annotations

from topolog.core.graph import State
from topolog.core.kinds import endpoints

EP = {
    "metadata": {"name": "web", "namespace": "ns"},
    "subsets": [
        {
            "addresses": [{"ip": "10.0.0.2"}, {"ip": "10.0.0.1"}],
            "notReadyAddresses": [{"ip": "10.0.0.3"}],
            "ports": [{"name": "http", "port": 8080}],
        }
    ],
}


def test_endpoints_metadata_and_status() -> None:
    assert endpoints.metadata(EP) == {
        "Addresses": ["10.0.0.1", "10.0.0.2"],
        "NotReadyAddresses": ["10.0.0.3"],
        "Ports": [{"Name": "http", "Port": 8080, "Protocol": "TCP"}],
    }
    assert endpoints.status(EP, 0.0) == (State.UP, "Ready")
    assert endpoints.status({"metadata": {"name": "x"}}, 0.0) == (State.DOWN, "NoReadyAddresses")
