"""NetworkPolicy model and matching rules (networking.k8s.io/v1, as the API documents them).

Flows in: Kubernetes objects as dicts (Pod, Namespace, NetworkPolicy).
Flows out: parsed ``Pod``/``Namespace``/``Policy`` values and the three questions every
consumer asks — does a policy *select* a pod, do a rule's *peers* match an endpoint, which
*ports* does a rule open towards a destination. ``reach`` and ``edges`` build on these.

The semantics, in one place:
- ``policyTypes`` omitted (or empty): ``Ingress``, plus ``Egress`` when ``egress`` has rules.
- A policy selects pods of its own namespace by ``spec.podSelector`` (``{}`` = all of them).
- A pod is isolated for a direction iff some policy selecting it has that policy type; a
  selecting policy with no rules for that direction isolates and allows nothing.
- Within a rule peers are ORed, ports are ORed, and the rule is peers AND ports; absent or
  empty ``from``/``to`` = every peer, absent or empty ``ports`` = every port.
- A peer with ``namespaceSelector`` and ``podSelector`` is their intersection;
  ``podSelector`` alone means the policy's namespace; ``namespaceSelector`` alone means
  every pod of the matching namespaces; ``ipBlock`` matches pod IPs and external addresses
  in ``cidr`` but not in ``except``.
- A port's protocol defaults to TCP; a named port is resolved against the *destination*
  pod's container ports (name and protocol); ``endPort`` makes ``port`` a range.
"""

from __future__ import annotations

import enum
import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from topolog.core import graph, selectors
from topolog.core.netpol import ports

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

#: The label the API server puts on every namespace (immutable, equal to its name).
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"


class NetpolError(ValueError):
    """An object the API server would reject, or one that cannot be read as its kind."""


class Direction(enum.StrEnum):
    """A policy type, spelled as the graph's ``PolicyType`` edge metadata spells it."""

    INGRESS = "ingress"
    EGRESS = "egress"


DIRECTIONS: tuple[Direction, ...] = (Direction.INGRESS, Direction.EGRESS)


# --- the model -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ContainerPort:
    name: str | None
    protocol: ports.Protocol
    port: int


@dataclass(frozen=True, slots=True, eq=False)
class Pod:
    """What policies see of a pod: where it lives, its labels, IPs and container ports."""

    namespace: str
    name: str
    uid: str
    labels: Mapping[str, str]
    ips: tuple[IPAddress, ...] = ()
    container_ports: tuple[ContainerPort, ...] = ()

    @property
    def key(self) -> tuple[str, str]:
        return (self.namespace, self.name)

    @property
    def ref(self) -> str:
        return f"{self.namespace}/{self.name}"

    def named_port(self, name: str, protocol: ports.Protocol) -> int | None:
        """The container port called ``name`` with ``protocol``, if the pod declares one."""
        for cp in self.container_ports:
            if cp.name == name and cp.protocol is protocol:
                return cp.port
        return None


@dataclass(frozen=True, slots=True)
class External:
    """An address outside the pod network (only ``ipBlock`` peers can match it)."""

    ip: IPAddress

    @property
    def ref(self) -> str:
        return str(self.ip)


Endpoint = Pod | External


@dataclass(frozen=True, slots=True)
class Namespace:
    name: str
    labels: Mapping[str, str] = field(hash=False)


@dataclass(frozen=True, slots=True)
class IPBlock:
    cidr: IPNetwork
    excepts: tuple[IPNetwork, ...] = ()

    def contains(self, ip: IPAddress) -> bool:
        if ip.version != self.cidr.version or ip not in self.cidr:
            return False
        return not any(ip.version == ex.version and ip in ex for ex in self.excepts)


@dataclass(frozen=True, slots=True)
class Peer:
    """One ``from``/``to`` item; exactly one of (selectors, ``ip_block``) is set."""

    pod_selector: selectors.Selector | None = None
    namespace_selector: selectors.Selector | None = None
    ip_block: IPBlock | None = None


@dataclass(frozen=True, slots=True)
class PolicyPort:
    """One ``ports`` item: ``port`` is a number, a container port name, or ``None`` (all)."""

    protocol: ports.Protocol = ports.Protocol.TCP
    port: int | str | None = None
    end_port: int | None = None

    def resolve(self, destination: Endpoint | None) -> ports.PortSet:
        """The ports this item opens towards ``destination`` (named ports need a pod)."""
        if self.port is None:
            return ports.PortSet.whole(self.protocol)
        if isinstance(self.port, int):
            return ports.PortSet.single(self.protocol, self.port, self.end_port)
        if isinstance(destination, Pod):
            number = destination.named_port(self.port, self.protocol)
            if number is not None:
                return ports.PortSet.single(self.protocol, number)
        return ports.NONE

    @property
    def label(self) -> str:
        """Skydive's ``PolicyPorts`` item: ``:80``, ``:53/UDP``, ``:8000-8080``, ``:*/SCTP``."""
        if self.port is None:
            text = "*"
        elif self.end_port is not None and self.end_port != self.port:
            text = f"{self.port}-{self.end_port}"
        else:
            text = str(self.port)
        suffix = "" if self.protocol is ports.Protocol.TCP else f"/{self.protocol.value}"
        return f":{text}{suffix}"


