"""An offline inventory for reachability: manifests in, pods/namespaces/policies out.

Flows in: ``manifests.Manifest`` values (already loaded and checked by ``core.manifests``).
Flows out: an ``Inventory`` — a ``policy.Cluster`` for ``reach.matrix`` plus, per pod, the
workload it belongs to — used by ``topolog reach --manifests``.

Rules:
- Namespaced objects without a namespace live in ``default``; a namespace that is used but
  not declared gets a Namespace with only the ``kubernetes.io/metadata.name`` label (which
  the API server also adds to declared ones).
- A workload (Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob,
  ReplicationController) with no pod among the manifests becomes one pod named like the
  workload, with its template's labels and container ports. A workload owned by another
  workload in the manifests (a Deployment's ReplicaSet, a CronJob's Job) is left to its owner.
- A pod's workload is the top of its ownerReferences chain as far as the manifests know
  it; a bare pod is its own workload (kind ``Pod``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from topolog.core import graph, manifests, selectors
from topolog.core.netpol import policy as np

WORKLOAD_KINDS = frozenset(
    {
        "Deployment",
        "StatefulSet",
        "DaemonSet",
        "ReplicaSet",
        "Job",
        "CronJob",
        "ReplicationController",
    }
)

_Key = tuple[str, str, str]  # kind, namespace, name


@dataclass(frozen=True, slots=True)
class Entry:
    """One pod of the inventory and the workload it stands for."""

    pod: np.Pod
    workload: str  # "ns/name"
    workload_kind: str

    @property
    def id(self) -> str:
        return self.pod.ref


@dataclass(slots=True)
class Inventory:
    cluster: np.Cluster
    entries: list[Entry]  # sorted by pod id


@dataclass(slots=True)
class _Workload:
    kind: str
    namespace: str
    name: str
    obj: Mapping[str, Any]
    where: str


def build(items: Sequence[manifests.Manifest]) -> Inventory:
    """The inventory described by ``items``; ``NetpolError`` names the bad file and document."""
    namespaces: dict[str, np.Namespace] = {}
    pods: dict[tuple[str, str], tuple[np.Pod, Mapping[str, Any]]] = {}
    policies: dict[tuple[str, str], np.Policy] = {}
    workloads: dict[_Key, _Workload] = {}
    for item in items:
        obj = item.object
        kind = obj["kind"]
        try:
            if kind == "Namespace":
                ns = np.parse_namespace(obj)
                namespaces[ns.name] = ns
            elif kind == "Pod":
                pod = np.parse_pod(obj)
                pods[pod.key] = (pod, obj)
            elif kind == "NetworkPolicy":
                pol = np.parse_policy(obj)
                policies[pol.key] = pol
            elif kind in WORKLOAD_KINDS:
                meta = obj["metadata"]
                wl = _Workload(
                    kind, str(meta.get("namespace") or "default"), meta["name"], obj, item.where
                )
                np.container_ports(_template(wl).get("spec") or {})  # validate early
                workloads[(kind, wl.namespace, wl.name)] = wl
        except (np.NetpolError, selectors.SelectorError) as exc:
            raise np.NetpolError(f"{item.where}: {exc}") from exc

    entries = [Entry(pod, *_workload_of(pod, obj, workloads)) for pod, obj in pods.values()]
    taken = set(pods)
    for wl in workloads.values():
        try:
            if _owner_in(wl.obj, workloads) or _has_pods(wl, pods, workloads):
                continue
            pod = _expand(wl, taken)
        except (np.NetpolError, selectors.SelectorError) as exc:
            raise np.NetpolError(f"{wl.where}: {exc}") from exc
        taken.add(pod.key)
        entries.append(Entry(pod, f"{wl.namespace}/{wl.name}", wl.kind))

    entries.sort(key=lambda e: e.pod.key)
    used = {e.pod.namespace for e in entries} | {p.namespace for p in policies.values()}
    for name in used - namespaces.keys():
        namespaces[name] = np.Namespace(name=name, labels=np.default_namespace_labels(name))
    cluster = np.Cluster(
        pods=[e.pod for e in entries],
        policies=[policies[k] for k in sorted(policies)],
        namespaces=namespaces,
    )
    return Inventory(cluster=cluster, entries=entries)


def _template(wl: _Workload) -> Mapping[str, Any]:
    spec = wl.obj.get("spec") or {}
    if wl.kind == "CronJob":
        spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    template = spec.get("template") or {}
    if not isinstance(template, Mapping):
        raise np.NetpolError(f"{wl.kind} {wl.namespace}/{wl.name}: template must be a mapping")
    return template


def _expand(wl: _Workload, taken: set[tuple[str, str]]) -> np.Pod:
    template = _template(wl)
    name = wl.name
    if (wl.namespace, name) in taken:
        name = f"{wl.name}-{wl.kind.lower()}"
    return np.parse_pod(
        {
            "metadata": {
                "namespace": wl.namespace,
                "name": name,
                "uid": graph.derived_id(wl.kind, wl.namespace, wl.name),
                "labels": (template.get("metadata") or {}).get("labels") or {},
            },
            "spec": template.get("spec") or {},
        }
    )


def _owners(obj: Mapping[str, Any]) -> list[tuple[str, str]]:
    refs = (obj.get("metadata") or {}).get("ownerReferences") or []
    return [(str(r.get("kind")), str(r.get("name"))) for r in refs if isinstance(r, Mapping)]


def _owner_in(obj: Mapping[str, Any], workloads: Mapping[_Key, _Workload]) -> _Workload | None:
    ns = str((obj.get("metadata") or {}).get("namespace") or "default")
    for kind, name in _owners(obj):
        owner = workloads.get((kind, ns, name))
        if owner is not None:
            return owner
    return None


def _workload_of(
    pod: np.Pod, obj: Mapping[str, Any], workloads: Mapping[_Key, _Workload]
) -> tuple[str, str]:
    """The top of ``pod``'s ownerReferences chain, as far as the manifests know it."""
    owners = _owners(obj)
    if not owners:
        return pod.ref, "Pod"
    kind, name = owners[0]
    current = workloads.get((kind, pod.namespace, name))
    seen: set[int] = set()
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        kind, name = current.kind, current.name
        current = _owner_in(current.obj, workloads)
    return f"{pod.namespace}/{name}", kind


def _has_pods(
    wl: _Workload,
    pods: Mapping[tuple[str, str], tuple[np.Pod, Mapping[str, Any]]],
    workloads: Mapping[_Key, _Workload],
) -> bool:
    """Whether some manifest pod belongs to ``wl`` (by owner chain or by its selector)."""
    selector = _selector(wl)
    for pod, obj in pods.values():
        if pod.namespace != wl.namespace:
            continue
        if _workload_of(pod, obj, workloads) == (f"{wl.namespace}/{wl.name}", wl.kind):
            return True
        if any(k == wl.kind and n == wl.name for k, n in _owners(obj)):
            return True
        if selector is not None and not selector.is_empty and selector.matches(pod.labels):
            return True
    return False


def _selector(wl: _Workload) -> selectors.Selector | None:
    spec = wl.obj.get("spec") or {}
    if wl.kind == "CronJob":
        return None
    raw = spec.get("selector")
    if wl.kind == "ReplicationController":
        labels = raw or (_template(wl).get("metadata") or {}).get("labels")
        return selectors.parse_map(labels) if labels else None
    return selectors.parse(raw) if raw else None
