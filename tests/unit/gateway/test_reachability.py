"""PolicyPorts labels parse back into the port sets the netpol module wrote."""

from __future__ import annotations

import pytest

from gateway.reachability import parse_ports
from topolog.core.netpol import policy as np
from topolog.core.netpol import ports


@pytest.mark.parametrize(
    "items",
    [
        [],
        [np.PolicyPort(port=80)],
        [np.PolicyPort(ports.Protocol.UDP, 53), np.PolicyPort(port=8000, end_port=8080)],
        [np.PolicyPort(ports.Protocol.SCTP)],
    ],
)
def test_label_round_trips_to_the_rules_port_set(items: list[np.PolicyPort]) -> None:
    rule = np.Rule(ports=tuple(items))
    parsed = parse_ports(np.ports_label([rule]))
    assert parsed.open == np.rule_ports(rule, None)


def test_all_ports_and_named_ports() -> None:
    assert parse_ports("*").open == ports.ALL
    named = parse_ports(":http;:81")
    assert named.named == (":http",)
    assert named.open.contains(ports.Protocol.TCP, 81)
