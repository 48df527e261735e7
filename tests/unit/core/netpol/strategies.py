"""Hypothesis strategies for small random clusters: namespaces n1..n3 (n1 team=a, n2 team=b,
n3 undeclared), pods with an optional ``app`` label, an IP and a named ``http`` port, and
policies mixing every kind of selector, peer and port the semantics distinguish."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from . import objects

LABEL = st.sampled_from(["a", "b"])
SELECTOR = st.one_of(
    st.just({}),
    st.builds(lambda v: {"matchLabels": {"app": v}}, LABEL),
    st.builds(
        lambda v: {"matchExpressions": [{"key": "app", "operator": "NotIn", "values": [v]}]}, LABEL
    ),
    st.builds(lambda v: {"matchLabels": {"team": v}}, LABEL),
)
PEER = st.one_of(
    st.builds(lambda s: {"podSelector": s}, SELECTOR),
    st.builds(lambda s: {"namespaceSelector": s}, SELECTOR),
    st.builds(lambda s, t: {"podSelector": s, "namespaceSelector": t}, SELECTOR, SELECTOR),
    st.builds(
        lambda c, e: {"ipBlock": {"cidr": c, **({"except": [e]} if e else {})}},
        st.sampled_from(["10.0.0.0/30", "10.0.0.0/24", "0.0.0.0/0"]),
        st.sampled_from([None, "10.0.0.1/32", "10.0.0.2/31"]),
    ),
)
PORT = st.one_of(
    st.builds(
        lambda p, pr: {"port": p, "protocol": pr},
        st.sampled_from([53, 80, 81]),
        st.sampled_from(["TCP", "UDP"]),
    ),
    st.builds(lambda p: {"port": p, "endPort": p + 10}, st.sampled_from([75, 80])),
    st.builds(lambda n: {"port": n}, st.sampled_from(["http", "alt"])),
    st.just({"protocol": "SCTP"}),
)
RULE = st.fixed_dictionaries(
    {}, optional={"peers": st.lists(PEER, max_size=2), "ports": st.lists(PORT, max_size=2)}
)
POLICY_SPEC = st.fixed_dictionaries(
    {
        "podSelector": SELECTOR,
        "ingress": st.one_of(st.none(), st.lists(RULE, max_size=2)),
        "egress": st.one_of(st.none(), st.lists(RULE, max_size=2)),
        "types": st.sampled_from([None, ["Ingress"], ["Egress"], ["Ingress", "Egress"]]),
    }
)
POLICY_NAMESPACE = st.sampled_from(["n1", "n2"])
POD_SPEC = st.fixed_dictionaries(
    {
        "app": st.one_of(st.none(), LABEL),
        "ip": st.sampled_from([None, "10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.1.5"]),
        "http": st.sampled_from([None, 80, 8080]),
    }
)
POD_NAMESPACE = st.sampled_from(["n1", "n2", "n3"])
NAMESPACE_LABELS = st.fixed_dictionaries({}, optional={"team": LABEL, "env": LABEL})

DECLARED = {"n1": {"team": "a"}, "n2": {"team": "b"}}


def pod_object(ns: str, name: str, spec: dict[str, Any], uid: str | None = None) -> dict[str, Any]:
    named: list[tuple[str | None, str, int]] = (
        [("http", "TCP", spec["http"])] if spec["http"] else []
    )
    app = {"app": spec["app"]} if spec["app"] else {}
    return objects.pod(ns, name, app, ip=spec["ip"], ports=named, uid=uid)


def policy_object(
    ns: str, name: str, spec: dict[str, Any], uid: str | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {"podSelector": spec["podSelector"]}
    if spec["ingress"] is not None:
        body["ingress"] = [_rule(r, "from") for r in spec["ingress"]]
    if spec["egress"] is not None:
        body["egress"] = [_rule(r, "to") for r in spec["egress"]]
    if spec["types"]:
        body["policyTypes"] = spec["types"]
    return objects.policy(ns, name, body, uid=uid)


def _rule(raw: dict[str, Any], field: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "peers" in raw:
        out[field] = raw["peers"]
    if "ports" in raw:
        out["ports"] = raw["ports"]
    return out
