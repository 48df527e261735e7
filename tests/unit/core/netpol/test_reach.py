from __future__ import annotations

import ipaddress
import random
import time
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from topolog.core.netpol import policy as np
from topolog.core.netpol import ports, reach
from topolog.core.netpol.ports import Protocol

from . import e2e_model, objects, strategies
from .e2e_model import Reachability, peer

DNS_EGRESS = {"ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]}


def netpol(ns: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return objects.policy(ns, name, spec)


def labels(**kv: str) -> dict[str, Any]:
    return {"matchLabels": kv}


def expr(key: str, op: str, *values: str) -> dict[str, Any]:
    return {"matchExpressions": [{"key": key, "operator": op, "values": list(values)}]}


POD_A = {"podSelector": labels(pod="a")}
NOT_X = expr("ns", "NotIn", "x")

Expectation = tuple[int, str, Reachability]


# Each case: the policies, then (port, protocol, expected truth table) probes.
# Reconstructed from test/e2e/network/netpol/network_policy.go.
E2E_CASES: dict[str, tuple[list[dict[str, Any]], list[Expectation]]] = {
    "default-deny-ingress": (
        [netpol("x", "deny", {"podSelector": {}})],
        [(80, "TCP", Reachability(True).expect_peer(peer(), peer("x"), False))],
    ),
    "default-deny-all": (
        [netpol("x", "deny", {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]})],
        [
            (
                80,
                "TCP",
                Reachability(True)
                .expect_peer(peer(), peer("x"), False)
                .expect_peer(peer("x"), peer(), False),
            )
        ],
    ),
    "allow from a pod of the server namespace by podSelector": (
        [netpol("x", "p", {**POD_A, "ingress": [{"from": [{"podSelector": labels(pod="b")}]}]})],
        [
            (
                80,
                "TCP",
                Reachability(True).expect_all_ingress("x/a", False).expect("x/b", "x/a", True),
            )
        ],
    ),
    "allow only from other namespaces by namespaceSelector": (
        [netpol("x", "p", {**POD_A, "ingress": [{"from": [{"namespaceSelector": NOT_X}]}]})],
        [(80, "TCP", Reachability(True).expect_peer(peer("x"), peer("x", "a"), False))],
    ),
    "podSelector with matchExpressions": (
        [
            netpol(
                "x",
                "p",
                {**POD_A, "ingress": [{"from": [{"podSelector": expr("pod", "In", "b")}]}]},
            )
        ],
        [
            (
                80,
                "TCP",
                Reachability(True).expect_all_ingress("x/a", False).expect("x/b", "x/a", True),
            )
        ],
    ),
    "namespaceSelector with matchExpressions": (
        [
            netpol(
                "x",
                "p",
                {**POD_A, "ingress": [{"from": [{"namespaceSelector": expr("ns", "In", "y")}]}]},
            )
        ],
        [
            (
                80,
                "TCP",
                Reachability(True)
                .expect_all_ingress("x/a", False)
                .expect_peer(peer("y"), peer("x", "a"), True),
            )
        ],
    ),
    "separate podSelector and namespaceSelector peers are a union": (
        [
            netpol(
                "x",
                "p",
                {
                    **POD_A,
                    "ingress": [
                        {"from": [{"namespaceSelector": NOT_X}, {"podSelector": labels(pod="b")}]}
                    ],
                },
            )
        ],
        [
            (
                80,
                "TCP",
                Reachability(True)
                .expect_peer(peer("x"), peer("x", "a"), False)
                .expect("x/b", "x/a", True),
            )
        ],
    ),
    "podSelector and namespaceSelector in one peer are an intersection": (
        [
            netpol(
                "x",
                "p",
                {
                    **POD_A,
                    "ingress": [
                        {"from": [{"namespaceSelector": NOT_X, "podSelector": labels(pod="b")}]}
                    ],
                },
            )
        ],
        [
            (
                80,
                "TCP",
                Reachability(True)
                .expect_all_ingress("x/a", False)
                .expect("y/b", "x/a", True)
                .expect("z/b", "x/a", True),
            )
        ],
    ),
    "multiple pod values with a namespaceSelector": (
        [
            netpol(
                "x",
                "p",
                {
                    **POD_A,
                    "ingress": [
                        {
                            "from": [
                                {
                                    "namespaceSelector": NOT_X,
                                    "podSelector": expr("pod", "In", "b", "c"),
                                }
                            ]
                        }
                    ],
                },
            )
        ],
        [
            (
                80,
                "TCP",
                Reachability(True)
                .expect_all_ingress("x/a", False)
                .expect_peer(peer("y", "b"), peer("x", "a"), True)
                .expect_peer(peer("y", "c"), peer("x", "a"), True)
                .expect_peer(peer("z", "b"), peer("x", "a"), True)
                .expect_peer(peer("z", "c"), peer("x", "a"), True),
            )
        ],
    ),
    "any of several podSelectors": (
        [
            netpol(
                "x",
                "p",
                {
                    **POD_A,
                    "ingress": [
                        {
                            "from": [
                                {"podSelector": labels(pod="b")},
                                {"podSelector": labels(pod="c")},
                            ]
                        }
                    ],
                },
            )
        ],
        [
            (
                80,
                "TCP",
                Reachability(True)
                .expect_all_ingress("x/a", False)
                .expect("x/b", "x/a", True)
                .expect("x/c", "x/a", True),
            )
        ],
    ),
    "a pod in a different namespace by podSelector and namespaceSelector": (
        [
            netpol(
                "x",
                "p",
                {
                    **POD_A,
                    "ingress": [
                        {
                            "from": [
                                {
                                    "namespaceSelector": labels(ns="y"),
                                    "podSelector": labels(pod="a"),
                                }
                            ]
                        }
                    ],
                },
            )
        ],
        [
            (
                80,
                "TCP",
                Reachability(True).expect_all_ingress("x/a", False).expect("y/a", "x/a", True),
            )
        ],
    ),
    "ports": (
        [
            netpol(
                "x",
                "p",
                {
                    **POD_A,
                    "ingress": [
                        {"from": [{"namespaceSelector": labels(ns="y")}], "ports": [{"port": 81}]}
                    ],
                },
            )
        ],
        [
            (
                81,
                "TCP",
                Reachability(True)
                .expect_all_ingress("x/a", False)
                .expect_peer(peer("y"), peer("x", "a"), True),
            ),
            (80, "TCP", Reachability(True).expect_all_ingress("x/a", False)),
        ],
    ),
    "stacked policies with overlapping podSelectors add up": (
        [
            netpol(
                "x",
                f"p{port}",
                {
                    **POD_A,
                    "ingress": [
                        {"from": [{"namespaceSelector": labels(ns="y")}], "ports": [{"port": port}]}
                    ],
                },
            )
            for port in (80, 81)
        ],
        [
            (
                port,
                "TCP",
                Reachability(True)
                .expect_all_ingress("x/a", False)
                .expect_peer(peer("y"), peer("x", "a"), True),
            )
            for port in (80, 81)
        ],
    ),
    "allow-all ingress": (
        [netpol("x", "all", {"podSelector": {}, "ingress": [{}]})],
        [(80, "TCP", Reachability(True)), (81, "UDP", Reachability(True))],
    ),
    "one named ingress port": (
        [netpol("x", "p", {"podSelector": {}, "ingress": [{"ports": [{"port": "serve-81-tcp"}]}]})],
        [
            (81, "TCP", Reachability(True)),
            (80, "TCP", Reachability(True).expect_peer(peer(), peer("x"), False)),
        ],
    ),
    "a named port from a namespace": (
        [
            netpol(
                "x",
                "p",
                {
                    "podSelector": {},
                    "ingress": [
                        {
                            "from": [{"namespaceSelector": labels(ns="y")}],
                            "ports": [{"port": "serve-80-tcp"}],
                        }
                    ],
                },
            )
        ],
        [
            (
                80,
                "TCP",
                Reachability(True)
                .expect_peer(peer(), peer("x"), False)
                .expect_peer(peer("y"), peer("x"), True),
            ),
            (81, "TCP", Reachability(True).expect_peer(peer(), peer("x"), False)),
        ],
    ),
    "one named egress port": (
        [
            netpol(
                "x",
                "p",
                {
                    "podSelector": {},
                    "policyTypes": ["Egress"],
                    "egress": [{"ports": [{"port": "serve-80-tcp"}]}, DNS_EGRESS],
                },
            )
        ],
        [
            (80, "TCP", Reachability(True)),
            (81, "TCP", Reachability(True).expect_peer(peer("x"), peer(), False)),
        ],
    ),
    "deny egress from pods by podSelector (DNS still allowed)": (
        [netpol("x", "p", {**POD_A, "policyTypes": ["Egress"], "egress": [DNS_EGRESS]})],
        [
            (80, "TCP", Reachability(True).expect_all_egress("x/a", False)),
            (53, "UDP", Reachability(True)),
        ],
    ),
    "deny egress from all pods of a namespace": (
        [netpol("x", "p", {"podSelector": {}, "policyTypes": ["Egress"], "egress": [DNS_EGRESS]})],
        [(80, "TCP", Reachability(True).expect_peer(peer("x"), peer(), False))],
    ),
    "ingress and egress specified together": (
        [
            netpol(
                "x",
                "p",
                {
                    **POD_A,
                    "policyTypes": ["Ingress", "Egress"],
                    "ingress": [{"from": [{"podSelector": labels(pod="b")}]}],
                    "egress": [{"ports": [{"port": 80}]}],
                },
            )
        ],
        [
            (
                80,
                "TCP",
                Reachability(True).expect_all_ingress("x/a", False).expect("x/b", "x/a", True),
            ),
            (
                81,
                "TCP",
                Reachability(True)
                .expect_all_ingress("x/a", False)
                .expect("x/b", "x/a", True)
                .expect_all_egress("x/a", False),
            ),
        ],
    ),
    "client-side egress deny wins over a server that allows": (
        [
            netpol(
                "x",
                "client",
                {
                    **POD_A,
                    "policyTypes": ["Egress"],
                    "egress": [
                        {
                            "to": [
                                {
                                    "namespaceSelector": labels(ns="y"),
                                    "podSelector": labels(pod="b"),
                                }
                            ]
                        }
                    ],
                },
            ),
            netpol("z", "server", {"podSelector": {}, "ingress": [{}]}),
        ],
        [
            (
                80,
                "TCP",
                Reachability(True).expect_all_egress("x/a", False).expect("x/a", "y/b", True),
            )
        ],
    ),
    "any port on one protocol": (
        [netpol("x", "p", {**POD_A, "ingress": [{"ports": [{"protocol": "TCP"}]}]})],
        [
            (80, "TCP", Reachability(True)),
            (81, "TCP", Reachability(True)),
            (80, "UDP", Reachability(True).expect_all_ingress("x/a", False)),
        ],
    ),
    "an allow-all ingress policy takes precedence": (
        [
            netpol("x", "p80", {**POD_A, "ingress": [{"ports": [{"port": 80}]}]}),
            netpol("x", "all", {**POD_A, "ingress": [{}]}),
        ],
        [(81, "TCP", Reachability(True))],
    ),
    "an allow-all egress policy takes precedence": (
        [
            netpol(
                "x",
                "p80",
                {**POD_A, "policyTypes": ["Egress"], "egress": [{"ports": [{"port": 80}]}]},
            ),
            netpol("x", "all", {**POD_A, "policyTypes": ["Egress"], "egress": [{}]}),
        ],
        [(81, "TCP", Reachability(True))],
    ),
    "egress to a server in a CIDR block": (
        [
            netpol(
                "x",
                "p",
                {
                    **POD_A,
                    "policyTypes": ["Egress"],
                    "egress": [
                        {"to": [{"ipBlock": {"cidr": f"{e2e_model.ip_of('y/b')}/32"}}]},
                        DNS_EGRESS,
                    ],
                },
            )
        ],
        [
            (
                80,
                "TCP",
                Reachability(True).expect_all_egress("x/a", False).expect("x/a", "y/b", True),
            )
        ],
    ),
    "except clause of a CIDR block": (
        [
            netpol(
                "x",
                "p",
                {
                    **POD_A,
                    "policyTypes": ["Egress"],
                    "egress": [
                        {
                            "to": [
                                {
                                    "ipBlock": {
                                        "cidr": "10.0.0.0/16",
                                        "except": [f"{e2e_model.ip_of('y/b')}/32"],
                                    }
                                }
                            ]
                        }
                    ],
                },
            )
        ],
        [(80, "TCP", Reachability(True).expect("x/a", "y/b", False))],
    ),
    "an IP in both a CIDR's except and another policy's CIDR is allowed": (
        [
            netpol(
                "x",
                "except",
                {
                    **POD_A,
                    "policyTypes": ["Egress"],
                    "egress": [
                        {
                            "to": [
                                {
                                    "ipBlock": {
                                        "cidr": "10.0.0.0/16",
                                        "except": [f"{e2e_model.ip_of('y/b')}/32"],
                                    }
                                }
                            ]
                        }
                    ],
                },
            ),
            netpol(
                "x",
                "single",
                {
                    **POD_A,
                    "policyTypes": ["Egress"],
                    "egress": [{"to": [{"ipBlock": {"cidr": f"{e2e_model.ip_of('y/b')}/32"}}]}],
                },
            ),
        ],
        [(80, "TCP", Reachability(True))],
    ),
    "ingress from a CIDR block of pod IPs": (
        [
            netpol(
                "x", "p", {**POD_A, "ingress": [{"from": [{"ipBlock": {"cidr": "10.0.1.0/24"}}]}]}
            )
        ],
        [
            (
                80,
                "TCP",
                Reachability(True)
                .expect_all_ingress("x/a", False)
                .expect_peer(peer("y"), peer("x", "a"), True),
            )
        ],
    ),
    "ingress and egress policies are controlled independently": (
        [
            netpol(
                "x",
                "egress-a",
                {
                    **POD_A,
                    "policyTypes": ["Egress"],
                    "egress": [{"to": [{"podSelector": labels(pod="b")}]}],
                },
            ),
            netpol("x", "deny-b", {"podSelector": labels(pod="b")}),
        ],
        [
            (
                80,
                "TCP",
                Reachability(True).expect_all_egress("x/a", False).expect_all_ingress("x/b", False),
            )
        ],
    ),
    "SCTP is not TCP": (
        [netpol("x", "p", {**POD_A, "ingress": [{"ports": [{"protocol": "SCTP", "port": 80}]}]})],
        [
            (80, "SCTP", Reachability(True)),
            (80, "TCP", Reachability(True).expect_all_ingress("x/a", False)),
        ],
    ),
    "UDP only does not allow TCP": (
        [netpol("x", "p", {**POD_A, "ingress": [{"ports": [{"protocol": "UDP", "port": 81}]}]})],
        [
            (81, "UDP", Reachability(True)),
            (81, "TCP", Reachability(True).expect_all_ingress("x/a", False)),
        ],
    ),
    "namespaceSelector on the default namespace-name label": (
        [
            netpol(
                "x",
                "p",
                {
                    **POD_A,
                    "ingress": [
                        {
                            "from": [
                                {
                                    "namespaceSelector": labels(
                                        **{"kubernetes.io/metadata.name": "y"}
                                    )
                                }
                            ]
                        }
                    ],
                },
            )
        ],
        [
            (
                80,
                "TCP",
                Reachability(True)
                .expect_all_ingress("x/a", False)
                .expect_peer(peer("y"), peer("x", "a"), True),
            )
        ],
    ),
    "ports with endPort": (
        [
            netpol(
                "x",
                "p",
                {
                    **POD_A,
                    "ingress": [
                        {
                            "from": [{"namespaceSelector": labels(ns="y")}],
                            "ports": [{"port": 80, "endPort": 81}],
                        }
                    ],
                },
            )
        ],
        [
            *(
                (
                    port,
                    "TCP",
                    Reachability(True)
                    .expect_all_ingress("x/a", False)
                    .expect_peer(peer("y"), peer("x", "a"), True),
                )
                for port in (80, 81)
            ),
            (82, "TCP", Reachability(True).expect_all_ingress("x/a", False)),
        ],
    ),
    "a policy with no rules isolates the pods it selects": (
        [netpol("x", "p", {**POD_A, "policyTypes": ["Ingress"], "ingress": []})],
        [(80, "TCP", Reachability(True).expect_all_ingress("x/a", False))],
    ),
    "an egress-only policy leaves ingress open": (
        [netpol("x", "p", {"podSelector": {}, "policyTypes": ["Egress"], "egress": [{}]})],
        [(80, "TCP", Reachability(True))],
    ),
}


@pytest.mark.parametrize("case", sorted(E2E_CASES))
def test_e2e_truth_table(case: str) -> None:
    policies, probes = E2E_CASES[case]
    cluster = e2e_model.cluster(policies)
    pods = {p.ref: p for p in cluster.pods}
    for port, proto, expected in probes:
        got = {
            (s, d): reach.allowed(pods[s], pods[d], port, Protocol(proto), cluster=cluster).allowed
            for s, d in expected.expected
        }
        assert got == expected.expected, (
            f"{case} at {port}/{proto}\nexpected:\n{e2e_model.render(expected.expected)}\n"
            f"got:\n{e2e_model.render(got)}"
        )


@pytest.mark.parametrize("case", sorted(E2E_CASES))
def test_matrix_agrees_with_the_e2e_truth_table(case: str) -> None:
    policies, probes = E2E_CASES[case]
    cluster = e2e_model.cluster(policies)
    open_ports = {(c.src.ref, c.dst.ref): c.ports for c in reach.matrix(cluster)}
    for port, proto, expected in probes:
        got = {
            pair: open_ports.get(pair, ports.NONE).contains(Protocol(proto), port)
            for pair in expected.expected
        }
        assert got == expected.expected, f"{case} at {port}/{proto}\n{e2e_model.render(got)}"


def test_namespace_relabel_changes_who_gets_in() -> None:
    # e2e "should allow ingress access from updated namespace"
    pol = netpol(
        "x", "p", {**POD_A, "ingress": [{"from": [{"namespaceSelector": labels(ns2="updated")}]}]}
    )
    before = e2e_model.cluster([pol])
    after = e2e_model.cluster(
        [pol], {"x": {"ns": "x"}, "y": {"ns": "y", "ns2": "updated"}, "z": {"ns": "z"}}
    )
    for cl, expected in ((before, False), (after, True)):
        pods = {p.ref: p for p in cl.pods}
        assert reach.allowed(pods["y/a"], pods["x/a"], 80, cluster=cl).allowed is expected


# --- verdicts --------------------------------------------------------------------------------


def dns_cluster() -> np.Cluster:
    pods = [
        np.parse_pod(objects.pod("app", "web", {"app": "web"}, ip="10.1.0.1")),
        np.parse_pod(
            objects.pod("app", "db", {"app": "db"}, ip="10.1.0.2", ports=[("pg", "TCP", 5432)])
        ),
        np.parse_pod(objects.pod("kube-system", "coredns", {"k8s-app": "kube-dns"}, ip="10.1.9.9")),
    ]
    policies = [
        netpol("app", "default-deny", {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}),
        netpol(
            "app",
            "allow-dns",
            {
                "podSelector": {},
                "policyTypes": ["Egress"],
                "egress": [
                    {
                        "to": [
                            {
                                "namespaceSelector": labels(
                                    **{"kubernetes.io/metadata.name": "kube-system"}
                                ),
                                "podSelector": labels(**{"k8s-app": "kube-dns"}),
                            }
                        ],
                        **DNS_EGRESS,
                    }
                ],
            },
        ),
        netpol(
            "app",
            "web-to-db",
            {
                "podSelector": labels(app="db"),
                "ingress": [
                    {"from": [{"podSelector": labels(app="web")}], "ports": [{"port": "pg"}]}
                ],
            },
        ),
        netpol(
            "app",
            "web-out",
            {
                "podSelector": labels(app="web"),
                "policyTypes": ["Egress"],
                "egress": [
                    {"to": [{"podSelector": labels(app="db")}]},
                    {
                        "to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["10.0.0.0/8"]}}],
                        "ports": [{"port": 443}],
                    },
                ],
            },
        ),
    ]
    return np.Cluster(pods=pods, policies=[np.parse_policy(p) for p in policies])


def test_egress_deny_with_dns_allowed() -> None:
    cl = dns_cluster()
    web, db, dns = cl.pods
    assert reach.allowed(web, dns, 53, Protocol.UDP, cluster=cl).allowed
    assert reach.allowed(db, dns, 53, Protocol.TCP, cluster=cl).allowed
    assert not reach.allowed(db, dns, 80, Protocol.TCP, cluster=cl).allowed
    assert not reach.allowed(db, web, 53, Protocol.UDP, cluster=cl).allowed  # ingress denied


def test_verdict_names_the_deciding_policies_of_both_sides() -> None:
    cl = dns_cluster()
    web, db, _ = cl.pods
    verdict = reach.allowed(web, db, 5432, Protocol.TCP, cluster=cl)
    assert verdict.allowed
    assert verdict.egress.isolating == ("app/default-deny", "app/allow-dns", "app/web-out")
    assert verdict.egress.allowing == ("app/web-out",)
    assert verdict.ingress.isolating == ("app/default-deny", "app/web-to-db")
    assert verdict.ingress.allowing == ("app/web-to-db",)

    denied = reach.allowed(web, db, 80, Protocol.TCP, cluster=cl)
    assert not denied.allowed
    assert denied.egress.allowed  # web may send to db on any port
    assert denied.ingress.isolated and denied.ingress.allowing == ()


def test_external_addresses_are_matched_by_ip_blocks_only() -> None:
    cl = dns_cluster()
    web, db, _ = cl.pods
    internet = np.External(ipaddress.ip_address("93.184.216.34"))
    internal = np.External(ipaddress.ip_address("10.200.0.1"))
    assert reach.allowed(web, internet, 443, cluster=cl).allowed
    assert not reach.allowed(web, internet, 80, cluster=cl).allowed
    assert not reach.allowed(web, internal, 443, cluster=cl).allowed  # in the except
    assert not reach.allowed(db, internet, 443, cluster=cl).allowed
    inbound = reach.allowed(internet, db, 5432, cluster=cl)
    assert not inbound.allowed and inbound.egress.allowed and not inbound.egress.isolated


def test_unrestricted_pair_is_open_on_every_port_of_every_protocol() -> None:
    cl = np.Cluster(
        pods=[np.parse_pod(objects.pod("a", "p")), np.parse_pod(objects.pod("b", "q"))], policies=[]
    )
    conns = reach.matrix(cl)
    assert [(c.src.ref, c.dst.ref) for c in conns] == [("a/p", "b/q"), ("b/q", "a/p")]
    assert all(c.ports == ports.ALL for c in conns)


def test_matrix_intersects_egress_and_ingress_port_sets() -> None:
    cl = np.Cluster(
        pods=[
            np.parse_pod(objects.pod("n", "c", {"r": "c"})),
            np.parse_pod(objects.pod("n", "s", {"r": "s"})),
        ],
        policies=[
            np.parse_policy(
                netpol(
                    "n",
                    "out",
                    {
                        "podSelector": labels(r="c"),
                        "policyTypes": ["Egress"],
                        "egress": [{"ports": [{"port": 1000, "endPort": 2000}]}],
                    },
                )
            ),
            np.parse_policy(
                netpol(
                    "n",
                    "in",
                    {
                        "podSelector": labels(r="s"),
                        "ingress": [
                            {
                                "ports": [
                                    {"port": 1500, "endPort": 3000},
                                    {"port": 53, "protocol": "UDP"},
                                ]
                            }
                        ],
                    },
                )
            ),
        ],
    )
    (c_to_s,) = [c for c in reach.matrix(cl) if c.src.name == "c"]
    assert c_to_s.ports.to_lists() == {"TCP": [[1500, 2000]], "UDP": [], "SCTP": []}


# --- the matrix is allowed() for every pair, on random clusters ----------------------------------


def random_cluster(
    pods: list[tuple[str, dict[str, Any]]], policies: list[tuple[str, dict[str, Any]]]
) -> np.Cluster:
    return np.Cluster(
        pods=[
            np.parse_pod(strategies.pod_object(ns, f"p{i}", spec))
            for i, (ns, spec) in enumerate(pods)
        ],
        policies=[
            np.parse_policy(strategies.policy_object(ns, f"np{i}", spec))
            for i, (ns, spec) in enumerate(policies)
        ],
        namespaces={
            ns: np.parse_namespace(objects.namespace(ns, lbls))
            for ns, lbls in strategies.DECLARED.items()
        },
    )


PROBE_PORTS = (1, 52, 53, 54, 74, 75, 79, 80, 81, 82, 85, 90, 91, 8080, 65535)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.tuples(strategies.POD_NAMESPACE, strategies.POD_SPEC), min_size=1, max_size=5),
    st.lists(st.tuples(strategies.POLICY_NAMESPACE, strategies.POLICY_SPEC), max_size=4),
)
def test_matrix_is_allowed_for_every_pair_port_and_protocol(
    pods: list[tuple[str, dict[str, Any]]], policies: list[tuple[str, dict[str, Any]]]
) -> None:
    cl = random_cluster(pods, policies)
    open_ports = {(c.src.ref, c.dst.ref): c.ports for c in reach.matrix(cl)}
    for src in cl.pods:
        for dst in cl.pods:
            if src is dst:
                continue
            got = open_ports.get((src.ref, dst.ref), ports.NONE)
            for proto in ports.PROTOCOLS:
                for port in PROBE_PORTS:
                    want = reach.allowed(src, dst, port, proto, cluster=cl).allowed
                    assert got.contains(proto, port) == want, (src.ref, dst.ref, proto, port)


