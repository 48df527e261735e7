from __future__ import annotations

import ipaddress
from typing import Any

import pytest

from topolog.core.netpol import policy as np
from topolog.core.netpol import ports
from topolog.core.netpol.policy import Direction
from topolog.core.netpol.ports import PortSet, Protocol

from . import objects

INGRESS, EGRESS = Direction.INGRESS, Direction.EGRESS


def parse(spec: dict[str, Any], ns: str = "x") -> np.Policy:
    return np.parse_policy(objects.policy(ns, "p", spec))


def pod(ns: str, name: str, labels: dict[str, str] | None = None, **kw: Any) -> np.Pod:
    return np.parse_pod(objects.pod(ns, name, labels, **kw))


# --- policyTypes -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "types"),
    [
        ({}, {INGRESS}),  # Ingress always
        ({"ingress": [{}]}, {INGRESS}),
        ({"egress": [{}]}, {INGRESS, EGRESS}),  # egress rules add Egress
        ({"egress": []}, {INGRESS}),  # an empty egress list adds nothing (API defaulting)
        ({"policyTypes": [], "egress": [{}]}, {INGRESS, EGRESS}),  # empty list = omitted
        ({"policyTypes": ["Egress"]}, {EGRESS}),
        ({"policyTypes": ["Egress"], "ingress": [{}]}, {EGRESS}),  # ingress rules ignored
        ({"policyTypes": ["Ingress", "Egress"]}, {INGRESS, EGRESS}),
    ],
)
def test_policy_types_are_inferred_when_omitted(
    spec: dict[str, Any], types: set[Direction]
) -> None:
    assert parse({"podSelector": {}, **spec}).types == types


def test_rules_of_a_direction_not_in_effect_do_not_count() -> None:
    pol = parse({"policyTypes": ["Egress"], "ingress": [{}], "egress": [{}]})
    assert pol.rules(INGRESS) == ()
    assert pol.rules(EGRESS) == (np.Rule(),)


# --- selection ---------------------------------------------------------------------------------


def test_empty_pod_selector_selects_every_pod_of_the_policy_namespace_only() -> None:
    pol = parse({"podSelector": {}})
    assert np.selects(pol, pod("x", "a", {"app": "web"}))
    assert np.selects(pol, pod("x", "b"))
    assert not np.selects(pol, pod("y", "a", {"app": "web"}))


def test_pod_selector_with_match_expressions_selects_by_labels() -> None:
    pol = parse(
        {
            "podSelector": {
                "matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["db"]}]
            }
        }
    )
    assert np.selects(pol, pod("x", "a", {"app": "web"}))
    assert np.selects(pol, pod("x", "b"))  # NotIn matches pods without the key
    assert not np.selects(pol, pod("x", "c", {"app": "db"}))


# --- peers -------------------------------------------------------------------------------------

NS_LABELS = {
    "x": {"team": "blue", np.NAMESPACE_NAME_LABEL: "x"},
    "y": {"team": "red", np.NAMESPACE_NAME_LABEL: "y"},
}


def peer_hits(peer: dict[str, Any], endpoints: list[np.Endpoint]) -> list[str]:
    parsed = parse({"podSelector": {}, "ingress": [{"from": [peer]}]})
    (rule,) = parsed.ingress
    assert rule.peers is not None
    return [
        e.ref
        for e in endpoints
        if np.peer_matches(
            rule.peers[0],
            policy_namespace="x",
            endpoint=e,
            namespace_labels=NS_LABELS.get(e.namespace) if isinstance(e, np.Pod) else None,
        )
    ]


EVERYONE: list[np.Endpoint] = [
    pod("x", "web", {"app": "web"}, ip="10.0.0.1"),
    pod("x", "db", {"app": "db"}, ip="10.0.0.2"),
    pod("y", "web", {"app": "web"}, ip="10.0.1.1"),
    pod("y", "db", {"app": "db"}, ip="10.0.1.2"),
    np.External(ipaddress.ip_address("192.0.2.7")),
]


