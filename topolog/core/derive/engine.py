"""The deriver: resource-event envelopes in, graph changes and status alerts out.

Flows in: ``envelope.Envelope`` values of one cluster, in per-object order (the resource
topic's keys guarantee it; different objects may come in any order).
Flows out: a ``DeriveResult`` per envelope — the node/edge upserts and deletes that
actually changed the graph (Skydive shape, ``graph.Change``) and the state transitions
(``alerts.Alert``). The processors publish them; ``snapshot()`` is the graph so far.

How an event is derived:
1. The object's node: ``K8s`` fields and own status from its kind module
   (``topolog.core.kinds``); a pod also derives its containers.
2. Its references become edges. A name/uid reference to an object not seen yet points at
   a placeholder (DOWN, "Missing") when it is required; every reference is registered
   under the key/uid it names, so the object that appears there re-points the edges to
   itself and the placeholder goes. A deleted object turns the references to it back
   into placeholders.
3. Label selectors (service → pod, workload → ownerless pod) are indexed by namespace
   and one ``key=value`` pair; a pod event looks up only the selectors its labels can
   satisfy, a selector change only the pods carrying its rarest pair.
4. Dependency edges feed ``cascade``, which re-evaluates the status and RootCause of the
   touched nodes and walks up to their dependents while something changes.
5. NetworkPolicy, Pod and Namespace events also go to ``netpol.edges.NetpolGraph``,
   whose edge deltas are applied as they are.
6. Pod, ConfigMap and Secret events also go to ``outdated.Tracker`` (pods running with
   an older copy of what they read); a config change re-checks only its referrers.

Alerts of the initial list: what comes first of a cluster is the cluster as the
producer found it, not changes to it — mid-list, a pod derived before the claim or
Secret it refers to points at a placeholder, DOWN ("Missing") until the object comes.
So the deriver raises no alert until the cluster's SYNCED marker
(``envelope.cluster_synced_marker``: every kind listed) was read from every partition
of the resources topic — a copy on each, because a copy read from one partition may
overtake objects of another listed before it, while each copy comes after all its
partition carried before it. Then it raises one per node as it stands
(``alerts.transition`` from nothing: the DOWN ones and the pods already outdated). A
producer that sends no marker (an older one) delays the alerts by at most
``INITIAL_LIST_LIMIT_S`` of event time.

Determinism: the result of an envelope depends only on the envelopes before it; changes
and alerts are sorted (node upserts, edge upserts, edge deletes, node deletes; each by
id). Applying objects' events in any interleaving that keeps per-object order ends in
the same graph.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple, TypeVar

from topolog.core import envelope, graph
from topolog.core import status as st
from topolog.core.derive import alerts, cascade, indexes, outdated
from topolog.core.kinds import KINDS, Kind, fields, refs
from topolog.core.kinds import container as container_kind
from topolog.core.netpol import edges as netpol_edges
from topolog.core.netpol import policy as netpol_policy

MANAGER = "k8s"

_T = TypeVar("_T")

#: The RootCause of every node without one (most nodes): one shared list (never modify
#: it; a list per node was ~2 % of the deriver's objects).
_NO_CAUSE: list[str] = []

#: Seconds of event time (``observed_at``) after a cluster's first envelope at which its
#: initial list counts as complete without the cluster's SYNCED marker (module doc).
INITIAL_LIST_LIMIT_S = 600.0


@dataclass(frozen=True, slots=True)
class DeriveResult:
    changes: list[graph.Change] = field(default_factory=list)
    alerts: list[alerts.Alert] = field(default_factory=list)


class _Link(NamedTuple):
    """One edge as one declaration holds it; several declarations may hold one edge."""

    parent: str
    child: str
    relation: str
    #: The end that depends on the other (``None``: not a dependency).
    dependent: str | None

    @property
    def edge_id(self) -> str:
        return graph.edge_id(self.parent, self.child, self.relation)

    @property
    def dependency(self) -> str:
        return self.child if self.dependent == self.parent else self.parent


#: ``_Link``'s constructor without the Python-level ``__new__`` a NamedTuple adds
#: (links are built for every reference of every event).
_new_link = tuple.__new__


@dataclass(slots=True)
class _Object:
    """A node the deriver knows: a watched object, a derived one, or a placeholder.

    The object itself is not kept (it is ~30 % of the deriver's heap): what later events
    need of it is here, in ``cascade`` (aggregates) and in ``outdated``.
    """

    id: str
    kind: Kind
    namespace: str
    name: str
    key: indexes.Key | None
    labels: dict[str, str]
    ownerless: bool
    placeholder: bool = False
    named: tuple[refs.ByName | refs.ByUid, ...] = ()
    selectors: tuple[refs.BySelector, ...] = ()
    #: Links held by ``named`` references, as last resolved.
    #: (A tuple, not a set: most objects hold 1 to 5 links, and a set of them is 3 to 6 times
    #: the size.)
    links: tuple[_Link, ...] = ()
    containers: tuple[str, ...] = ()

    # An explicit ``__init__`` (the dataclass keeps it): compiled, the generated one is
    # interpreted code, ~5x slower to call (millions per sync; docs/processors.md).
    def __init__(
        self,
        id: str,
        kind: Kind,
        namespace: str,
        name: str,
        key: indexes.Key | None,
        labels: dict[str, str],
        ownerless: bool,
        placeholder: bool = False,
        named: tuple[refs.ByName | refs.ByUid, ...] = (),
        selectors: tuple[refs.BySelector, ...] = (),
        links: tuple[_Link, ...] = (),
        containers: tuple[str, ...] = (),
    ) -> None:
        self.id = id
        self.kind = kind
        self.namespace = namespace
        self.name = name
        self.key = key
        self.labels = labels
        self.ownerless = ownerless
        self.placeholder = placeholder
        self.named = named
        self.selectors = selectors
        self.links = links
        self.containers = containers


def _placeholder_id(cluster: str, kind: str, namespace: str, name: str, uid: str) -> str:
    if uid:
        return graph.derived_id(cluster, "missing", kind, namespace, name, uid)
    return graph.derived_id(cluster, "missing", kind, namespace, name)


class Deriver:
    """The incremental derivation of one cluster's graph (see the module docstring)."""

    def __init__(self, cluster: str, *, initial_list: bool = True) -> None:
        """``initial_list=False``: what comes is changes, alerted at once (no initial
        list to wait for: tests of the rules)."""
        self.cluster = cluster
        self.cluster_id = graph.derived_id(cluster, "cluster")
        #: Whether the cluster's initial list is still being derived (no alerts yet).
        self.initial_list = initial_list
        #: ``observed_at`` of the first envelope of the initial list (0: none yet).
        self._list_started = 0.0
        #: The partitions whose copy of the cluster marker was read (the list ends once
        #: every partition's was: ``envelope.marker_partitions``).
        self._marked_partitions: set[int] = set()
        self._index = indexes.Index()
        self._cascade = cascade.Cascade()
        self._objects: dict[str, _Object] = {}
        #: Node metadata from the objects themselves (``_set_base``) that changed in this
        #: ``apply``; a node's current one is the start of its metadata in ``_nodes``.
        self._new_base: dict[str, graph.Metadata] = {}
        self._nodes: dict[str, graph.Node] = {}
        self._edges: dict[str, graph.Edge] = {}
        #: How many edges each node is an end of (a count, not a set: a set of edge ids
        #: per node was ~10 % of the deriver's heap).
        self._degree: dict[str, int] = {}
        #: The network policy edges each node is an end of (pods and policies only).
        self._netpol_incident: dict[str, set[str]] = {}
        self._link_count: dict[_Link, int] = {}
        self._edge_count: dict[str, int] = {}
        self._netpol_edges: set[str] = set()
        self._sel_links: dict[indexes.SelectorKey, dict[str, _Link]] = {}
        self._matched_by: dict[str, set[indexes.SelectorKey]] = {}
        self._netpol = netpol_edges.NetpolGraph()
        self._outdated = outdated.Tracker()
        # Per-apply bookkeeping.
        self._before_nodes: dict[str, graph.Node | None] = {}
        self._before_edges: dict[str, graph.Edge | None] = {}
        self._rebuild: set[str] = set()
        self._garbage: set[str] = set()

    # -- public -------------------------------------------------------------------------

    @property
    def operations(self) -> int:
        """Index look-ups plus status and outdated evaluations so far (a cost measure)."""
        return self._index.lookups + self._cascade.visits + self._outdated.evaluations

    def snapshot(self) -> tuple[dict[str, graph.Node], dict[str, graph.Edge]]:
        return dict(self._nodes), dict(self._edges)

    def apply(self, env: envelope.Envelope, *, source: graph.Source | None = None) -> DeriveResult:
        """Derive one envelope; return what it changed."""
        if env.type is envelope.EventType.SYNCED:
            if self.initial_list and env.kind == envelope.CLUSTER_KIND:
                self._marked_partitions.add(source.partition if source is not None else 0)
                if len(self._marked_partitions) >= envelope.marker_partitions(env):
                    return DeriveResult(alerts=self._end_initial_list(env.observed_at, source))
            return DeriveResult()
        kind = KINDS.get(env.kind)
        if kind is None or kind.derived:
            return DeriveResult()
        found: list[alerts.Alert] = []
        if self.initial_list:
            if not self._list_started:
                self._list_started = env.observed_at
            elif env.observed_at - self._list_started > INITIAL_LIST_LIMIT_S:
                found = self._end_initial_list(env.observed_at, source)
        if self.cluster_id not in self._objects:
            self._put(
                KINDS[refs.CLUSTER],
                self.cluster_id,
                key=None,
                obj={"metadata": {"name": self.cluster}},
                now=env.observed_at,
            )
        if env.type is envelope.EventType.DELETED:
            self._delete(kind, env)
        else:
            self._upsert(kind, env)
        self._collect_garbage()
        self._rebuild |= self._cascade.settle()
        self._rebuild_nodes()
        result = self._finish(env.observed_at, source)
        if found:
            return DeriveResult(changes=result.changes, alerts=found + result.alerts)
        return result

    def _end_initial_list(self, time: float, source: graph.Source | None) -> list[alerts.Alert]:
        """End the initial list: the alerts of every node as it stands, as if it had
        just appeared (one pass over the nodes, once per cluster)."""
        self.initial_list = False
        found: list[alerts.Alert] = []
        nodes = self._nodes
        for node in sorted(nodes):
            alert = alerts.transition(None, nodes[node], time=time, source=source)
            if alert is not None:
                found.append(alert)
        return found

    # -- objects ------------------------------------------------------------------------

    def _upsert(self, kind: Kind, env: envelope.Envelope) -> None:
        ns = env.namespace if kind.namespaced else ""
        key = (kind.kind, ns, env.name)
        uid = (
            env.uid
            or fields.uid(env.object)
            or envelope.stable_uid(self.cluster, kind.kind, ns, env.name)
        )
        known = self._index.uid_of(key)
        if known is not None and known != uid:
            # Recreated under a new uid while the delete was missed: the old one is gone.
            self._remove(known)
        rec = self._put(kind, uid, key=key, obj=env.object, now=env.observed_at)
        if kind.kind == "Pod":
            self._sync_containers(rec, env.object, env.observed_at)
            if self._outdated.set_pod(rec.id, env.object, namespace=ns):
                self._rebuild.add(rec.id)
        elif kind.kind in outdated.CONFIG_KINDS and self._outdated.set_config(key, env):
            self._recheck_readers(key)
        self._netpol_apply(kind.kind, rec.id, env.object, ns, env.name)

    def _delete(self, kind: Kind, env: envelope.Envelope) -> None:
        ns = env.namespace if kind.namespaced else ""
        # The uid names the object; a delete of an older object of the same name (whose
        # replacement is already here) must not remove the replacement.
        uid = env.uid or self._index.uid_of((kind.kind, ns, env.name))
        rec = self._objects.get(uid) if uid else None
        if rec is None or rec.placeholder:
            return
        self._netpol_delete(kind.kind, ns, env.name)
        self._remove(rec.id)
        if (
            rec.key is not None
            and kind.kind in outdated.CONFIG_KINDS
            and self._outdated.delete_config(rec.key)
        ):
            self._recheck_readers(rec.key)

    def _put(
        self,
        kind: Kind,
        node: str,
        *,
        key: indexes.Key | None,
        obj: Mapping[str, Any],
        now: float,
    ) -> _Object:
        """Create or update the node of a watched or derived object."""
        name = key[2] if key is not None else fields.name(obj)
        ns = key[1] if key is not None else fields.namespace(obj)
        declared = kind.references(obj)
        labels = fields.labels(obj)
        rec = _Object(
            id=node,
            kind=kind,
            namespace=ns,
            name=name,
            key=key,
            labels=labels,
            ownerless=not fields.has_owners(obj),
            named=tuple(r for r in declared if not isinstance(r, refs.BySelector)),
            selectors=tuple(r for r in declared if isinstance(r, refs.BySelector)),
        )
        old = self._objects.get(node)
        if old is not None:
            rec.links, rec.containers = old.links, old.containers
            if old.labels != rec.labels:
                self._index.remove_labels(kind.kind, ns, node, old.labels)
        if old is None or old.labels != rec.labels:
            self._index.add_labels(kind.kind, ns, node, rec.labels)
        self._objects[node] = rec
        self._index.add_object(node, key)

        # The labels dict is shared by the record and the node's metadata: neither changes.
        k8s = {**fields.base_k8s(obj, labels), "Name": name, "Namespace": ns, **kind.metadata(obj)}
        self._set_base(node, kind, name, k8s)
        aggregate = kind.aggregator(obj) if kind.aggregator else None
        self._cascade.set_node(node, type=kind.type, own=kind.status(obj, now), aggregate=aggregate)

        self._sync_named(rec, old.named if old is not None else ())
        self._sync_selectors(rec, old.selectors if old is not None else ())
        if old is None or old.labels != rec.labels or old.ownerless != rec.ownerless:
            self._match_target(rec)
        if old is None:
            # Whoever named this object (by key or uid) was waiting: re-point to it.
            for referrer in sorted(self._index.referrers(key=key, uid=node) - {node}):
                self._resolve_named(self._objects[referrer])
        return rec

    def _placeholder(self, kind_name: str, namespace: str, name: str, uid: str) -> str | None:
        """The node standing for a referenced object that does not exist (created once)."""
        kind = KINDS.get(kind_name)
        if kind is None:
            return None
        ns = namespace if kind.namespaced else ""
        node = _placeholder_id(self.cluster, kind.kind, ns, name, uid)
        if node in self._objects:
            return node
        stub: dict[str, Any] = {"metadata": {"name": name, "namespace": ns}}
        rec = _Object(
            id=node,
            kind=kind,
            namespace=ns,
            name=name,
            key=None,
            labels={},
            ownerless=True,
            placeholder=True,
            named=tuple(
                r
                for r in (fields.namespace_owner(stub) if ns else fields.cluster_owner())
                if not isinstance(r, refs.BySelector)
            ),
        )
        self._objects[node] = rec
        self._set_base(node, kind, name, fields.base_k8s(stub))
        self._cascade.set_node(node, type=kind.type, own=st.missing(), placeholder=True)
        self._sync_named(rec, ())
        # Kept only while someone holds an edge to it.
        self._garbage.add(node)
        return node

    def _remove(self, node: str) -> None:
        """Delete a node: its containers, the edges it holds and the edges to it."""
        rec = self._objects.get(node)
        if rec is None:
            return
        for child in rec.containers:
            self._remove(child)
        del self._objects[node]
        self._index.remove_object(node, rec.key)
        self._index.remove_labels(rec.kind.kind, rec.namespace, node, rec.labels)
        if not rec.placeholder:
            # References to it point at a placeholder from now on (or nowhere, if optional).
            for referrer in sorted(self._index.referrers(key=rec.key, uid=node) - {node}):
                self._resolve_named(self._objects[referrer])
        for sk in _in_order(self._matched_by.pop(node, ()), _selector_order):
            self._release(self._sel_links[sk].pop(node))
        self._sync_selectors(rec, rec.selectors, keep=())
        for ref in rec.named:
            self._register(node, ref, add=False)
        for link in sorted(rec.links):
            self._release(link)
        rec.links = ()
        for edge in sorted(self._edges_left(node)):
            # What is left is not held by a declaration (network policy edges).
            self._drop_edge(edge)
        self._cascade.remove_node(node)
        self._outdated.remove_pod(node)
        self._rebuild.add(node)
        self._garbage.discard(node)

    def _sync_containers(self, pod: _Object, obj: Mapping[str, Any], now: float) -> None:
        kind = KINDS[container_kind.KIND]
        wanted: list[str] = []
        for container in container_kind.from_pod(obj, pod.id):
            cid = fields.uid(container)
            wanted.append(cid)
            self._put(kind, cid, key=None, obj=container, now=now)
        for gone in set(pod.containers) - set(wanted):
            self._remove(gone)
        pod.containers = tuple(wanted)

    def _collect_garbage(self) -> None:
        """Delete placeholders nobody refers to any more."""
        while self._garbage:
            node = min(self._garbage)
            self._garbage.discard(node)
            rec = self._objects.get(node)
            if rec is None or not rec.placeholder:
                continue
            own = {link.edge_id for link in rec.links}
            if self._degree.get(node, 0) > len(own):
                continue
            self._remove(node)

    # -- node metadata ------------------------------------------------------------------

    def _set_base(self, node: str, kind: Kind, name: str, k8s: dict[str, Any]) -> None:
        old = self._new_base.get(node)
        if old is None:
            current = self._nodes.get(node)
            # (A node removed earlier in this apply is rebuilt anyway: ``_remove``.)
            old = current.metadata if current is not None else None
        if old is None or old["Type"] != kind.type or old["Name"] != name or old["K8s"] != k8s:
            self._new_base[node] = {
                "Type": kind.type,
                "Name": name,
                "Manager": MANAGER,
                "ClusterName": self.cluster,
                "K8s": k8s,
            }
            self._rebuild.add(node)

    def _rebuild_nodes(self) -> None:
        for node in sorted(self._rebuild):
            current = self._nodes.get(node)
            base: graph.Metadata | None = None
            if node in self._objects:
                base = self._new_base.get(node)
                if base is None and current is not None:
                    base = current.metadata
            if base is None:
                if current is not None:
                    self._touch_node(node)
                    del self._nodes[node]
                continue
            final = self._cascade.final(node)
            metadata = {
                "Type": base["Type"],
                "Name": base["Name"],
                "Manager": MANAGER,
                "ClusterName": self.cluster,
                "K8s": base["K8s"],
                "State": final.status.state.value,
                "StateReason": final.status.reason,
                "RootCause": list(final.root_cause) if final.root_cause else _NO_CAUSE,
                **self._outdated.metadata(node),
            }
            if current is None or current.metadata != metadata:
                self._touch_node(node)
                self._nodes[node] = graph.Node(node, metadata)
        self._rebuild.clear()
        self._new_base.clear()

    def _recheck_readers(self, key: indexes.Key) -> None:
        """Re-check the outdated flags of the pods that name the ConfigMap/Secret ``key``."""
        self._rebuild |= self._outdated.recheck(self._index.referrers(key=key, uid=""))

    # -- named references (by key or uid) -----------------------------------------------

    def _register(self, node: str, ref: refs.ByName | refs.ByUid, *, add: bool) -> None:
        key: indexes.Key | None
        if isinstance(ref, refs.ByUid):
            key, uid = None, ref.uid
        elif ref.kind == refs.CLUSTER:
            return
        else:
            key, uid = (ref.kind, ref.namespace, ref.name), ""
        if add:
            self._index.add_referrer(node, key=key, uid=uid)
        else:
            self._index.remove_referrer(node, key=key, uid=uid)

    def _sync_named(self, rec: _Object, old: Iterable[refs.ByName | refs.ByUid]) -> None:
        old_refs, new_refs = set(old), set(rec.named)
        if old_refs == new_refs and rec.links:
            return
        for ref in old_refs - new_refs:
            self._register(rec.id, ref, add=False)
        for ref in new_refs - old_refs:
            self._register(rec.id, ref, add=True)
        self._resolve_named(rec)

    def _resolve_named(self, rec: _Object) -> None:
        """Point ``rec``'s name/uid references at what exists now (or a placeholder)."""
        wanted: set[_Link] = set()
        for ref in rec.named:
            target = self._resolve(ref)
            if target is None:
                continue
            if isinstance(ref, refs.ByUid) or ref.declarer is refs.End.CHILD:
                parent, child = target, rec.id
            else:
                parent, child = rec.id, target
            dependent = _dependent(ref.dependent, parent, child)
            wanted.add(_new_link(_Link, (parent, child, ref.relation, dependent)))
        held = rec.links
        rec.links = tuple(wanted)
        for link in sorted(wanted.difference(held)):
            self._hold(link)
        for link in sorted([link for link in held if link not in wanted]):
            self._release(link)

    def _resolve(self, ref: refs.ByName | refs.ByUid) -> str | None:
        if isinstance(ref, refs.ByUid):
            if ref.uid and self._index.has_uid(ref.uid):
                return ref.uid
            return self._placeholder(ref.kind, ref.namespace, ref.name, ref.uid)
        if ref.kind == refs.CLUSTER:
            return self.cluster_id
        found = self._index.uid_of((ref.kind, ref.namespace, ref.name))
        if found is not None:
            return found
        if not ref.required:
            return None
        return self._placeholder(ref.kind, ref.namespace, ref.name, "")

    # -- selectors ----------------------------------------------------------------------

    def _sync_selectors(
        self,
        rec: _Object,
        old: Iterable[refs.BySelector],
        keep: Iterable[refs.BySelector] | None = None,
    ) -> None:
        """Register ``rec``'s selectors (``keep``, default its own) and match them."""
        old_set = set(old)
        new_set = set(rec.selectors if keep is None else keep)
        for ref in _in_order(old_set - new_set, repr):
            sk = indexes.SelectorKey(rec.id, ref)
            self._index.remove_selector(sk)
            for target, link in sorted(self._sel_links.pop(sk, {}).items()):
                self._matched_by[target].discard(sk)
                self._release(link)
        for ref in _in_order(new_set - old_set, repr):
            sk = indexes.SelectorKey(rec.id, ref)
            self._index.add_selector(sk)
            links = self._sel_links.setdefault(sk, {})
            for target in sorted(self._index.candidates(ref)):
                obj = self._objects[target]
                if self._selects(ref, obj):
                    links[target] = self._selector_link(sk, target)
                    self._matched_by.setdefault(target, set()).add(sk)
                    self._hold(links[target])

    def _match_target(self, rec: _Object) -> None:
        """Re-match ``rec`` against the selectors its labels can satisfy."""
        if rec.placeholder:
            return
        candidates = self._index.selectors_for(rec.kind.kind, rec.namespace, rec.labels)
        wanted = {sk for sk in candidates if self._selects(sk.ref, rec)}
        held = self._matched_by.get(rec.id, set())
        for sk in _in_order(wanted - held, _selector_order):
            link = self._selector_link(sk, rec.id)
            self._sel_links.setdefault(sk, {})[rec.id] = link
            self._hold(link)
        for sk in _in_order(held - wanted, _selector_order):
            self._release(self._sel_links[sk].pop(rec.id))
        if wanted:
            self._matched_by[rec.id] = wanted
        else:
            self._matched_by.pop(rec.id, None)

    @staticmethod
    def _selects(ref: refs.BySelector, rec: _Object) -> bool:
        if rec.kind.kind != ref.kind or rec.namespace != ref.namespace or rec.placeholder:
            return False
        if ref.ownerless_only and not rec.ownerless:
            return False
        return ref.selector.matches(rec.labels)

    @staticmethod
    def _selector_link(sk: indexes.SelectorKey, target: str) -> _Link:
        dependent = _dependent(sk.ref.dependent, sk.declarer, target)
        return _new_link(_Link, (sk.declarer, target, sk.ref.relation, dependent))

    # -- edges --------------------------------------------------------------------------

    def _hold(self, link: _Link) -> None:
        count = self._link_count.get(link, 0)
        self._link_count[link] = count + 1
        if count:
            return
        if link.dependent is not None:
            self._cascade.add(link.dependent, link.dependency)
        eid = link.edge_id
        held = self._edge_count.get(eid, 0)
        self._edge_count[eid] = held + 1
        if not held:
            self._put_edge(
                graph.Edge(
                    eid,
                    link.parent,
                    link.child,
                    _link_metadata(link.relation),
                )
            )

    def _release(self, link: _Link) -> None:
        count = self._link_count.get(link, 0)
        if count > 1:
            self._link_count[link] = count - 1
            return
        self._link_count.pop(link, None)
        if not count:
            return
        if link.dependent is not None:
            self._cascade.remove(link.dependent, link.dependency)
        eid = link.edge_id
        held = self._edge_count.get(eid, 0)
        if held > 1:
            self._edge_count[eid] = held - 1
            return
        self._edge_count.pop(eid, None)
        self._drop_edge(eid)

    def _put_edge(self, edge: graph.Edge, *, netpol: bool = False) -> None:
        eid = edge.id
        before = self._edges.get(eid)
        if eid not in self._before_edges:
            self._before_edges[eid] = before
        self._edges[eid] = edge
        parent, child = edge.parent, edge.child
        if before is None:
            degree = self._degree
            degree[parent] = degree.get(parent, 0) + 1
            if child != parent:
                degree[child] = degree.get(child, 0) + 1
        if netpol:
            incident = self._netpol_incident
            for end in (parent, child):
                ids = incident.get(end)
                if ids is None:
                    incident[end] = {eid}
                else:
                    ids.add(eid)

    def _drop_edge(self, eid: str) -> None:
        edge = self._edges.get(eid)
        if edge is None:
            return
        self._touch_edge(eid)
        del self._edges[eid]
        netpol = eid in self._netpol_edges
        if netpol:
            self._netpol_edges.discard(eid)
        degree = self._degree
        for end in (edge.parent, edge.child) if edge.child != edge.parent else (edge.parent,):
            held = degree[end] - 1
            if held:
                degree[end] = held
            else:
                del degree[end]
            if netpol:
                incident = self._netpol_incident.get(end)
                if incident is not None:
                    incident.discard(eid)
                    if not incident:
                        del self._netpol_incident[end]
            if end in self._objects and self._objects[end].placeholder:
                self._garbage.add(end)

    def _edges_left(self, node: str) -> set[str]:
        """The edges ``node`` is still an end of: its network policy edges, and any other
        found by a scan of every edge when the count says there is one (not expected:
        ``_remove`` has released every declared one by then)."""
        left = set(self._netpol_incident.get(node, ()))
        if self._degree.get(node, 0) > len(left):
            left |= {eid for eid, e in self._edges.items() if node in (e.parent, e.child)}
        return left

    # -- network policies ---------------------------------------------------------------

    def _netpol_apply(
        self, kind: str, node: str, obj: Mapping[str, Any], namespace: str, name: str
    ) -> None:
        """Feed a Pod, Namespace or NetworkPolicy to the policy graph (with its node id)."""
        if kind not in ("NetworkPolicy", "Pod", "Namespace"):
            return
        # The policy graph names pods and policies by metadata.uid: make it the node id.
        with_uid = {**obj, "metadata": {**fields.meta(obj), "uid": node}}
        try:
            if kind == "NetworkPolicy":
                delta = self._netpol.apply_policy(with_uid)
            elif kind == "Pod":
                delta = self._netpol.apply_pod(with_uid)
            else:
                delta = self._netpol.apply_namespace(with_uid)
        except netpol_policy.NetpolError:
            # Unreadable as a policy (or a pod with a bad IP): it takes part in no policy
            # edge rather than keeping those of its previous version.
            self._netpol_delete(kind, namespace, name)
            return
        self._apply_delta(delta)

    def _netpol_delete(self, kind: str, namespace: str, name: str) -> None:
        if kind == "NetworkPolicy":
            self._apply_delta(self._netpol.delete_policy(namespace, name))
        elif kind == "Pod":
            self._apply_delta(self._netpol.delete_pod(namespace, name))
        elif kind == "Namespace":
            self._apply_delta(self._netpol.delete_namespace(name))

    def _apply_delta(self, delta: netpol_edges.EdgeDelta) -> None:
        for eid in delta.removed:
            if eid in self._netpol_edges:
                self._drop_edge(eid)
        for edge in delta.added:
            if edge.parent in self._objects and edge.child in self._objects:
                self._netpol_edges.add(edge.id)
                self._put_edge(edge, netpol=True)

    # -- results ------------------------------------------------------------------------

    def _touch_node(self, node: str) -> None:
        if node not in self._before_nodes:
            self._before_nodes[node] = self._nodes.get(node)

    def _touch_edge(self, eid: str) -> None:
        if eid not in self._before_edges:
            self._before_edges[eid] = self._edges.get(eid)

    def _finish(self, time: float, source: graph.Source | None) -> DeriveResult:
        change, op = graph.Change, graph.Op
        upserts: list[graph.Change] = []
        deletes: list[graph.Change] = []
        transitions: list[alerts.Alert] = []
        nodes = self._nodes
        initial_list = self.initial_list
        for node in sorted(self._before_nodes):
            before = self._before_nodes[node]
            after = nodes.get(node)
            if after is None:
                # A node that is gone raises no alert.
                if before is not None:
                    deletes.append(change(op.NODE_DELETE, node, None, None, source))
                continue
            if before is None or (after is not before and after != before):
                upserts.append(change(op.NODE_UPSERT, node, after, None, source))
            if initial_list:
                continue
            alert = alerts.transition(before, after, time=time, source=source)
            if alert is not None:
                transitions.append(alert)
        edge_upserts: list[graph.Change] = []
        edge_deletes: list[graph.Change] = []
        edges = self._edges
        for eid in sorted(self._before_edges):
            before_edge = self._before_edges[eid]
            after_edge = edges.get(eid)
            if after_edge is None:
                if before_edge is not None:
                    edge_deletes.append(change(op.EDGE_DELETE, eid, None, None, source))
            elif before_edge is None or (
                after_edge is not before_edge and after_edge != before_edge
            ):
                edge_upserts.append(change(op.EDGE_UPSERT, eid, None, after_edge, source))
        self._before_nodes.clear()
        self._before_edges.clear()
        return DeriveResult(
            changes=[*upserts, *edge_upserts, *edge_deletes, *deletes], alerts=transitions
        )


def _dependent(end: refs.End | None, parent: str, child: str) -> str | None:
    """The node at ``end`` of a ``parent`` → ``child`` edge (identity tests: an Enum's
    hash is a Python-level call, too slow for a per-reference dict look-up)."""
    if end is refs.End.PARENT:
        return parent
    if end is refs.End.CHILD:
        return child
    return None


@functools.lru_cache(maxsize=256)
def _link_metadata(relation: str) -> graph.Metadata:
    """The metadata of a declared edge: one shared dict per relation (never modify it)."""
    return {"Manager": MANAGER, "RelationType": relation}


def _in_order(items: Collection[_T], key: Callable[[_T], Any]) -> list[_T]:
    """``sorted(items, key=key)`` without calling ``key`` when there is nothing to sort
    (mostly the case; the keys are ``repr``s of references)."""
    if len(items) < 2:
        return list(items)
    return sorted(items, key=key)


def _selector_order(sk: indexes.SelectorKey) -> tuple[str, str]:
    return sk.declarer, repr(sk.ref)
