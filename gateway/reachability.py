"""Can pod A reach pod B on a port? Answered from the graph's networkpolicy edges.

Flows in: a (scoped) ``GraphView`` at some time; two pods as ``namespace/name``; a port
and protocol. Flows out: a ``netpol.reach.Verdict`` with the deciding policies per side,
or ``ReachError`` (unknown pod → 404, malformed argument → 400).

The edges are ``topolog.core.netpol.edges.pair_edges``' output, so the semantics are
``netpol.reach.allowed``'s: per direction, a pod is isolated by the policies with a
``PolicyPoint: begin`` edge to it, and a connection is let through by those of them that
also have a ``PolicyPoint: end`` edge to the peer whose ``PolicyPorts`` cover the port
(the end edge's ports are those of exactly the rules whose peers match the peer).
A named port (``:http``) resolves against the destination pod's declared ports
(``Metadata.K8s.ContainerPorts``); one the destination does not declare is listed under
``unresolved`` and does not open anything.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from topolog.core.netpol import policy as np
from topolog.core.netpol import ports, reach
from topolog.core.query import view

Element = dict[str, Any]


class ReachError(LookupError):
    def __init__(self, message: str, *, not_found: bool = False) -> None:
        super().__init__(message)
        self.not_found = not_found


@dataclass(frozen=True, slots=True)
class PolicyPorts:
    """A parsed ``PolicyPorts`` label."""

    open: ports.PortSet
    named: tuple[str, ...] = ()


_ITEM = re.compile(r":(\*|\d+(?:-\d+)?|[A-Za-z0-9-]+)(?:/(TCP|UDP|SCTP))?")


def parse_ports(label: str) -> PolicyPorts:
    """``"*"`` → every port; ``""`` → none; ``":80;:53/UDP;:8000-8080;:http"``."""
    if label == "*":
        return PolicyPorts(ports.ALL)
    sets: list[ports.PortSet] = []
    named: list[str] = []
    for item in filter(None, label.split(";")):
        match = _ITEM.fullmatch(item)
        if match is None:
            continue
        text, proto = match.group(1), ports.Protocol(match.group(2) or "TCP")
        if text == "*":
            sets.append(ports.PortSet.whole(proto))
        elif text[0].isdigit():
            lo, _, hi = text.partition("-")
            sets.append(ports.PortSet.single(proto, int(lo), int(hi) if hi else None))
        else:
            named.append(item)
    return PolicyPorts(ports.union_all(sets), tuple(named))


def parse_pod_ref(ref: str) -> tuple[str, str]:
    namespace, sep, name = ref.partition("/")
    if not sep or not namespace or not name or "/" in name:
        raise ReachError(f"{ref[:100]!r} is not a pod reference like 'namespace/name'")
    return namespace, name


def find_pod(graph: view.GraphView, ref: str) -> Element:
    namespace, name = parse_pod_ref(ref)
    ids = set(graph.nodes_by_index("Type", "pod"))
    ids &= set(graph.nodes_by_index("K8s.Namespace", namespace))
    ids &= set(graph.nodes_by_index("Name", name))
    for node in graph.nodes(sorted(ids)):
        if node is not None:
            return node
    raise ReachError(f"no pod {ref}", not_found=True)


@dataclass(frozen=True, slots=True)
class _PolicyEdge:
    policy: str  # policy node id
    direction: str
    point: str
    ports: PolicyPorts


def _policy_edges(graph: view.GraphView, pod_id: str) -> list[_PolicyEdge]:
    (edge_ids,) = graph.edges_of([pod_id], view.Direction.IN)
    out: list[_PolicyEdge] = []
    for edge in graph.edges(edge_ids):
        if edge is None:
            continue
        md = edge.get("Metadata") or {}
        if md.get("RelationType") != "networkpolicy":
            continue
        out.append(
            _PolicyEdge(
                policy=edge["Parent"],
                direction=str(md.get("PolicyType", "")),
                point=str(md.get("PolicyPoint", "")),
                ports=parse_ports(str(md.get("PolicyPorts", ""))),
            )
        )
    return out


def _ref(graph: view.GraphView, policy_id: str) -> str:
    (node,) = graph.nodes([policy_id])
    if node is None:
        return policy_id
    md = node.get("Metadata") or {}
    k8s = md.get("K8s") or {}
    return f"{k8s.get('Namespace', '')}/{md.get('Name', policy_id)}"


def _named_ports(pod: Element) -> dict[tuple[str, ports.Protocol], int]:
    """``(name, protocol) → number`` of the pod's declared container ports."""
    out: dict[tuple[str, ports.Protocol], int] = {}
    k8s = (pod.get("Metadata") or {}).get("K8s") or {}
    for cp in k8s.get("ContainerPorts") or []:
        try:
            out[(str(cp["Name"]), ports.Protocol(cp.get("Protocol") or "TCP"))] = int(
                cp["ContainerPort"]
            )
        except (KeyError, TypeError, ValueError):
            continue
    return out