@dataclass(frozen=True, slots=True)
class Rule:
    """An ingress or egress rule; ``None`` peers/ports mean "all" (absent or empty list)."""

    peers: tuple[Peer, ...] | None = None
    ports: tuple[PolicyPort, ...] | None = None


@dataclass(frozen=True, slots=True)
class Policy:
    namespace: str
    name: str
    uid: str
    pod_selector: selectors.Selector
    types: frozenset[Direction]
    ingress: tuple[Rule, ...] = ()
    egress: tuple[Rule, ...] = ()
    #: The directions in effect (in ``DIRECTIONS`` order) as their ``PolicyType`` value,
    #: each with its rules and their ``ports_label``: computed once, read for every pod
    #: the policy is paired with.
    effective: tuple[tuple[str, tuple[Rule, ...], str], ...] = field(
        init=False, repr=False, compare=False, hash=False
    )

    def __post_init__(self) -> None:
        effective = []
        for d in DIRECTIONS:
            if d in self.types:
                rules = self.rules(d)
                effective.append((d.value, rules, ports_label(rules)))
        object.__setattr__(self, "effective", tuple(effective))

    @property
    def key(self) -> tuple[str, str]:
        return (self.namespace, self.name)

    @property
    def ref(self) -> str:
        return f"{self.namespace}/{self.name}"

    def rules(self, direction: Direction) -> tuple[Rule, ...]:
        """The rules that count for ``direction`` (none when the type is not in effect)."""
        if direction not in self.types:
            return ()
        return self.ingress if direction is Direction.INGRESS else self.egress

    def peers(self) -> list[Peer]:
        """Every peer of every rule in effect."""
        return [p for d in DIRECTIONS for r in self.rules(d) for p in r.peers or ()]


@dataclass(slots=True)
class Cluster:
    """A snapshot of what policies need: namespaces, pods, policies."""

    pods: Sequence[Pod]
    policies: Sequence[Policy]
    namespaces: Mapping[str, Namespace] = field(default_factory=dict)

    def namespace_labels(self, name: str) -> Mapping[str, str]:
        ns = self.namespaces.get(name)
        return ns.labels if ns is not None else default_namespace_labels(name)


def default_namespace_labels(name: str) -> dict[str, str]:
    """Labels of a namespace known only by name (the API server always sets this one)."""
    return {NAMESPACE_NAME_LABEL: name}


# --- the three questions ---------------------------------------------------------------------


def selects(policy: Policy, pod: Pod) -> bool:
    """Whether ``policy`` applies to ``pod`` (same namespace, ``podSelector`` matches)."""
    return pod.namespace == policy.namespace and policy.pod_selector.matches(pod.labels)


def peer_matches(
    peer: Peer,
    *,
    policy_namespace: str,
    endpoint: Endpoint,
    namespace_labels: Mapping[str, str] | None,
) -> bool:
    """Whether ``endpoint`` is one of ``peer``'s addresses.

    ``namespace_labels`` are the labels of the endpoint's namespace (ignored for externals).
    """
    if peer.ip_block is not None:
        ips = endpoint.ips if isinstance(endpoint, Pod) else (endpoint.ip,)
        return any(peer.ip_block.contains(ip) for ip in ips)
    if not isinstance(endpoint, Pod):
        # Selectors only ever match pods.
        return False
    if peer.namespace_selector is None:
        # podSelector alone: pods of the policy's own namespace.
        if endpoint.namespace != policy_namespace:
            return False
    elif not peer.namespace_selector.matches(namespace_labels):
        return False
    # namespaceSelector alone: every pod of the matching namespaces.
    return peer.pod_selector is None or peer.pod_selector.matches(endpoint.labels)


def rule_matches(
    rule: Rule,
    *,
    policy_namespace: str,
    endpoint: Endpoint,
    namespace_labels: Mapping[str, str] | None,
) -> bool:
    """Whether any peer of ``rule`` matches ``endpoint`` (no peers = everyone)."""
    if rule.peers is None:
        return True
    if isinstance(endpoint, Pod):
        return rule_matches_pod(rule, policy_namespace, endpoint, namespace_labels)
    return any(
        peer_matches(
            p,
            policy_namespace=policy_namespace,
            endpoint=endpoint,
            namespace_labels=namespace_labels,
        )
        for p in rule.peers
    )


