from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from topolog.core import graph
from topolog.core.netpol import edges
from topolog.core.netpol import policy as np

from . import objects, strategies


def meta(edge: graph.Edge) -> tuple[str, str, str, str]:
    m = edge.metadata
    return (m["PolicyType"], m["PolicyPoint"], m["PolicyTarget"], m["PolicyPorts"])


def by_pod(g: edges.NetpolGraph, policy_uid: str) -> dict[str, set[tuple[str, str, str, str]]]:
    out: dict[str, set[tuple[str, str, str, str]]] = {}
    for e in g.edges().values():
        if e.parent == policy_uid:
            out.setdefault(e.child, set()).add(meta(e))
    return out


@pytest.fixture
def shop() -> edges.NetpolGraph:
    return _shop()


def _shop(pairs: edges.PairEdges | None = None) -> edges.NetpolGraph:
    g = edges.NetpolGraph(pairs=pairs)
    g.apply_namespace(objects.namespace("shop", {"team": "shop"}))
    g.apply_namespace(objects.namespace("mon", {"team": "ops"}))
    g.apply_pod(objects.pod("shop", "web", {"app": "web"}, ip="10.0.0.1"))
    g.apply_pod(objects.pod("shop", "db", {"app": "db"}, ip="10.0.0.2"))
    g.apply_pod(objects.pod("mon", "prom", {"app": "prom"}, ip="10.0.9.1"))
    return g


def test_a_policy_without_rules_denies_the_pods_it_selects(shop: edges.NetpolGraph) -> None:
    shop.apply_policy(objects.policy("shop", "deny", {"podSelector": {}}))
    assert by_pod(shop, "uid-np-shop-deny") == {
        "uid-pod-shop-web": {("ingress", "begin", "deny", "")},
        "uid-pod-shop-db": {("ingress", "begin", "deny", "")},
    }


def test_begin_edges_for_selected_pods_end_edges_for_peers(shop: edges.NetpolGraph) -> None:
    shop.apply_policy(
        objects.policy(
            "shop",
            "db",
            {
                "podSelector": {"matchLabels": {"app": "db"}},
                "ingress": [
                    {
                        "from": [{"podSelector": {"matchLabels": {"app": "web"}}}],
                        "ports": [{"port": 5432}],
                    },
                    {
                        "from": [{"namespaceSelector": {"matchLabels": {"team": "ops"}}}],
                        "ports": [{"port": 9187}, {"port": 53, "protocol": "UDP"}],
                    },
                ],
            },
        )
    )
    assert by_pod(shop, "uid-np-shop-db") == {
        "uid-pod-shop-db": {("ingress", "begin", "allow", ":5432;:9187;:53/UDP")},
        "uid-pod-shop-web": {("ingress", "end", "allow", ":5432")},
        "uid-pod-mon-prom": {("ingress", "end", "allow", ":9187;:53/UDP")},
    }


def test_egress_policy_edges_and_a_pod_both_selected_and_peer(shop: edges.NetpolGraph) -> None:
    shop.apply_policy(
        objects.policy(
            "shop",
            "out",
            {
                "podSelector": {},
                "policyTypes": ["Egress"],
                "egress": [{"to": [{"podSelector": {}}]}],
            },
        )
    )
    expected = {("egress", "begin", "allow", "*"), ("egress", "end", "allow", "*")}
    assert by_pod(shop, "uid-np-shop-out") == {
        "uid-pod-shop-web": expected,
        "uid-pod-shop-db": expected,
    }


def test_edges_carry_skydive_shape_and_stable_ids(shop: edges.NetpolGraph) -> None:
    delta = shop.apply_policy(
        objects.policy("shop", "deny", {"podSelector": {"matchLabels": {"app": "db"}}})
    )
    (edge,) = delta.added
    assert edge.parent == "uid-np-shop-deny" and edge.child == "uid-pod-shop-db"
    assert edge.metadata == {
        "RelationType": "networkpolicy",
        "PolicyType": "ingress",
        "PolicyTarget": "deny",
        "PolicyPoint": "begin",
        "PolicyPorts": "",
    }
    assert edge.id == graph.edge_id(
        "uid-np-shop-deny", "uid-pod-shop-db", "networkpolicy", "ingress", "begin"
    )


def test_pod_label_change_moves_only_its_edges(shop: edges.NetpolGraph) -> None:
    shop.apply_policy(
        objects.policy("shop", "deny-db", {"podSelector": {"matchLabels": {"app": "db"}}})
    )
    delta = shop.apply_pod(objects.pod("shop", "web", {"app": "db"}, ip="10.0.0.1"))
    assert [e.child for e in delta.added] == ["uid-pod-shop-web"]
    assert delta.removed == []
    delta = shop.apply_pod(objects.pod("shop", "db", {"app": "cache"}, ip="10.0.0.2"))
    assert delta.added == []
    assert delta.removed == [
        graph.edge_id("uid-np-shop-deny-db", "uid-pod-shop-db", "networkpolicy", "ingress", "begin")
    ]


