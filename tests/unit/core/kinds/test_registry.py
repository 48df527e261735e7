"""The KINDS table: every kind the brief lists, each module of the same shape."""

from __future__ import annotations

from topolog.core import resources
from topolog.core.kinds import DERIVE_ORDER, KINDS, derive_rank, fields

EXPECTED_TYPES = {
    "cluster", "namespace", "node", "pod", "container", "deployment", "replicaset",
    "daemonset", "statefulset", "job", "cronjob", "replicationcontroller", "service",
    "endpoints", "endpointslice", "ingress", "networkpolicy", "configmap", "secret",
    "persistentvolumeclaim", "persistentvolume", "storageclass", "serviceaccount",
    "horizontalpodautoscaler",
}  # fmt: skip


def test_every_kind_is_registered_under_its_kubernetes_kind() -> None:
    assert {k.type for k in KINDS.values()} == EXPECTED_TYPES
    assert all(name == k.kind and k.type == name.lower() for name, k in KINDS.items())


def test_every_watched_kind_has_rules_and_derived_kinds_are_not_watched() -> None:
    watched = {r.kind for r in resources.BUILTIN}
    assert watched <= KINDS.keys()
    assert {k.kind for k in KINDS.values() if k.derived} == {"Cluster", "Container"}
    assert not watched & {k.kind for k in KINDS.values() if k.derived}


def test_namespaced_matches_the_resource_table() -> None:
    for r in resources.BUILTIN:
        assert KINDS[r.kind].namespaced == r.namespaced, r.kind


def test_every_kind_survives_an_empty_object() -> None:
    """Manifests lack status, metadata-only secrets lack a body: nothing may raise."""
    for kind in KINDS.values():
        empty = {"metadata": {"name": "x", "namespace": "ns" if kind.namespaced else ""}}
        meta = kind.metadata(empty)
        assert isinstance(meta, dict)
        assert not {"Name", "Namespace", "Labels", "Annotations"} & meta.keys()
        kind.status(empty, 0.0)
        kind.references(empty)


def test_namespaced_kinds_hang_from_their_namespace_and_others_from_the_cluster() -> None:
    for kind in KINDS.values():
        if kind.derived:
            continue
        obj = {"metadata": {"name": "x", "namespace": "ns" if kind.namespaced else ""}}
        first = kind.references(obj)[0]
        expected = fields.namespace_owner(obj) if kind.namespaced else fields.cluster_owner()
        assert first == expected[0], kind.kind


def test_every_kind_that_is_not_derived_has_a_place_in_the_derive_order() -> None:
    """A large batch is derived in this order; a kind missing from it would go first,
    before the objects it references (placeholders and false alerts in a sync)."""
    assert set(DERIVE_ORDER) == {k.kind for k in KINDS.values() if not k.derived}
    assert len(DERIVE_ORDER) == len(set(DERIVE_ORDER))
    # Referenced before referencing: owners before what they own, what pods name first.
    for before, after in [
        ("Namespace", "Pod"),
        ("Node", "Pod"),
        ("PersistentVolume", "PersistentVolumeClaim"),
        ("PersistentVolumeClaim", "Pod"),
        ("ConfigMap", "Pod"),
        ("Secret", "Pod"),
        ("Deployment", "ReplicaSet"),
        ("ReplicaSet", "Pod"),
        ("CronJob", "Job"),
        ("Job", "Pod"),
        ("StatefulSet", "Pod"),
        ("Service", "Ingress"),
        ("Deployment", "HorizontalPodAutoscaler"),
    ]:
        assert derive_rank(before) < derive_rank(after), (before, after)
    assert derive_rank("SomeCustomResource") < derive_rank("Namespace")
