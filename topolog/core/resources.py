"""The table of watched resource kinds: how each is addressed on the Kubernetes API.

Flows in: nothing for the built-in kinds; a CustomResourceDefinition object (from the
API) for a custom kind named in configuration.
Flows out: ``Resource`` values; producers list and watch ``Resource.path(...)``, ingest
asks ``namespaced_kinds`` whether a manifest without a namespace gets ``default``.

Adding a built-in kind is one line in ``BUILTIN``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


class ResourceError(ValueError):
    """A CustomResourceDefinition that does not describe a watchable kind."""


@dataclass(frozen=True, slots=True)
class Resource:
    """One kind as the API serves it."""

    group: str  # "" for the core group
    version: str
    plural: str
    kind: str
    namespaced: bool
    #: Watch as PartialObjectMetadata: the API never sends the object's body (Secrets).
    metadata_only: bool = False

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def path(self) -> str:
        """The collection across all namespaces, e.g. ``/apis/apps/v1/deployments``."""
        prefix = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        return f"{prefix}/{self.plural}"

    def namespaced_path(self, namespace: str) -> str:
        """The collection inside one namespace (for creating objects)."""
        if not self.namespaced:
            return self.path
        prefix = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        return f"{prefix}/namespaces/{namespace}/{self.plural}"


def _r(api_version: str, plural: str, kind: str, *, namespaced: bool = True) -> Resource:
    group, _, version = api_version.rpartition("/")
    return Resource(
        group=group,
        version=version,
        plural=plural,
        kind=kind,
        namespaced=namespaced,
        metadata_only=kind == "Secret",
    )


#: Every built-in kind topolog watches. Secrets are metadata-only (a security boundary).
BUILTIN: tuple[Resource, ...] = (
    _r("v1", "namespaces", "Namespace", namespaced=False),
    _r("v1", "nodes", "Node", namespaced=False),
    _r("v1", "pods", "Pod"),
    _r("apps/v1", "deployments", "Deployment"),
    _r("apps/v1", "replicasets", "ReplicaSet"),
    _r("apps/v1", "daemonsets", "DaemonSet"),
    _r("apps/v1", "statefulsets", "StatefulSet"),
    _r("batch/v1", "jobs", "Job"),
    _r("batch/v1", "cronjobs", "CronJob"),
    _r("v1", "services", "Service"),
    _r("networking.k8s.io/v1", "ingresses", "Ingress"),
    _r("networking.k8s.io/v1", "networkpolicies", "NetworkPolicy"),
    _r("v1", "configmaps", "ConfigMap"),
    _r("v1", "secrets", "Secret"),
    _r("v1", "persistentvolumeclaims", "PersistentVolumeClaim"),
    _r("v1", "persistentvolumes", "PersistentVolume", namespaced=False),
    _r("storage.k8s.io/v1", "storageclasses", "StorageClass", namespaced=False),
    _r("v1", "endpoints", "Endpoints"),
    _r("discovery.k8s.io/v1", "endpointslices", "EndpointSlice"),
    _r("v1", "serviceaccounts", "ServiceAccount"),
    _r("autoscaling/v2", "horizontalpodautoscalers", "HorizontalPodAutoscaler"),
    _r("v1", "replicationcontrollers", "ReplicationController"),
)

#: Cluster-scoped kinds that topolog does not watch but manifests may contain.
_OTHER_CLUSTER_SCOPED = frozenset(
    {
        "ClusterRole",
        "ClusterRoleBinding",
        "CustomResourceDefinition",
        "PriorityClass",
        "RuntimeClass",
        "IngressClass",
        "CSIDriver",
        "CSINode",
        "VolumeAttachment",
        "MutatingWebhookConfiguration",
        "ValidatingWebhookConfiguration",
        "APIService",
    }
)


def by_kind(resources: Iterable[Resource] = BUILTIN) -> dict[str, Resource]:
    return {r.kind: r for r in resources}


def is_namespaced(kind: str, resources: Iterable[Resource] = BUILTIN) -> bool:
    """Whether objects of ``kind`` live in a namespace (unknown kinds are, as most are)."""
    known = by_kind(resources).get(kind)
    if known is not None:
        return known.namespaced
    return kind not in _OTHER_CLUSTER_SCOPED


def select(names: Iterable[str], resources: Iterable[Resource] = BUILTIN) -> list[Resource]:
    """The resources named by kind or plural (case-insensitive); unknown names raise."""
    table = list(resources)
    out: list[Resource] = []
    for name in names:
        wanted = name.lower()
        match = [r for r in table if wanted in (r.kind.lower(), r.plural)]
        if not match:
            raise ResourceError(f"unknown kind {name!r}")
        out.extend(m for m in match if m not in out)
    return out


def from_crd(crd: Mapping[str, Any]) -> Resource:
    """The kind a CustomResourceDefinition serves, at its storage (else first served) version."""
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    group, plural, kind = spec.get("group"), names.get("plural"), names.get("kind")
    if not (isinstance(group, str) and isinstance(plural, str) and isinstance(kind, str)):
        name = (crd.get("metadata") or {}).get("name")
        raise ResourceError(f"CustomResourceDefinition {name!r} lacks group/names")
    served = [v for v in spec.get("versions") or [] if v.get("served")]
    if not served:
        raise ResourceError(f"CustomResourceDefinition {plural}.{group} serves no version")
    version = next((v for v in served if v.get("storage")), served[0])["name"]
    return Resource(
        group=group,
        version=version,
        plural=plural,
        kind=kind,
        namespaced=spec.get("scope") == "Namespaced",
    )