def test_unchanged_event_changes_nothing(shop: edges.NetpolGraph) -> None:
    shop.apply_policy(objects.policy("shop", "deny", {"podSelector": {}}))
    assert not shop.apply_pod(objects.pod("shop", "web", {"app": "web"}, ip="10.0.0.1"))
    assert not shop.apply_policy(objects.policy("shop", "deny", {"podSelector": {}}))
    assert not shop.apply_namespace(objects.namespace("shop", {"team": "shop"}))


def test_port_change_updates_the_edge_in_place(shop: edges.NetpolGraph) -> None:
    def allow(port: int) -> dict[str, Any]:
        return objects.policy(
            "shop",
            "p",
            {
                "podSelector": {"matchLabels": {"app": "db"}},
                "ingress": [{"ports": [{"port": port}]}],
            },
        )

    first = shop.apply_policy(allow(5432))
    second = shop.apply_policy(allow(5433))
    begin = [e for e in second.added if e.metadata["PolicyPoint"] == "begin"]
    assert [e.id for e in begin] == [
        e.id for e in first.added if e.metadata["PolicyPoint"] == "begin"
    ]
    assert begin[0].metadata["PolicyPorts"] == ":5433"
    assert second.removed == []


def test_namespace_relabel_re_evaluates_namespace_selectors(shop: edges.NetpolGraph) -> None:
    shop.apply_policy(
        objects.policy(
            "shop",
            "from-ops",
            {
                "podSelector": {},
                "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"team": "ops"}}}]}],
            },
        )
    )
    assert "uid-pod-mon-prom" in by_pod(shop, "uid-np-shop-from-ops")
    delta = shop.apply_namespace(objects.namespace("mon", {"team": "dev"}))
    assert [e for e in delta.added] == []
    assert len(delta.removed) == 1
    assert "uid-pod-mon-prom" not in by_pod(shop, "uid-np-shop-from-ops")
    delta = shop.delete_namespace("mon")  # pods outlive it with the name label only
    assert not delta


def test_deletes_remove_every_edge_of_the_object(shop: edges.NetpolGraph) -> None:
    shop.apply_policy(objects.policy("shop", "all", {"podSelector": {}, "ingress": [{}]}))
    ids = set(shop.edges())
    delta = shop.delete_pod("mon", "prom")
    assert len(delta.removed) == 1 and set(shop.edges()) == ids - set(delta.removed)
    remaining = set(shop.edges())
    delta = shop.delete_policy("shop", "all")
    assert set(delta.removed) == remaining and delta.added == []
    assert shop.edges() == {}
    assert not shop.delete_policy("shop", "all")
    assert not shop.delete_pod("shop", "nope")


def test_namespace_relabel_switching_between_selectors_updates_ports(
    shop: edges.NetpolGraph,
) -> None:
    shop.apply_policy(
        objects.policy(
            "shop",
            "two",
            {
                "podSelector": {"matchLabels": {"app": "db"}},
                "ingress": [
                    {
                        "from": [{"namespaceSelector": {"matchLabels": {"team": "ops"}}}],
                        "ports": [{"port": 9187}],
                    },
                    {
                        "from": [{"namespaceSelector": {"matchLabels": {"env": "prod"}}}],
                        "ports": [{"port": 80}],
                    },
                ],
            },
        )
    )
    assert by_pod(shop, "uid-np-shop-two")["uid-pod-mon-prom"] == {
        ("ingress", "end", "allow", ":9187")
    }
    delta = shop.apply_namespace(objects.namespace("mon", {"env": "prod"}))
    assert [meta(e) for e in delta.added] == [("ingress", "end", "allow", ":80")]
    assert by_pod(shop, "uid-np-shop-two")["uid-pod-mon-prom"] == {
        ("ingress", "end", "allow", ":80")
    }


class _Recorder:
    """``pair_edges`` that records what each evaluated (policy, pod) pair is, once ``on``."""

    def __init__(self, what: Callable[[np.Policy, np.Pod], Any]) -> None:
        self.what = what
        self.calls: list[Any] = []
        self.on = False

    def __call__(
        self, pol: np.Policy, pod: np.Pod, labels: Mapping[str, str]
    ) -> dict[str, graph.Edge]:
        if self.on:
            self.calls.append(self.what(pol, pod))
        return edges.pair_edges(pol, pod, labels)


# --- only what an event can touch is re-evaluated ----------------------------------------------