# --- scale ----------------------------------------------------------------------------------------


def synthetic_cluster(n_pods: int, n_policies: int, seed: int = 7) -> np.Cluster:
    """A realistic-looking cluster: 20 namespaces, apps of a few pods, tiers, per-app policies."""
    rnd = random.Random(seed)
    namespaces = [f"ns{i}" for i in range(20)]
    pods = []
    for i in range(n_pods):
        ns = namespaces[i % len(namespaces)]
        app = f"app{rnd.randrange(25)}"
        tier = rnd.choice(["web", "api", "db"])
        pods.append(
            np.parse_pod(
                objects.pod(
                    ns,
                    f"pod{i}",
                    {"app": app, "tier": tier},
                    ip=f"10.{i // 250}.{i % 250}.{1 + i % 200}",
                    ports=[("http", "TCP", 8080), ("metrics", "TCP", 9090)],
                )
            )
        )
    policies = []
    for i in range(n_policies):
        ns = namespaces[i % len(namespaces)]
        kind = i % 5
        sel = labels(app=f"app{rnd.randrange(25)}")
        if kind == 0:
            spec: dict[str, Any] = {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
        elif kind == 1:
            spec = {
                "podSelector": sel,
                "ingress": [
                    {"from": [{"podSelector": labels(tier="web")}], "ports": [{"port": "http"}]}
                ],
            }
        elif kind == 2:
            spec = {
                "podSelector": sel,
                "ingress": [
                    {
                        "from": [
                            {
                                "namespaceSelector": labels(
                                    **{"kubernetes.io/metadata.name": rnd.choice(namespaces)}
                                ),
                                "podSelector": labels(tier="api"),
                            }
                        ],
                        "ports": [{"port": 5432}, {"port": 9090}],
                    }
                ],
            }
        elif kind == 3:
            spec = {
                "podSelector": {},
                "policyTypes": ["Egress"],
                "egress": [
                    {"to": [{"namespaceSelector": {}}], "ports": [{"port": 53, "protocol": "UDP"}]},
                    {"to": [{"podSelector": {}}]},
                ],
            }
        else:
            spec = {
                "podSelector": labels(tier="web"),
                "ingress": [
                    {
                        "from": [{"ipBlock": {"cidr": "10.0.0.0/16", "except": ["10.0.1.0/24"]}}],
                        "ports": [{"port": 8000, "endPort": 8100}],
                    }
                ],
            }
        policies.append(np.parse_policy(netpol(ns, f"np{i}", spec)))
    return np.Cluster(pods=pods, policies=policies)


def test_matrix_of_a_thousand_pods_and_a_hundred_policies_takes_seconds() -> None:
    cl = synthetic_cluster(1000, 100)
    start = time.perf_counter()
    conns = reach.matrix(cl)
    elapsed = time.perf_counter() - start
    # A naive pods^2 x policies evaluation takes minutes here; the class grouping seconds.
    assert elapsed < 60, elapsed
    assert 0 < len(conns) < 1000 * 999
    print(f"matrix: 1000 pods x 100 policies -> {len(conns)} connections in {elapsed:.2f}s")


def _sample_pairs(cl: np.Cluster, k: int) -> list[tuple[np.Pod, np.Pod]]:
    rnd = random.Random(1)
    return [tuple(rnd.sample(list(cl.pods), 2)) for _ in range(k)]  # type: ignore[misc]


def test_matrix_at_scale_agrees_with_allowed_on_sampled_pairs() -> None:
    cl = synthetic_cluster(300, 40)
    open_ports = {(c.src.ref, c.dst.ref): c.ports for c in reach.matrix(cl)}

    def check(s: np.Pod, d: np.Pod, p: int, pr: Protocol) -> bool:
        return reach.allowed(s, d, p, pr, cluster=cl).allowed

    for src, dst in _sample_pairs(cl, 300):
        got = open_ports.get((src.ref, dst.ref), ports.NONE)
        for proto, port in (
            (Protocol.TCP, 8080),
            (Protocol.TCP, 8050),
            (Protocol.TCP, 5432),
            (Protocol.UDP, 53),
            (Protocol.TCP, 22),
        ):
            assert got.contains(proto, port) == check(src, dst, port, proto)
