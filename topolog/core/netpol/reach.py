"""Reachability under NetworkPolicies: one connection, or every pod pair at once.

Flows in: a ``policy.Cluster`` snapshot (pods, namespaces, policies).
Flows out: ``allowed()`` → a ``Verdict`` for one connection with the policies that decided
each side; ``matrix()`` → a ``Connection`` (open ``PortSet``) per ordered pod pair that can
talk. ``topolog reach`` prints the matrix; the gateway answers "can A reach B" with a verdict.

Traffic from A to B on (port, protocol) is allowed iff A's egress allows it (A is not
egress-isolated, or some egress rule of a policy selecting A matches B and the port) AND
B's ingress allows it (likewise with the roles swapped). Named ports always resolve
against B, the destination.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from topolog.core.netpol import policy as np
from topolog.core.netpol import ports


@dataclass(frozen=True, slots=True)
class Side:
    """One direction's decision: who isolates the pod, who lets this traffic through."""

    direction: np.Direction
    #: True when the endpoint is subject to this direction's policies at all.
    isolated: bool
    #: ``ns/name`` of every policy selecting the pod for this direction.
    isolating: tuple[str, ...]
    #: ``ns/name`` of the isolating policies that have a rule matching this traffic.
    allowing: tuple[str, ...]

    @property
    def allowed(self) -> bool:
        return not self.isolated or bool(self.allowing)


@dataclass(frozen=True, slots=True)
class Verdict:
    allowed: bool
    egress: Side  # the source's side
    ingress: Side  # the destination's side


@dataclass(frozen=True, slots=True, eq=False)
class Connection:
    src: np.Pod
    dst: np.Pod
    ports: ports.PortSet


def allowed(
    src: np.Endpoint,
    dst: np.Endpoint,
    port: int,
    protocol: ports.Protocol = ports.Protocol.TCP,
    *,
    cluster: np.Cluster,
) -> Verdict:
    """Whether ``src`` may open a ``protocol`` connection to ``dst`` on ``port``, and why."""
    egress = _side(np.Direction.EGRESS, src, dst, port, protocol, cluster)
    ingress = _side(np.Direction.INGRESS, dst, src, port, protocol, cluster)
    return Verdict(allowed=egress.allowed and ingress.allowed, egress=egress, ingress=ingress)


def _side(
    direction: np.Direction,
    subject: np.Endpoint,
    peer: np.Endpoint,
    port: int,
    protocol: ports.Protocol,
    cluster: np.Cluster,
) -> Side:
    if not isinstance(subject, np.Pod):
        # Addresses outside the pod network are not subject to NetworkPolicy.
        return Side(direction, isolated=False, isolating=(), allowing=())
    destination = peer if direction is np.Direction.EGRESS else subject
    peer_ns = cluster.namespace_labels(peer.namespace) if isinstance(peer, np.Pod) else None
    isolating: list[str] = []
    allowing: list[str] = []
    for pol in cluster.policies:
        if direction not in pol.types or not np.selects(pol, subject):
            continue
        isolating.append(pol.ref)
        for rule in pol.rules(direction):
            if np.rule_matches(
                rule, policy_namespace=pol.namespace, endpoint=peer, namespace_labels=peer_ns
            ) and np.rule_ports(rule, destination).contains(protocol, port):
                allowing.append(pol.ref)
                break
    return Side(
        direction,
        isolated=bool(isolating),
        isolating=tuple(isolating),
        allowing=tuple(allowing),
    )


# --- the matrix ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _RuleRef:
    index: int  # global rule id
    policy: int  # index into cluster.policies
    direction: np.Direction
    rule: np.Rule