def test_events_evaluate_only_the_pairs_the_indexes_point_at() -> None:
    recorder = _Recorder(lambda pol, pod: (pol.ref, pod.ref))
    g = edges.NetpolGraph(pairs=recorder)
    for i in range(30):
        ns = f"ns{i}"
        g.apply_namespace(objects.namespace(ns, {"idx": str(i)}))
        for j in range(10):
            g.apply_pod(objects.pod(ns, f"p{j}", {"app": f"a{j}"}))
        g.apply_policy(
            objects.policy(
                ns,
                "local",
                {
                    "podSelector": {"matchLabels": {"app": "a0"}},
                    "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "a1"}}}]}],
                },
            )
        )
    g.apply_policy(
        objects.policy(
            "ns0",
            "from-ns1",
            {
                "podSelector": {},
                "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"idx": "1"}}}]}],
            },
        )
    )
    calls = recorder.calls
    recorder.on = True

    g.apply_pod(objects.pod("ns7", "new", {"app": "a1"}))
    assert calls == [("ns7/local", "ns7/new")]  # not 31 policies

    calls.clear()
    g.apply_pod(objects.pod("ns1", "new", {"app": "zz"}))
    # not ns1/local: neither its selector (app=a0) nor its peer (app=a1) can match
    assert calls == [("ns0/from-ns1", "ns1/new")]

    calls.clear()
    g.apply_pod(objects.pod("ns0", "other", {"app": "zz"}))
    assert calls == [("ns0/from-ns1", "ns0/other")]  # an empty selector: every pod of ns0

    calls.clear()
    g.apply_policy(
        objects.policy(
            "ns3",
            "narrow",
            {
                "podSelector": {"matchLabels": {"app": "a5"}},
                "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "a6"}}}]}],
            },
        )
    )
    assert sorted(calls) == [("ns3/narrow", "ns3/p5"), ("ns3/narrow", "ns3/p6")]  # not 300 pods

    calls.clear()
    g.apply_namespace(objects.namespace("ns9", {"idx": "9", "extra": "x"}))
    assert calls == []  # no namespaceSelector cares

    calls.clear()
    g.apply_namespace(objects.namespace("ns2", {"idx": "1"}))
    assert len(calls) == 10 and {p for p, _ in calls} == {"ns0/from-ns1"}


def test_a_status_only_pod_event_evaluates_no_pair_but_a_label_change_does() -> None:
    recorder = _Recorder(lambda pol, pod: pod.ref)
    shop = _shop(pairs=recorder)
    shop.apply_policy(
        objects.policy(
            "shop",
            "db",
            {
                "podSelector": {"matchLabels": {"app": "db"}},
                "ingress": [{"from": [{"ipBlock": {"cidr": "10.0.0.0/24"}}]}],
            },
        )
    )
    before = shop.edges()
    calls = recorder.calls
    recorder.on = True
    restarted = objects.pod("shop", "web", {"app": "web"}, ip="10.0.0.1")
    restarted["status"]["phase"] = "Running"
    restarted["status"]["containerStatuses"] = [{"name": "main", "restartCount": 3}]
    assert not shop.apply_pod(restarted)
    assert calls == [] and shop.edges() == before

    moved = shop.apply_pod(objects.pod("shop", "web", {"app": "web"}, ip="10.0.1.1"))
    assert calls == ["shop/web"]
    assert [
        graph.edge_id("uid-np-shop-db", "uid-pod-shop-web", "networkpolicy", "ingress", "end")
    ] == moved.removed


def test_a_pod_event_evaluates_ip_block_policies_only_when_a_cidr_contains_its_ip() -> None:
    recorder = _Recorder(lambda pol, pod: pol.ref)
    g = edges.NetpolGraph(pairs=recorder)
    for i in range(20):
        g.apply_policy(
            objects.policy(
                f"ns{i}",
                "egress-out",
                {
                    "podSelector": {"matchLabels": {"app": "nothing"}},
                    "policyTypes": ["Egress"],
                    "egress": [{"to": [{"ipBlock": {"cidr": f"192.168.{i}.0/24"}}]}],
                },
            )
        )
    g.apply_policy(
        objects.policy(
            "ns0",
            "wide",
            {
                "podSelector": {"matchLabels": {"app": "nothing"}},
                "ingress": [
                    {"from": [{"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"]}}]}
                ],
            },
        )
    )
    calls = recorder.calls
    recorder.on = True
    g.apply_pod(objects.pod("other", "a", {"app": "a"}, ip="172.16.0.1"))
    assert calls == []  # 21 ipBlock policies, none containing the IP

    g.apply_pod(objects.pod("other", "b", {"app": "b"}, ip="192.168.7.9"))
    assert calls == ["ns7/egress-out"]

    calls.clear()
    in_except = g.apply_pod(objects.pod("other", "c", {"app": "c"}, ip="10.1.2.3"))
    assert calls == ["ns0/wide"] and not in_except  # a candidate, but excepted

    calls.clear()
    let_in = g.apply_pod(objects.pod("other", "d", {"app": "d"}, ip="10.2.2.3"))
    assert calls == ["ns0/wide"]
    assert [(e.parent, e.metadata["PolicyPoint"]) for e in let_in.added] == [
        ("uid-np-ns0-wide", "end")
    ]


