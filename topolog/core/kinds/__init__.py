"""Resource kinds: one module per kind, all of the same shape, registered in ``KINDS``.

Flows in: nothing (a table).
Flows out: ``KINDS`` — Kubernetes kind (``"Pod"``) → ``Kind``; the deriver
(``topolog.core.derive.engine``) looks every envelope's kind up here.

A kind module exports ``KIND`` (the Kubernetes kind), ``NAMESPACED``,
``metadata(obj) -> dict`` (its ``K8s.*`` fields beyond Name/Namespace/Labels/
Annotations), ``status(obj, now) -> status.Status`` (its own ``(State, reason)``) and
``references(obj) -> list[refs.Reference]`` (the relations it declares); a kind whose
state also depends on its dependencies exports ``aggregate(obj, own, deps)`` and
``aggregator(obj)`` (the same, bound to what it reads of ``obj``) and passes the latter to
``_kind`` below. Adding a kind: docs/adding-a-kind.md.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from topolog.core import status as st
from topolog.core.kinds import (
    cluster,
    configmap,
    container,
    cronjob,
    daemonset,
    deployment,
    endpoints,
    endpointslice,
    fields,
    horizontalpodautoscaler,
    ingress,
    job,
    namespace,
    networkpolicy,
    node,
    persistentvolume,
    persistentvolumeclaim,
    pod,
    refs,
    replicaset,
    replicationcontroller,
    secret,
    service,
    serviceaccount,
    statefulset,
    storageclass,
)

#: The status aggregate of one object (``None``: its own status stands), holding nothing
#: of the object itself: the deriver keeps one per node.
Aggregator = Callable[[fields.Obj], st.Aggregate | None]


class KindModule(Protocol):
    """What every ``kinds/<kind>.py`` module provides."""

    KIND: str
    NAMESPACED: bool

    def metadata(self, obj: fields.Obj) -> dict[str, Any]: ...

    def status(self, obj: fields.Obj, now: float) -> st.Status: ...

    def references(self, obj: fields.Obj) -> list[refs.Reference]: ...


@dataclass(frozen=True, slots=True)
class Kind:
    """A registered kind."""

    kind: str
    namespaced: bool
    metadata: Callable[[fields.Obj], dict[str, Any]]
    status: Callable[[fields.Obj, float], st.Status]
    references: Callable[[fields.Obj], list[refs.Reference]]
    #: Status from the node's dependencies on top of its own (``None``: own status only).
    aggregator: Aggregator | None = None
    #: Derived by topolog (cluster, container), never watched: envelopes of it are ignored.
    derived: bool = False
    #: The node ``Type``: the lower-case kind (one string, shared by every node of the kind).
    type: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "type", self.kind.lower())


def _kind(
    module: KindModule, *, aggregator: Aggregator | None = None, derived: bool = False
) -> Kind:
    return Kind(
        kind=module.KIND,
        namespaced=module.NAMESPACED,
        metadata=module.metadata,
        status=module.status,
        references=module.references,
        aggregator=aggregator,
        derived=derived,
    )


KINDS: dict[str, Kind] = {
    k.kind: k
    for k in (
        _kind(cluster, derived=True),
        _kind(namespace),
        _kind(node),
        _kind(pod),
        _kind(container, derived=True),
        _kind(deployment),
        _kind(replicaset),
        _kind(daemonset),
        _kind(statefulset),
        _kind(job),
        _kind(cronjob),
        _kind(replicationcontroller),
        _kind(service, aggregator=service.aggregator),
        _kind(endpoints),
        _kind(endpointslice),
        _kind(ingress, aggregator=ingress.aggregator),
        _kind(networkpolicy),
        _kind(configmap),
        _kind(secret),
        _kind(persistentvolumeclaim),
        _kind(persistentvolume),
        _kind(storageclass),
        _kind(serviceaccount),
        _kind(horizontalpodautoscaler, aggregator=horizontalpodautoscaler.aggregator),
    )
}


#: The order in which a large batch's objects are derived (``derive_rank``): every kind
#: after the kinds its objects reference by name or by owner uid, so that an initial sync
#: — which arrives with its kinds interleaved (one reflector per kind, the resources
#: topic's partitions read a chunk at a time) — makes no "Missing" placeholder that the
#: real object then replaces: a placeholder costs a node and its edges, then their
#: deletion and the edges again (~25 % more changes and ~40 % more deriving in a 10k-pod
#: sync read from eight partitions; docs/benchmarks.md, session 10). The graph does not
#: depend on the order (property-tested); only the work does. A PersistentVolume and its
#: claim name each other: the volume goes first (the claim's reference to a missing
#: volume makes a placeholder, the volume's ``claimRef`` does not).
DERIVE_ORDER: tuple[str, ...] = (
    "Namespace",
    "Node",
    "StorageClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "ConfigMap",
    "Secret",
    "ServiceAccount",
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "CronJob",
    "ReplicationController",
    "Job",
    "ReplicaSet",
    "Pod",
    "Service",
    "Endpoints",
    "EndpointSlice",
    "Ingress",
    "NetworkPolicy",
    "HorizontalPodAutoscaler",
)

_RANKS = {kind: rank for rank, kind in enumerate(DERIVE_ORDER, start=1)}
#: A cluster's SYNCED marker (the only envelope of kind Cluster) closes the initial list:
#: after every object of its batch.
_RANKS[refs.CLUSTER] = len(DERIVE_ORDER) + 1


def derive_rank(kind: str) -> int:
    """The position of ``kind`` in ``DERIVE_ORDER``; 0 for a kind not in it (custom
    resources: usually controllers that own built-in objects, so they go first); last
    for a cluster's SYNCED marker."""
    return _RANKS.get(kind, 0)
