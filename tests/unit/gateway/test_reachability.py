"""PolicyPorts labels parse back into the port sets the netpol module wrote."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.reachability import check, parse_ports
from topolog.core import manifests
from topolog.core.derive.engine import Deriver
from topolog.core.envelope import Envelope, EventType
from topolog.core.netpol import policy as np
from topolog.core.netpol import ports
from topolog.core.query import memory
from topolog.core.query.memory import MemoryHistory, MemoryView

DEMO = Path(__file__).resolve().parents[3] / "deploy" / "demo"


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


def _bookinfo_graph() -> MemoryView:
    """The demo's bookinfo (default deny + allow on the named port ``http``), derived."""
    deriver = Deriver("demo")
    objects = [
        m.object
        for m in manifests.load([DEMO / "02-bookinfo.yaml", DEMO / "03-bookinfo-netpol.yaml"])
    ]
    objects.append({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "default"}})
    for obj in list(objects):
        if obj["kind"] == "Deployment":  # one running pod per deployment, as kwok makes
            template = obj["spec"]["template"]
            objects.append(
                {
                    "apiVersion": "v1",
                    "kind": "Pod",
                    "metadata": {
                        "name": obj["metadata"]["name"],
                        "namespace": "default",
                        "labels": template["metadata"]["labels"],
                    },
                    "spec": template["spec"],
                    "status": {"phase": "Running"},
                }
            )
    for i, obj in enumerate(objects):
        meta = obj["metadata"]
        meta.setdefault("uid", f"uid-{meta['name']}-{obj['kind']}")
        deriver.apply(
            Envelope(
                cluster="demo",
                api_version=obj["apiVersion"],
                kind=obj["kind"],
                namespace=meta.get("namespace", ""),
                name=meta["name"],
                uid=meta["uid"],
                type=EventType.ADDED,
                resource_version=str(i),
                observed_at=1.0,
                object=obj,
            )
        )
    nodes, edges = deriver.snapshot()
    history = MemoryHistory(
        nodes=[memory.node(n.id, n.metadata, created=1.0) for n in nodes.values()],
        edges=[
            memory.edge(e.id, e.parent, e.child, e.metadata, created=1.0) for e in edges.values()
        ],
    )
    return history.live()


def test_named_policy_port_resolves_against_the_destination_pods_ports() -> None:
    graph = _bookinfo_graph()
    verdict, unresolved = check(
        graph, "default/productpage-v1", "default/reviews-v1", 9080, ports.Protocol.TCP
    )
    assert verdict.allowed, verdict
    assert unresolved == []
    assert "default/reviews-v1" in verdict.ingress.allowing


def test_named_port_opens_only_its_number_and_only_for_allowed_peers() -> None:
    graph = _bookinfo_graph()
    other_port, _ = check(
        graph, "default/productpage-v1", "default/reviews-v1", 9081, ports.Protocol.TCP
    )
    assert not other_port.allowed
    wrong_peer, _ = check(
        graph, "default/ratings-v1", "default/details-v1", 9080, ports.Protocol.TCP
    )
    assert not wrong_peer.allowed
    assert "default/deny" in wrong_peer.ingress.isolating