def rule_matches_pod(
    rule: Rule, policy_namespace: str, pod: Pod, namespace_labels: Mapping[str, str] | None
) -> bool:
    """``rule_matches`` for a pod, positional (called for every policy/pod pair): the
    same tests as ``peer_matches``, in one loop."""
    peers = rule.peers
    if peers is None:
        return True
    for peer in peers:
        block = peer.ip_block
        if block is not None:
            if any(block.contains(ip) for ip in pod.ips):
                return True
            continue
        ns_sel = peer.namespace_selector
        if ns_sel is None:
            if pod.namespace != policy_namespace:
                continue
        elif not ns_sel.matches(namespace_labels):
            continue
        if peer.pod_selector is None or peer.pod_selector.matches(pod.labels):
            return True
    return False


def rule_ports(rule: Rule, destination: Endpoint | None) -> ports.PortSet:
    """The ports ``rule`` opens towards ``destination`` (no ports listed = all of them)."""
    if rule.ports is None:
        return ports.ALL
    return ports.union_all(p.resolve(destination) for p in rule.ports)


def ports_label(rules: Sequence[Rule]) -> str:
    """``PolicyPorts`` text for a set of rules: ``*`` for all ports, ``""`` for none."""
    if not rules:
        return ""
    if any(r.ports is None for r in rules):
        return "*"
    labels = dict.fromkeys(p.label for r in rules for p in r.ports or ())
    return ";".join(labels)


# --- parsing ---------------------------------------------------------------------------------


def parse_namespace(obj: Mapping[str, Any]) -> Namespace:
    meta = _meta(obj)
    name = _str(meta.get("name"), "metadata.name")
    labels = _labels(meta.get("labels"))
    labels[NAMESPACE_NAME_LABEL] = name
    return Namespace(name=name, labels=labels)


def parse_pod(obj: Mapping[str, Any]) -> Pod:
    """A Pod object (or a pod template given ``metadata.namespace``/``name``)."""
    meta = _meta(obj)
    namespace = str(meta.get("namespace") or "default")
    name = _str(meta.get("name"), "metadata.name")
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    raw_ips: list[str] = [str(i["ip"]) for i in status.get("podIPs") or [] if i.get("ip")]
    if status.get("podIP"):
        raw_ips.append(str(status["podIP"]))
    try:
        ips = tuple(dict.fromkeys(ipaddress.ip_address(ip) for ip in raw_ips))
    except ValueError as exc:
        raise NetpolError(f"pod {namespace}/{name}: bad IP: {exc}") from exc
    return Pod(
        namespace=namespace,
        name=name,
        uid=str(meta.get("uid") or graph.derived_id("Pod", namespace, name)),
        labels=_labels(meta.get("labels")),
        ips=ips,
        container_ports=container_ports(spec),
    )


def container_ports(pod_spec: Mapping[str, Any]) -> tuple[ContainerPort, ...]:
    """Ports of the containers (and of restartable init containers, i.e. sidecars)."""
    containers = list(pod_spec.get("containers") or [])
    containers += [
        c for c in pod_spec.get("initContainers") or [] if c.get("restartPolicy") == "Always"
    ]
    out: list[ContainerPort] = []
    for container in containers:
        for port in container.get("ports") or []:
            number = port.get("containerPort")
            if not isinstance(number, int):
                raise NetpolError(f"container port without a numeric containerPort: {port!r}")
            out.append(
                ContainerPort(
                    name=port.get("name"),
                    protocol=_protocol(port.get("protocol")),
                    port=number,
                )
            )
    return tuple(out)


def parse_policy(obj: Mapping[str, Any]) -> Policy:
    meta = _meta(obj)
    namespace = str(meta.get("namespace") or "default")
    name = _str(meta.get("name"), "metadata.name")
    where = f"networkpolicy {namespace}/{name}"
    spec = obj.get("spec") or {}
    if not isinstance(spec, Mapping):
        raise NetpolError(f"{where}: spec must be a mapping")
    try:
        pod_selector = selectors.parse(spec.get("podSelector") or {})
        ingress = tuple(_rule(r, "from") for r in _list(spec.get("ingress"), "ingress"))
        egress = tuple(_rule(r, "to") for r in _list(spec.get("egress"), "egress"))
        types = _policy_types(spec.get("policyTypes"), has_egress=bool(egress))
    except (NetpolError, selectors.SelectorError) as exc:
        raise NetpolError(f"{where}: {exc}") from exc
    return Policy(
        namespace=namespace,
        name=name,
        uid=str(meta.get("uid") or graph.derived_id("NetworkPolicy", namespace, name)),
        pod_selector=pod_selector,
        types=types,
        ingress=ingress,
        egress=egress,
    )


