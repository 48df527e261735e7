"""The Kubernetes e2e netpol test model (test/e2e/network/netpol): namespaces x, y, z, each
with pods a, b, c labelled ``pod=<name>``; namespaces labelled ``ns=<name>``; every pod serves
ports 80 and 81 on TCP, UDP and SCTP under the names ``serve-<port>-<protocol>``.

``Reachability`` mirrors the e2e helper of the same name: start from a default verdict for
every ordered pair of distinct pods, then state the exceptions a case expects.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from topolog.core.netpol import policy as np

from . import objects

NAMESPACES = ("x", "y", "z")
POD_NAMES = ("a", "b", "c")
PORTS = (80, 81)
PROTOCOLS = ("TCP", "UDP", "SCTP")


def ip_of(ref: str) -> str:
    ns, name = ref.split("/")
    return f"10.0.{NAMESPACES.index(ns)}.{POD_NAMES.index(name) + 1}"


def cluster(
    policies: list[dict[str, Any]], ns_labels: dict[str, dict[str, str]] | None = None
) -> np.Cluster:
    """The model's pods and namespaces with ``policies`` (NetworkPolicy objects)."""
    named = [(f"serve-{p}-{proto.lower()}", proto, p) for p in PORTS for proto in PROTOCOLS]
    pods = [
        np.parse_pod(objects.pod(ns, name, {"pod": name}, ip=ip_of(f"{ns}/{name}"), ports=named))
        for ns in NAMESPACES
        for name in POD_NAMES
    ]
    labels = ns_labels or {}
    namespaces = {
        ns: np.parse_namespace(objects.namespace(ns, labels.get(ns, {"ns": ns})))
        for ns in NAMESPACES
    }
    return np.Cluster(
        pods=pods, policies=[np.parse_policy(p) for p in policies], namespaces=namespaces
    )


Filter = Callable[[str], bool]


def peer(ns: str | None = None, pod: str | None = None) -> Filter:
    """e2e's ``Peer{Namespace, Pod}``: empty fields match everything."""

    def matches(ref: str) -> bool:
        n, p = ref.split("/")
        return (ns is None or n == ns) and (pod is None or p == pod)

    return matches


@dataclass
class Reachability:
    default: bool
    expected: dict[tuple[str, str], bool] = field(default_factory=dict)

    def __post_init__(self) -> None:
        refs = all_refs()
        self.expected = {(s, d): self.default for s in refs for d in refs if s != d}

    def expect_peer(self, src: Filter, dst: Filter, allowed: bool) -> Reachability:
        for s, d in self.expected:
            if src(s) and dst(d):
                self.expected[(s, d)] = allowed
        return self

    def expect(self, src: str, dst: str, allowed: bool) -> Reachability:
        self.expected[(src, dst)] = allowed
        return self

    def expect_all_ingress(self, dst: str, allowed: bool) -> Reachability:
        return self.expect_peer(peer(), peer(*dst.split("/")), allowed)

    def expect_all_egress(self, src: str, allowed: bool) -> Reachability:
        return self.expect_peer(peer(*src.split("/")), peer(), allowed)


def all_refs() -> list[str]:
    return [f"{ns}/{p}" for ns in NAMESPACES for p in POD_NAMES]


def render(table: dict[tuple[str, str], bool]) -> str:
    """The e2e truth-table picture ('.' allowed, 'X' denied), for readable failures."""
    refs = all_refs()
    lines = ["     " + " ".join(r.replace("/", "") for r in refs)]
    for s in refs:
        cells = [" - " if s == d else (" . " if table[(s, d)] else " X ") for d in refs]
        lines.append(f"{s:4} " + "".join(cells))
    return "\n".join(lines)