@pytest.mark.parametrize(
    ("peer", "matched"),
    [
        # podSelector alone: pods of the policy's own namespace.
        ({"podSelector": {"matchLabels": {"app": "web"}}}, ["x/web"]),
        ({"podSelector": {}}, ["x/web", "x/db"]),
        # namespaceSelector alone: every pod of the matching namespaces.
        ({"namespaceSelector": {"matchLabels": {"team": "red"}}}, ["y/web", "y/db"]),
        ({"namespaceSelector": {}}, ["x/web", "x/db", "y/web", "y/db"]),
        # both: their intersection, not their union.
        (
            {
                "namespaceSelector": {"matchLabels": {"team": "red"}},
                "podSelector": {"matchLabels": {"app": "web"}},
            },
            ["y/web"],
        ),
        (
            {"namespaceSelector": {}, "podSelector": {"matchLabels": {"app": "db"}}},
            ["x/db", "y/db"],
        ),
        # ipBlock: pod IPs and external addresses alike, minus the exceptions.
        ({"ipBlock": {"cidr": "10.0.0.0/16", "except": ["10.0.1.0/24"]}}, ["x/web", "x/db"]),
        ({"ipBlock": {"cidr": "0.0.0.0/0"}}, ["x/web", "x/db", "y/web", "y/db", "192.0.2.7"]),
        ({"ipBlock": {"cidr": "192.0.2.0/24"}}, ["192.0.2.7"]),
        ({"ipBlock": {"cidr": "::/0"}}, []),  # an IPv6 block never matches IPv4 addresses
    ],
)
def test_peer_matches(peer: dict[str, Any], matched: list[str]) -> None:
    assert peer_hits(peer, EVERYONE) == matched


def test_peer_with_both_selectors_is_their_intersection() -> None:
    both = {
        "namespaceSelector": {"matchLabels": {"team": "red"}},
        "podSelector": {"matchLabels": {"app": "web"}},
    }
    only_ns = peer_hits({"namespaceSelector": both["namespaceSelector"]}, EVERYONE)
    only_pod_anywhere = peer_hits(
        {"namespaceSelector": {}, "podSelector": both["podSelector"]}, EVERYONE
    )
    assert peer_hits(both, EVERYONE) == [e for e in only_ns if e in only_pod_anywhere]


def test_ipv6_blocks_match_ipv6_pod_addresses_with_exceptions() -> None:
    pods: list[np.Endpoint] = [
        pod("x", "a", ip="fd00::1"),
        pod("x", "b", ip="fd00::1:1"),
        np.External(ipaddress.ip_address("2001:db8::1")),
    ]
    block = {"ipBlock": {"cidr": "fd00::/64", "except": ["fd00::1:0/112"]}}
    assert peer_hits(block, pods) == ["x/a"]


def test_dual_stack_pod_matches_a_block_of_either_family() -> None:
    obj = objects.pod("x", "a", ip="10.0.0.9")
    obj["status"]["podIPs"].append({"ip": "fd00::9"})
    dual = np.parse_pod(obj)
    assert peer_hits({"ipBlock": {"cidr": "fd00::/64"}}, [dual]) == ["x/a"]
    assert peer_hits({"ipBlock": {"cidr": "10.0.0.0/8"}}, [dual]) == ["x/a"]


def test_absent_or_empty_from_means_every_peer() -> None:
    rules: list[dict[str, Any]] = [{}, {"from": []}]
    for rule in rules:
        (parsed,) = parse({"podSelector": {}, "ingress": [rule]}).ingress
        assert all(
            np.rule_matches(parsed, policy_namespace="x", endpoint=e, namespace_labels={})
            for e in EVERYONE
        )


# --- ports -------------------------------------------------------------------------------------

WEB = pod("x", "web", ports=[("http", "TCP", 8080), ("dns", "UDP", 5353), ("metrics", "TCP", 9090)])


def rule_ports(ports_field: list[dict[str, Any]] | None, dst: np.Endpoint | None = WEB) -> PortSet:
    rule: dict[str, Any] = {} if ports_field is None else {"ports": ports_field}
    (parsed,) = parse({"podSelector": {}, "ingress": [rule]}).ingress
    return np.rule_ports(parsed, dst)


