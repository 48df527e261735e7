"""Incremental networkpolicy→pod edges: one object event in, only the edges it changes out.

Flows in: Pod, Namespace and NetworkPolicy objects (``apply_*``) and deletions (``delete_*``),
in any order, as the processors consume them from the resources topic.
Flows out: an ``EdgeDelta`` per event — edges to upsert (new, or with changed metadata) and
ids of edges that no longer exist — which the processors turn into graph changes.

Edges (Skydive's shape): Parent = policy uid, Child = pod uid, ``Metadata`` =
``RelationType: networkpolicy``, ``PolicyType: ingress|egress``, ``PolicyPoint: begin`` for
the pods the policy selects (``PolicyTarget: deny`` when it has no rule for that direction and
so only isolates them, else ``allow``) and ``PolicyPoint: end`` for the pods its rules let in
(ingress) or out to (egress), with ``PolicyTarget: allow``. ``PolicyPorts`` lists the ports of
the rules behind the edge (``:80;:53/UDP``; ``*`` = every port; ``""`` = none). Ids come from
``graph.edge_id(policy_uid, pod_uid, "networkpolicy", type, point)``, stable across restarts.

Invariants of ``NetpolGraph``:
- ``_pairs[policy][pod]`` holds exactly the edges of ``pair_edges(policy, pod, labels of pod's
  namespace)`` (a tuple: there are ~10 pairs per pod) for every pair whose edge set is not
  empty, and no other pair (no empty ``_pairs[policy]``); ``_pod_policies`` is its other
  projection (pod → policies).
- ``_ns_hits[ns]`` maps each policy with namespaceSelector peers to which of its namespace
  selectors match ``ns`` (only policies with at least one hit), for every known namespace
  (declared, or holding pods).
An event therefore re-evaluates only the pairs it can change: a pod event that changes what
policies see of the pod (uid, labels, IPs, container ports; not its status) the policies of its
namespace whose selector or same-namespace peers it can match (it carries the ``key=value``
pair they are indexed by, ``_local_pairs``), those whose namespace selectors match its
namespace, those with peer-less rules and those with an ipBlock peer whose CIDR contains one
of its IPs (``_by_cidr``); a policy event the pods found through the label indexes and the
IP index (``_pods_by_ip``); a namespace event the policies whose namespace selectors change
their verdict on it, for its pods.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sortedcontainers import SortedList

from topolog.core import graph, selectors
from topolog.core.netpol import policy as np

RELATION = "networkpolicy"

_Key = tuple[str, str]  # (namespace, name)


@dataclass(slots=True)
class EdgeDelta:
    """What one event changed: edges to upsert, ids of edges to delete."""

    added: list[graph.Edge] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.added or self.removed)


def pair_edges(
    policy: np.Policy, pod: np.Pod, namespace_labels: Mapping[str, str]
) -> dict[str, graph.Edge]:
    """Every edge between ``policy`` and ``pod`` (``namespace_labels``: the pod's namespace)."""
    out: dict[str, graph.Edge] = {}
    selected = pod.namespace == policy.namespace and policy.pod_selector.matches(pod.labels)
    for direction, rules, label in policy.effective:
        if selected:
            target = "allow" if rules else "deny"
            _add(out, policy.uid, pod.uid, direction, "begin", target, label)
        matching = [
            r for r in rules if np.rule_matches_pod(r, policy.namespace, pod, namespace_labels)
        ]
        if matching:
            if len(matching) != len(rules):
                label = np.ports_label(matching)
            _add(out, policy.uid, pod.uid, direction, "end", "allow", label)
    return out


def _add(
    out: dict[str, graph.Edge],
    policy_uid: str,
    pod_uid: str,
    direction: str,
    point: str,
    target: str,
    ports_text: str,
) -> None:
    eid = graph.edge_id(policy_uid, pod_uid, RELATION, direction, point)
    out[eid] = graph.Edge(eid, policy_uid, pod_uid, _metadata(direction, target, point, ports_text))


@functools.lru_cache(maxsize=4096)
def _metadata(direction: str, target: str, point: str, ports_text: str) -> graph.Metadata:
    """An edge's metadata; equal ones are one shared dict (there are few distinct ones, and
    ~half the graph's edges are policy edges): never modify it."""
    return {
        "RelationType": RELATION,
        "PolicyType": direction,
        "PolicyTarget": target,
        "PolicyPoint": point,
        "PolicyPorts": ports_text,
    }


def edges_from_scratch(cluster: np.Cluster) -> dict[str, graph.Edge]:
    """All edges of a snapshot, by brute force (the reference ``NetpolGraph`` must equal)."""
    out: dict[str, graph.Edge] = {}
    for pol in cluster.policies:
        for pod in cluster.pods:
            out.update(pair_edges(pol, pod, cluster.namespace_labels(pod.namespace)))
    return out


def _namespace_selectors(policy: np.Policy) -> tuple[selectors.Selector, ...]:
    return tuple(p.namespace_selector for p in policy.peers() if p.namespace_selector is not None)


def _is_peerless(policy: np.Policy) -> bool:
    """Whether a rule of the policy has no peers (it lets every pod in or out)."""
    return any(rule.peers is None for d in np.DIRECTIONS for rule in policy.rules(d))


def _local_pairs(policy: np.Policy) -> set[tuple[str, str]] | None:
    """One ``key=value`` pair of the policy's pod selector and of each of its
    same-namespace peers' (no namespace selector, no ipBlock): a pod of the policy's
    namespace pairs with it only if it carries one of them. ``None``: one of those
    selectors has no such pair (it may match any pod of the namespace).

    Peers with a namespace selector, ipBlock peers and peer-less rules are found
    through ``_ns_hits``, ``_by_cidr`` and ``_peerless``.
    """
    local: list[selectors.Selector | None] = [policy.pod_selector]
    local += [
        p.pod_selector
        for p in policy.peers()
        if p.ip_block is None and p.namespace_selector is None
    ]
    out: set[tuple[str, str]] = set()
    for sel in local:
        pairs = sel.equality_pairs() if sel is not None else []
        if not pairs:
            return None
        out.add(min(pairs))
    return out


def _ip_blocks(policy: np.Policy) -> set[np.IPNetwork]:
    return {p.ip_block.cidr for p in policy.peers() if p.ip_block is not None}


def _network_of(ip: np.IPAddress, prefixlen: int) -> int:
    """The address of ``ip``'s network of that prefix length, as an integer."""
    host_bits = ip.max_prefixlen - prefixlen
    return int(ip) >> host_bits << host_bits


def _same_to_policies(a: np.Pod, b: np.Pod) -> bool:
    """Whether policies see no difference between two versions of a pod (same key).

    ``pair_edges`` reads a pod's uid (edge ids), labels (selectors), IPs (ipBlock peers)
    and container ports (named ports), nothing else.
    """
    return (
        a.uid == b.uid
        and a.ips == b.ips
        and a.container_ports == b.container_ports
        and a.labels == b.labels
    )


#: ``pair_edges``' signature.
PairEdges = Callable[[np.Policy, np.Pod, Mapping[str, str]], dict[str, graph.Edge]]


class NetpolGraph:
    """The networkpolicy edges of a live cluster, kept up to date one event at a time."""

    def __init__(self, *, pairs: PairEdges | None = None) -> None:
        #: How a (policy, pod) pair's edges are computed: ``pair_edges`` (a test may pass
        #: a wrapper that records which pairs an event evaluates).
        self._pair_edges: PairEdges = pairs or pair_edges
        self._declared: dict[str, dict[str, str]] = {}
        # Labels in force of every known namespace (declared, or holding pods).
        self._ns_labels: dict[str, Mapping[str, str]] = {}
        self._ns_by_label: dict[tuple[str, str], set[str]] = defaultdict(set)
        self._pods: dict[_Key, np.Pod] = {}
        self._pods_by_ns: dict[str, set[_Key]] = defaultdict(set)
        self._pods_by_label: dict[tuple[str, str, str], set[_Key]] = defaultdict(set)
        # (IP version) → sorted (address as int, pod key) of every pod IP: a CIDR's pods
        # are one bisected range. A SortedList (a list of sorted sublists), not one list:
        # inserting into or deleting from a list of 100k pods moves its tail (~35 µs a pod
        # event at 100k pods, growing with the cluster); here it is O(log n).
        self._pods_by_ip: dict[int, SortedList] = defaultdict(SortedList)
        self._policies: dict[_Key, np.Policy] = {}
        # Policies by what a pod of their namespace must carry to pair with them (its
        # selector or a same-namespace peer's): one ``key=value`` pair of each such selector
        # (``_local_pairs``), or the whole namespace when one has none (``_ns_wide``).
        self._policies_by_label: dict[tuple[str, str, str], set[_Key]] = defaultdict(set)
        self._policies_ns_wide: dict[str, set[_Key]] = defaultdict(set)
        self._ns_selecting: set[_Key] = set()
        # Policies whose peers match pods wherever they live: peer-less rules (every pod),
        # and ipBlock peers, indexed by CIDR — (IP version, prefix length) → network → keys —
        # so a pod event looks up only the blocks containing its IPs, not every such policy.
        self._peerless: set[_Key] = set()
        self._by_cidr: dict[tuple[int, int], dict[int, set[_Key]]] = {}
        self._ns_hits: dict[str, dict[_Key, tuple[bool, ...]]] = {}
        # policy → pod → edges (nested rather than keyed by (policy, pod): one tuple less
        # per pair, and there are ~10 pairs per pod).
        self._pairs: dict[_Key, dict[_Key, tuple[graph.Edge, ...]]] = {}
        self._pod_policies: dict[_Key, set[_Key]] = defaultdict(set)

    # --- queries ---------------------------------------------------------------------------

    def edges(self) -> dict[str, graph.Edge]:
        """Every current edge by id."""
        return {e.id: e for pods in self._pairs.values() for pair in pods.values() for e in pair}

    def snapshot(self) -> np.Cluster:
        """The objects this graph holds, as a ``Cluster`` (for ``reach`` and for checks)."""
        return np.Cluster(
            pods=list(self._pods.values()),
            policies=list(self._policies.values()),
            namespaces={n: np.Namespace(n, labels) for n, labels in self._ns_labels.items()},
        )

    # --- events ----------------------------------------------------------------------------

    def apply_policy(self, obj: Mapping[str, Any]) -> EdgeDelta:
        pol = np.parse_policy(obj)
        key = pol.key
        if key in self._policies:
            self._unindex_policy(key)
        self._policies[key] = pol
        pairs = _local_pairs(pol)
        if pairs is None:
            self._policies_ns_wide[pol.namespace].add(key)
        else:
            for k, v in pairs:
                self._policies_by_label[(pol.namespace, k, v)].add(key)
        if _is_peerless(pol):
            self._peerless.add(key)
        for cidr in _ip_blocks(pol):
            by_network = self._by_cidr.setdefault((cidr.version, cidr.prefixlen), {})
            by_network.setdefault(int(cidr.network_address), set()).add(key)
        ns_sels = _namespace_selectors(pol)
        if ns_sels:
            self._ns_selecting.add(key)
            self._index_hits(key, ns_sels)
        pods = self._candidate_pods(pol) | self._pairs.get(key, {}).keys()
        return self._recompute((key, x) for x in pods)

    def delete_policy(self, namespace: str, name: str) -> EdgeDelta:
        key = (namespace, name)
        if key not in self._policies:
            return EdgeDelta()
        self._unindex_policy(key)
        del self._policies[key]
        return self._recompute((key, x) for x in set(self._pairs.get(key, ())))

    def apply_pod(self, obj: Mapping[str, Any]) -> EdgeDelta:
        pod = np.parse_pod(obj)
        key = pod.key
        old = self._pods.get(key)
        if old is not None and _same_to_policies(old, pod):
            # Most pod events change only status (restarts, readiness): no pair can change.
            return EdgeDelta()
        if old is not None:
            self._unindex_pod(key, ips=old.ips != pod.ips)
        self._pods[key] = pod
        self._pods_by_ns[pod.namespace].add(key)
        for k, v in pod.labels.items():
            self._pods_by_label[(pod.namespace, k, v)].add(key)
        if old is None or old.ips != pod.ips:
            for ip in pod.ips:
                self._pods_by_ip[ip.version].add((int(ip), key))
        self._know_namespace(pod.namespace)
        policies = (
            self._local_policies(pod)
            | self._ns_hits[pod.namespace].keys()
            | self._peerless
            | self._policies_by_ip(pod.ips)
            | self._pod_policies.get(key, set())
        )
        return self._recompute((p, key) for p in policies)

    def delete_pod(self, namespace: str, name: str) -> EdgeDelta:
        key = (namespace, name)
        if key not in self._pods:
            return EdgeDelta()
        self._unindex_pod(key)
        del self._pods[key]
        delta = self._recompute((p, key) for p in set(self._pod_policies.get(key, ())))
        self._forget_namespace_if_unused(namespace)
        return delta

    def apply_namespace(self, obj: Mapping[str, Any]) -> EdgeDelta:
        ns = np.parse_namespace(obj)
        self._declared[ns.name] = dict(ns.labels)
        return self._relabel_namespace(ns.name, ns.labels)

    def delete_namespace(self, name: str) -> EdgeDelta:
        if self._declared.pop(name, None) is None:
            return EdgeDelta()
        if not self._pods_by_ns.get(name):
            self._forget_namespace_if_unused(name)
            return EdgeDelta()
        # Pods outlived their namespace (their deletions are still to come): they keep
        # the labels every namespace is known to have.
        return self._relabel_namespace(name, np.default_namespace_labels(name))

    # --- namespaces --------------------------------------------------------------------------

    def _know_namespace(self, name: str) -> None:
        if name in self._ns_labels:
            return
        labels = self._declared.get(name) or np.default_namespace_labels(name)
        self._ns_labels[name] = labels
        for kv in labels.items():
            self._ns_by_label[kv].add(name)
        self._ns_hits[name] = self._hits_for(labels)

    def _forget_namespace_if_unused(self, name: str) -> None:
        if name in self._declared or self._pods_by_ns.get(name) or name not in self._ns_labels:
            return
        for kv in self._ns_labels.pop(name).items():
            self._discard(self._ns_by_label, kv, name)
        del self._ns_hits[name]
        self._pods_by_ns.pop(name, None)

    def _relabel_namespace(self, name: str, labels: Mapping[str, str]) -> EdgeDelta:
        if name not in self._ns_labels:
            self._know_namespace(name)
            return EdgeDelta()  # no pods there yet: no edge can change
        old_labels = self._ns_labels[name]
        if old_labels == labels:
            return EdgeDelta()
        for kv in old_labels.items():
            self._discard(self._ns_by_label, kv, name)
        self._ns_labels[name] = labels
        for kv in labels.items():
            self._ns_by_label[kv].add(name)
        old_hits = self._ns_hits[name]
        new_hits = self._hits_for(labels)
        self._ns_hits[name] = new_hits
        changed = {
            p for p in old_hits.keys() | new_hits.keys() if old_hits.get(p) != new_hits.get(p)
        }
        pods = self._pods_by_ns.get(name, set())
        return self._recompute((p, x) for p in changed for x in pods)

    def _hits_for(self, labels: Mapping[str, str]) -> dict[_Key, tuple[bool, ...]]:
        """Which namespace selectors of each namespace-selecting policy match ``labels``."""
        out: dict[_Key, tuple[bool, ...]] = {}
        for key in self._ns_selecting:
            hits = tuple(s.matches(labels) for s in _namespace_selectors(self._policies[key]))
            if any(hits):
                out[key] = hits
        return out

    def _index_hits(self, key: _Key, ns_sels: tuple[selectors.Selector, ...]) -> None:
        matching = [self._namespaces_matching(s) for s in ns_sels]
        for ns in set().union(*matching):
            self._ns_hits[ns][key] = tuple(ns in m for m in matching)

    def _namespaces_matching(self, sel: selectors.Selector) -> set[str]:
        pairs = sel.equality_pairs()
        if pairs:
            sets = sorted((self._ns_by_label.get(kv, set()) for kv in pairs), key=len)
            candidates = set(sets[0]).intersection(*sets[1:])
        else:
            candidates = set(self._ns_labels)
        return {ns for ns in candidates if sel.matches(self._ns_labels[ns])}

    # --- pods and policies -------------------------------------------------------------------

    def _pods_matching(self, namespace: str, sel: selectors.Selector | None) -> set[_Key]:
        if sel is None or sel.is_empty:
            return set(self._pods_by_ns.get(namespace, ()))
        pairs = sel.equality_pairs()
        if pairs:
            sets = sorted(
                (self._pods_by_label.get((namespace, k, v), set()) for k, v in pairs), key=len
            )
            candidates = set(sets[0]).intersection(*sets[1:])
        else:
            candidates = set(self._pods_by_ns.get(namespace, ()))
        return {x for x in candidates if sel.matches(self._pods[x].labels)}

    def _candidate_pods(self, pol: np.Policy) -> set[_Key]:
        """Pods that may have an edge with ``pol``, found through the indexes."""
        out = self._pods_matching(pol.namespace, pol.pod_selector)
        for direction in np.DIRECTIONS:
            for rule in pol.rules(direction):
                if rule.peers is None:
                    return set(self._pods)  # every pod is a peer
                for peer in rule.peers:
                    if peer.ip_block is not None:
                        out |= self._pods_in(peer.ip_block.cidr)
                    elif peer.namespace_selector is None:
                        out |= self._pods_matching(pol.namespace, peer.pod_selector)
                    else:
                        for ns in self._namespaces_matching(peer.namespace_selector):
                            out |= self._pods_matching(ns, peer.pod_selector)
        return out

    def _pods_in(self, cidr: np.IPNetwork) -> set[_Key]:
        """Pods with an IP in ``cidr`` (excepts not applied: ``pair_edges`` decides)."""
        by_ip = self._pods_by_ip.get(cidr.version)
        if by_ip is None:
            return set()
        first = int(cidr.network_address)
        last = int(cidr.broadcast_address)
        # (first,) sorts before every (first, key); (last + 1,) after every (last, key).
        found = by_ip.irange((first,), (last + 1,), inclusive=(True, False))
        return {key for _, key in found}

    def _local_policies(self, pod: np.Pod) -> set[_Key]:
        """Policies of the pod's namespace whose selector or same-namespace peers may
        match it (the pod carries the pair they are indexed by)."""
        ns = pod.namespace
        out = set(self._policies_ns_wide.get(ns, ()))
        by_label = self._policies_by_label
        for k, v in pod.labels.items():
            found = by_label.get((ns, k, v))
            if found:
                out |= found
        return out

    def _policies_by_ip(self, ips: Iterable[np.IPAddress]) -> set[_Key]:
        """Policies with an ipBlock peer whose CIDR contains one of ``ips`` (excepts
        not applied: ``pair_edges`` decides)."""
        out: set[_Key] = set()
        for (version, prefixlen), by_network in self._by_cidr.items():
            for ip in ips:
                if ip.version == version:
                    out |= by_network.get(_network_of(ip, prefixlen), set())
        return out

    def _unindex_policy(self, key: _Key) -> None:
        pol = self._policies[key]
        pairs = _local_pairs(pol)
        if pairs is None:
            self._discard(self._policies_ns_wide, pol.namespace, key)
        else:
            for k, v in pairs:
                self._discard(self._policies_by_label, (pol.namespace, k, v), key)
        self._peerless.discard(key)
        for cidr in _ip_blocks(pol):
            self._discard(
                self._by_cidr[(cidr.version, cidr.prefixlen)], int(cidr.network_address), key
            )
            if not self._by_cidr[(cidr.version, cidr.prefixlen)]:
                del self._by_cidr[(cidr.version, cidr.prefixlen)]
        if key in self._ns_selecting:
            self._ns_selecting.discard(key)
            for hits in self._ns_hits.values():
                hits.pop(key, None)

    def _unindex_pod(self, key: _Key, *, ips: bool = True) -> None:
        """Remove the pod from the indexes (from the IP index too unless ``ips`` is False)."""
        pod = self._pods[key]
        self._pods_by_ns[pod.namespace].discard(key)
        for k, v in pod.labels.items():
            self._discard(self._pods_by_label, (pod.namespace, k, v), key)
        for ip in pod.ips if ips else ():
            self._pods_by_ip[ip.version].discard((int(ip), key))

    @staticmethod
    def _discard(index: dict[Any, set[Any]], key: Any, value: Any) -> None:
        members = index.get(key)
        if members is not None:
            members.discard(value)
            if not members:
                del index[key]

    # --- the one place edges change ----------------------------------------------------------

    def _recompute(self, pairs: Iterable[tuple[_Key, _Key]]) -> EdgeDelta:
        delta = EdgeDelta()
        added, removed = delta.added, delta.removed
        policies, pods, stored = self._policies, self._pods, self._pairs
        for pkey, xkey in set(pairs):
            pol = policies.get(pkey)
            pod = pods.get(xkey)
            new: dict[str, graph.Edge] = {}
            if pol is not None and pod is not None:
                new = self._pair_edges(pol, pod, self._ns_labels[pod.namespace])
            by_pod = stored.get(pkey)
            held = by_pod.get(xkey) if by_pod is not None else None
            if by_pod is None or held is None:
                # The common case (a new pod or policy): nothing to compare with.
                if new:
                    added.extend(new.values())
                    if by_pod is None:
                        by_pod = stored[pkey] = {}
                    by_pod[xkey] = tuple(new.values())
                    self._pod_policies[xkey].add(pkey)
                continue
            old = {e.id: e for e in held}
            added.extend(e for eid, e in new.items() if old.get(eid) != e)
            removed.extend(eid for eid in old if eid not in new)
            if new:
                by_pod[xkey] = tuple(new.values())
            else:
                del by_pod[xkey]
                if not by_pod:
                    del stored[pkey]
                self._discard(self._pod_policies, xkey, pkey)
        added.sort(key=_edge_id)
        removed.sort()
        return delta


def _edge_id(edge: graph.Edge) -> str:
    return edge.id