def _opens_named(
    named: tuple[str, ...],
    destination: dict[tuple[str, ports.Protocol], int],
    port: int,
    protocol: ports.Protocol,
) -> tuple[bool, list[str]]:
    """Whether a named item (``:http`` or ``:dns/UDP``) opens ``port``; unresolved items."""
    opens, unresolved = False, []
    for item in named:
        name, _, proto = item.lstrip(":").partition("/")
        number = destination.get((name, ports.Protocol(proto or "TCP")))
        if number is None:
            unresolved.append(item)
        elif number == port and ports.Protocol(proto or "TCP") is protocol:
            opens = True
    return opens, unresolved


def _side(
    graph: view.GraphView,
    direction: np.Direction,
    subject: list[_PolicyEdge],
    peer: list[_PolicyEdge],
    port: int,
    protocol: ports.Protocol,
    unresolved: set[str],
    destination: dict[tuple[str, ports.Protocol], int],
) -> reach.Side:
    isolating = sorted(
        {e.policy for e in subject if e.direction == direction and e.point == "begin"}
    )
    allowing: list[str] = []
    for policy in isolating:
        for e in peer:
            if e.policy == policy and e.direction == direction and e.point == "end":
                by_name, missing = _opens_named(e.ports.named, destination, port, protocol)
                unresolved.update(f"{_ref(graph, policy)} {n}" for n in missing)
                if by_name or e.ports.open.contains(protocol, port):
                    allowing.append(policy)
                    break
    return reach.Side(
        direction,
        isolated=bool(isolating),
        isolating=tuple(sorted(_ref(graph, p) for p in isolating)),
        allowing=tuple(sorted(_ref(graph, p) for p in allowing)),
    )


def check(
    graph: view.GraphView, src: str, dst: str, port: int, protocol: ports.Protocol
) -> tuple[reach.Verdict, list[str]]:
    """The verdict for ``src`` → ``dst`` and the named ports it could not resolve."""
    if not 1 <= port <= ports.MAX_PORT:
        raise ReachError(f"port {port} is not in 1-{ports.MAX_PORT}")
    a, b = find_pod(graph, src), find_pod(graph, dst)
    a_edges, b_edges = _policy_edges(graph, a["ID"]), _policy_edges(graph, b["ID"])
    unresolved: set[str] = set()
    named = _named_ports(b)  # named ports always resolve against the destination
    egress = _side(graph, np.Direction.EGRESS, a_edges, b_edges, port, protocol, unresolved, named)
    ingress = _side(
        graph, np.Direction.INGRESS, b_edges, a_edges, port, protocol, unresolved, named
    )
    verdict = reach.Verdict(
        allowed=egress.allowed and ingress.allowed, egress=egress, ingress=ingress
    )
    return verdict, sorted(unresolved)


def to_json(
    verdict: reach.Verdict, *, src: str, dst: str, port: int, protocol: str
) -> dict[str, Any]:
    def side(s: reach.Side) -> dict[str, Any]:
        return {
            "allowed": s.allowed,
            "isolated": s.isolated,
            "isolating": list(s.isolating),
            "allowing": list(s.allowing),
        }

    return {
        "from": src,
        "to": dst,
        "port": port,
        "protocol": protocol,
        "allowed": verdict.allowed,
        "egress": side(verdict.egress),
        "ingress": side(verdict.ingress),
    }