@pytest.mark.parametrize(
    ("ports_field", "expected"),
    [
        (None, ports.ALL),  # no ports: every port of every protocol
        ([], ports.ALL),
        ([{"port": 80}], PortSet.single(Protocol.TCP, 80)),  # TCP by default
        ([{"port": 53, "protocol": "UDP"}], PortSet.single(Protocol.UDP, 53)),
        ([{"protocol": "SCTP"}], PortSet.whole(Protocol.SCTP)),  # protocol without port
        ([{"port": 8000, "endPort": 8080}], PortSet.single(Protocol.TCP, 8000, 8080)),
        (
            [{"port": 80}, {"port": 81}, {"port": 53, "protocol": "UDP"}],
            PortSet.of({Protocol.TCP: [(80, 81)], Protocol.UDP: [(53, 53)]}),
        ),
        # named ports resolve against the destination pod, by name and protocol
        ([{"port": "http"}], PortSet.single(Protocol.TCP, 8080)),
        ([{"port": "dns", "protocol": "UDP"}], PortSet.single(Protocol.UDP, 5353)),
        ([{"port": "dns"}], ports.NONE),  # dns is UDP on this pod, the rule asks TCP
        ([{"port": "nope"}], ports.NONE),
    ],
)
def test_rule_ports(ports_field: list[dict[str, Any]] | None, expected: PortSet) -> None:
    assert rule_ports(ports_field) == expected


def test_named_port_resolves_per_destination_pod() -> None:
    other = pod("x", "other", ports=[("http", "TCP", 3000)])
    assert rule_ports([{"port": "http"}], other) == PortSet.single(Protocol.TCP, 3000)
    outside = np.External(ipaddress.ip_address("192.0.2.1"))
    assert rule_ports([{"port": "http"}], outside) == ports.NONE


def test_restartable_init_containers_count_as_containers_for_named_ports() -> None:
    obj = objects.pod("x", "a")
    obj["spec"]["initContainers"] = [
        {
            "name": "proxy",
            "restartPolicy": "Always",
            "ports": [{"name": "proxy", "containerPort": 15001}],
        },
        {"name": "init", "ports": [{"name": "init", "containerPort": 1}]},
    ]
    parsed = np.parse_pod(obj)
    assert parsed.named_port("proxy", Protocol.TCP) == 15001
    assert parsed.named_port("init", Protocol.TCP) is None


@pytest.mark.parametrize(
    ("ports_field", "label"),
    [
        ([{"port": 80}, {"port": 53, "protocol": "UDP"}], ":80;:53/UDP"),
        ([{"port": 8000, "endPort": 8080}], ":8000-8080"),
        ([{"port": "http"}], ":http"),
        ([{"protocol": "SCTP"}], ":*/SCTP"),
        (None, "*"),
    ],
)
def test_ports_label_is_skydive_style(ports_field: list[dict[str, Any]] | None, label: str) -> None:
    rule: dict[str, Any] = {} if ports_field is None else {"ports": ports_field}
    pol = parse({"podSelector": {}, "ingress": [rule]})
    assert np.ports_label(pol.ingress) == label


# --- what the API server would reject ----------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ({"ingress": [{"from": [{}]}]}, "needs podSelector"),
        (
            {"ingress": [{"from": [{"ipBlock": {"cidr": "10.0.0.0/8"}, "podSelector": {}}]}]},
            "cannot also have selectors",
        ),
        ({"ingress": [{"from": [{"ipBlock": {"cidr": "10.0.0.0/33"}}]}]}, "bad ipBlock"),
        ({"ingress": [{"ports": [{"port": 0}]}]}, "out of range"),
        ({"ingress": [{"ports": [{"port": 80, "protocol": "ICMP"}]}]}, "bad protocol"),
        ({"ingress": [{"ports": [{"port": "http", "endPort": 90}]}]}, "endPort needs"),
        ({"ingress": [{"ports": [{"port": 90, "endPort": 80}]}]}, "endPort 80"),
        ({"policyTypes": ["Sideways"]}, "bad policyType"),
        ({"podSelector": {"matchExpressions": [{"key": "a", "operator": "In"}]}}, "needs values"),
        ({"ingress": {"from": []}}, "must be a list"),
    ],
)
def test_invalid_policies_are_rejected_with_their_name(spec: dict[str, Any], fragment: str) -> None:
    with pytest.raises(np.NetpolError, match="networkpolicy x/p") as info:
        parse({"podSelector": {}, **spec})
    assert fragment in str(info.value)


def test_namespace_always_carries_its_name_label() -> None:
    ns = np.parse_namespace(objects.namespace("prod", {"team": "a"}))
    assert ns.labels == {"team": "a", np.NAMESPACE_NAME_LABEL: "prod"}


def test_objects_without_namespace_live_in_default() -> None:
    obj = objects.pod("x", "a")
    del obj["metadata"]["namespace"]
    assert np.parse_pod(obj).namespace == "default"