def matrix(cluster: np.Cluster) -> list[Connection]:
    """Every ordered pair of distinct pods with some open port, with the open ports.

    Pods are grouped into classes that no policy can tell apart — same policies selecting
    them per direction, same membership in every rule's peer set, same resolution of the
    named ports in use — and each class pair is evaluated once. The cost is
    O(rules * pods) to build the classes plus O(classes^2) evaluations, not O(pods^2 * rules).
    """
    pods = list(cluster.pods)
    policies = list(cluster.policies)

    # 1. Which policies select each pod, per direction.
    selected_by: dict[np.Direction, list[set[int]]] = {
        d: [set() for _ in pods] for d in np.DIRECTIONS
    }
    by_ns: dict[str, list[int]] = defaultdict(list)
    for i, pod in enumerate(pods):
        by_ns[pod.namespace].append(i)
    for pi, pol in enumerate(policies):
        for i in by_ns.get(pol.namespace, ()):
            if pol.pod_selector.matches(pods[i].labels):
                for d in pol.types:
                    selected_by[d][i].add(pi)

    # 2. Every rule in effect, and the pods its peers match.
    rules: list[_RuleRef] = []
    for pi, pol in enumerate(policies):
        for d in np.DIRECTIONS:
            for rule in pol.rules(d):
                rules.append(_RuleRef(len(rules), pi, d, rule))
    member: list[set[int]] = [set() for _ in pods]
    ns_labels = {ns: cluster.namespace_labels(ns) for ns in by_ns}
    for ref in rules:
        pol_ns = policies[ref.policy].namespace
        for i in _peer_pods(ref.rule, pol_ns, pods, by_ns, ns_labels):
            member[i].add(ref.index)

    # 3. Named ports in use, and how each pod resolves them.
    names = sorted(
        {
            (p.port, p.protocol)
            for ref in rules
            for p in ref.rule.ports or ()
            if isinstance(p.port, str)
        }
    )

    # 4. Classes of interchangeable pods.
    classes: dict[tuple[object, ...], list[int]] = defaultdict(list)
    for i, pod in enumerate(pods):
        key = (
            frozenset(selected_by[np.Direction.INGRESS][i]),
            frozenset(selected_by[np.Direction.EGRESS][i]),
            frozenset(member[i]),
            tuple(pod.named_port(n, proto) for n, proto in names),
        )
        classes[key].append(i)
    reps = [(members[0], members) for members in classes.values()]

    rules_of: dict[tuple[int, np.Direction], list[_RuleRef]] = defaultdict(list)
    for ref in rules:
        rules_of[(ref.policy, ref.direction)].append(ref)

    def side(direction: np.Direction, subject: int, peer: int, destination: int) -> ports.PortSet:
        pols = selected_by[direction][subject]
        if not pols:
            return ports.ALL
        peer_rules = member[peer]
        return ports.union_all(
            np.rule_ports(ref.rule, pods[destination])
            for pi in pols
            for ref in rules_of[(pi, direction)]
            if ref.index in peer_rules
        )

    # 5. Evaluate class pairs, then expand to pod pairs.
    out: list[Connection] = []
    for a, a_members in reps:
        for b, b_members in reps:
            egress = side(np.Direction.EGRESS, a, b, b)
            if not egress:
                continue
            open_ports = egress.intersect(side(np.Direction.INGRESS, b, a, b))
            if not open_ports:
                continue
            for i in a_members:
                for j in b_members:
                    if i != j:
                        out.append(Connection(pods[i], pods[j], open_ports))
    out.sort(key=lambda c: (c.src.namespace, c.src.name, c.dst.namespace, c.dst.name))
    return out


def _peer_pods(
    rule: np.Rule,
    policy_namespace: str,
    pods: list[np.Pod],
    by_ns: dict[str, list[int]],
    ns_labels: Mapping[str, Mapping[str, str]],
) -> Iterator[int]:
    """Indexes of the pods ``rule``'s peers match (each at most once)."""
    if rule.peers is None:
        yield from range(len(pods))
        return
    seen: set[int] = set()
    for peer in rule.peers:
        if peer.ip_block is not None:
            candidates: list[int] = list(range(len(pods)))
        elif peer.namespace_selector is None:
            candidates = by_ns.get(policy_namespace, [])
        else:
            sel = peer.namespace_selector
            candidates = [i for ns, idx in by_ns.items() if sel.matches(ns_labels[ns]) for i in idx]
        for i in candidates:
            if i in seen:
                continue
            if np.peer_matches(
                peer,
                policy_namespace=policy_namespace,
                endpoint=pods[i],
                namespace_labels=ns_labels.get(pods[i].namespace),
            ):
                seen.add(i)
                yield i