def test_an_ip_block_policy_event_evaluates_only_the_pods_inside_its_cidr() -> None:
    recorder = _Recorder(lambda pol, pod: pod.ref)
    g = edges.NetpolGraph(pairs=recorder)
    for i in range(50):
        g.apply_pod(objects.pod("apps", f"p{i}", {"app": f"a{i}"}, ip=f"10.0.{i}.1"))
    g.apply_pod(objects.pod("apps", "moved", {"app": "m"}, ip="10.0.3.7"))
    g.apply_pod(objects.pod("apps", "moved", {"app": "m"}, ip="10.9.0.1"))  # left 10.0.3.0/24
    g.delete_pod("apps", "p4")
    calls = recorder.calls
    recorder.on = True
    delta = g.apply_policy(
        objects.policy(
            "other",
            "from-block",
            {
                "podSelector": {"matchLabels": {"app": "nothing"}},
                "policyTypes": ["Egress"],
                "egress": [{"to": [{"ipBlock": {"cidr": "10.0.2.0/23"}}]}],
            },
        )
    )
    assert sorted(calls) == ["apps/p2", "apps/p3"]  # not 50 pods
    assert sorted(e.child for e in delta.added) == ["uid-pod-apps-p2", "uid-pod-apps-p3"]
    calls.clear()
    g.apply_policy(
        objects.policy(
            "other",
            "gone",
            {"podSelector": {}, "egress": [{"to": [{"ipBlock": {"cidr": "10.0.4.0/24"}}]}]},
        )
    )
    assert calls == []  # p4 was deleted, "moved" left its old address


# --- incremental == from scratch, for any sequence of events -----------------------------------

_EVENT = st.one_of(
    st.tuples(
        st.just("namespace"),
        st.sampled_from(["n1", "n2", "n3"]),
        st.one_of(st.none(), strategies.NAMESPACE_LABELS),
    ),
    st.tuples(
        st.just("pod"),
        st.tuples(
            strategies.POD_NAMESPACE,
            st.sampled_from(["p0", "p1", "p2"]),
            st.sampled_from(["g0", "g1"]),
        ),
        st.one_of(st.none(), strategies.POD_SPEC),
    ),
    st.tuples(
        st.just("policy"),
        st.tuples(
            strategies.POLICY_NAMESPACE,
            st.sampled_from(["np0", "np1"]),
            st.sampled_from(["g0", "g1"]),
        ),
        st.one_of(st.none(), strategies.POLICY_SPEC),
    ),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_EVENT, max_size=25))
def test_incremental_graph_equals_a_from_scratch_computation(events: list[tuple[Any, ...]]) -> None:
    g = edges.NetpolGraph()
    view: dict[str, graph.Edge] = {}  # what a consumer of the deltas holds
    namespaces: dict[str, dict[str, Any]] = {}
    pods: dict[tuple[str, str], dict[str, Any]] = {}
    policies: dict[tuple[str, str], dict[str, Any]] = {}
    for kind, where, spec in events:
        if kind == "namespace":
            if spec is None:
                namespaces.pop(where, None)
                delta = g.delete_namespace(where)
            else:
                namespaces[where] = objects.namespace(where, spec)
                delta = g.apply_namespace(namespaces[where])
        elif kind == "pod":
            ns, name, gen = where
            if spec is None:
                pods.pop((ns, name), None)
                delta = g.delete_pod(ns, name)
            else:
                pods[(ns, name)] = strategies.pod_object(ns, name, spec, uid=f"{ns}-{name}-{gen}")
                delta = g.apply_pod(pods[(ns, name)])
        else:
            ns, name, gen = where
            if spec is None:
                policies.pop((ns, name), None)
                delta = g.delete_policy(ns, name)
            else:
                policies[(ns, name)] = strategies.policy_object(
                    ns, name, spec, uid=f"{ns}-{name}-{gen}"
                )
                delta = g.apply_policy(policies[(ns, name)])
        # A delta holds real changes only.
        for eid in delta.removed:
            assert eid in view
            del view[eid]
        for e in delta.added:
            assert view.get(e.id) != e
            view[e.id] = e

    scratch = edges.edges_from_scratch(
        np.Cluster(
            pods=[np.parse_pod(o) for o in pods.values()],
            policies=[np.parse_policy(o) for o in policies.values()],
            namespaces={n: np.parse_namespace(o) for n, o in namespaces.items()},
        )
    )
    assert view == scratch
    assert g.edges() == scratch