def _policy_types(raw: Any, *, has_egress: bool) -> frozenset[Direction]:
    if not raw:
        # Defaulting as the API server does: Ingress always, Egress if it has rules.
        return frozenset(
            {Direction.INGRESS, Direction.EGRESS} if has_egress else {Direction.INGRESS}
        )
    out: set[Direction] = set()
    for item in _list(raw, "policyTypes"):
        if item not in ("Ingress", "Egress"):
            raise NetpolError(f"bad policyType {item!r} (Ingress or Egress)")
        out.add(Direction(str(item).lower()))
    return frozenset(out)


def _rule(raw: Any, peers_field: str) -> Rule:
    if not isinstance(raw, Mapping):
        raise NetpolError(f"a rule must be a mapping, got {raw!r}")
    peers = _list(raw.get(peers_field), peers_field)
    port_items = _list(raw.get("ports"), "ports")
    return Rule(
        peers=tuple(_peer(p) for p in peers) or None,
        ports=tuple(_port(p) for p in port_items) or None,
    )


def _peer(raw: Any) -> Peer:
    if not isinstance(raw, Mapping):
        raise NetpolError(f"a peer must be a mapping, got {raw!r}")
    pod_sel = raw.get("podSelector")
    ns_sel = raw.get("namespaceSelector")
    block = raw.get("ipBlock")
    if block is not None:
        if pod_sel is not None or ns_sel is not None:
            raise NetpolError("a peer with ipBlock cannot also have selectors")
        return Peer(ip_block=_ip_block(block))
    if pod_sel is None and ns_sel is None:
        raise NetpolError("a peer needs podSelector, namespaceSelector or ipBlock")
    return Peer(
        pod_selector=None if pod_sel is None else selectors.parse(pod_sel),
        namespace_selector=None if ns_sel is None else selectors.parse(ns_sel),
    )


def _ip_block(raw: Any) -> IPBlock:
    if not isinstance(raw, Mapping) or not isinstance(raw.get("cidr"), str):
        raise NetpolError(f"ipBlock needs a cidr: {raw!r}")
    try:
        cidr = ipaddress.ip_network(raw["cidr"], strict=False)
        excepts = tuple(
            ipaddress.ip_network(str(e), strict=False) for e in _list(raw.get("except"), "except")
        )
    except ValueError as exc:
        raise NetpolError(f"bad ipBlock: {exc}") from exc
    return IPBlock(cidr=cidr, excepts=excepts)


def _port(raw: Any) -> PolicyPort:
    if not isinstance(raw, Mapping):
        raise NetpolError(f"a port must be a mapping, got {raw!r}")
    protocol = _protocol(raw.get("protocol"))
    port = raw.get("port")
    end_port = raw.get("endPort")
    if isinstance(port, str) and port.isdigit():
        port = int(port)
    if port is not None and not isinstance(port, int | str):
        raise NetpolError(f"bad port {port!r}")
    if isinstance(port, bool) or (isinstance(port, int) and not 1 <= port <= ports.MAX_PORT):
        raise NetpolError(f"port {port!r} out of range 1-65535")
    if isinstance(port, str) and not port:
        raise NetpolError("empty port name")
    if end_port is not None:
        if not isinstance(port, int):
            raise NetpolError("endPort needs a numeric port")
        if not isinstance(end_port, int) or not port <= end_port <= ports.MAX_PORT:
            raise NetpolError(f"endPort {end_port!r} must be between port {port} and 65535")
    return PolicyPort(protocol=protocol, port=port, end_port=end_port)


def _protocol(raw: Any) -> ports.Protocol:
    if raw is None:
        return ports.Protocol.TCP
    try:
        return ports.Protocol(raw)
    except ValueError as exc:
        raise NetpolError(f"bad protocol {raw!r} (TCP, UDP or SCTP)") from exc


def _meta(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    meta = obj.get("metadata")
    if not isinstance(meta, Mapping):
        raise NetpolError("object without metadata")
    return meta


def _labels(raw: Any) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise NetpolError(f"labels must be a mapping, got {raw!r}")
    return {str(k): str(v) for k, v in raw.items()}


def _list(raw: Any, what: str) -> list[Any]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise NetpolError(f"{what} must be a list, got {raw!r}")
    return raw


def _str(raw: Any, what: str) -> str:
    if not isinstance(raw, str) or not raw:
        raise NetpolError(f"missing {what}")
    return raw
