"""deploy/kubernetes/ is valid for a real apiserver and its RBAC is least privilege."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from topolog.core import manifests
from topolog.platform.apply import Applier
from topolog.platform.state import Endpoints

pytestmark = pytest.mark.integration

DEPLOY = Path(__file__).resolve().parents[3] / "deploy" / "kubernetes"
PRODUCER = "system:serviceaccount:topolog:topolog-producer"
OTHERS = "system:serviceaccount:topolog:topolog"

WATCHED: list[tuple[str, str]] = [
    ("", "namespaces"),
    ("", "nodes"),
    ("", "pods"),
    ("", "services"),
    ("", "endpoints"),
    ("", "configmaps"),
    ("", "secrets"),
    ("", "persistentvolumeclaims"),
    ("", "persistentvolumes"),
    ("", "serviceaccounts"),
    ("", "replicationcontrollers"),
    ("apps", "deployments"),
    ("apps", "replicasets"),
    ("apps", "daemonsets"),
    ("apps", "statefulsets"),
    ("batch", "jobs"),
    ("batch", "cronjobs"),
    ("networking.k8s.io", "ingresses"),
    ("networking.k8s.io", "networkpolicies"),
    ("storage.k8s.io", "storageclasses"),
    ("discovery.k8s.io", "endpointslices"),
    ("autoscaling", "horizontalpodautoscalers"),
]


@pytest.fixture(scope="module")
def applied_rbac(platform: Endpoints) -> Iterator[Applier]:
    applier = Applier(platform.kubeconfig)
    applier.apply(manifests.load([DEPLOY / "00-namespace.yaml", DEPLOY / "01-rbac.yaml"]))
    yield applier
    applier.delete(
        api_version="rbac.authorization.k8s.io/v1", kind="ClusterRoleBinding", name="topolog-reader"
    )
    applier.delete(
        api_version="rbac.authorization.k8s.io/v1", kind="ClusterRole", name="topolog-reader"
    )
    applier.delete(api_version="v1", kind="Namespace", name="topolog")


def can(applier: Applier, user: str, verb: str, group: str, resource: str) -> bool:
    review = client.AuthorizationV1Api(applier.core().api_client).create_subject_access_review(
        {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SubjectAccessReview",
            "spec": {
                "user": user,
                "groups": ["system:serviceaccounts", "system:serviceaccounts:topolog"],
                "resourceAttributes": {
                    "verb": verb,
                    "group": group,
                    "resource": resource,
                    "namespace": "default",
                },
            },
        }
    )
    allowed: Any = review.status.allowed
    return bool(allowed)


def test_every_manifest_passes_server_side_dry_run(applied_rbac: Applier) -> None:
    objects = manifests.load([DEPLOY])
    kinds = {m.object["kind"] for m in objects}
    assert {"Deployment", "Service", "ClusterRole", "ConfigMap"} <= kinds
    for item in objects:
        obj = item.object
        resource = applied_rbac._dynamic.resources.get(
            api_version=obj["apiVersion"], kind=obj["kind"]
        )
        resource.server_side_apply(
            body=obj,
            name=obj["metadata"]["name"],
            namespace=obj["metadata"].get("namespace"),
            field_manager="topolog-test",
            dry_run="All",
        )


@pytest.mark.parametrize(("group", "resource"), WATCHED)
def test_producer_can_list_and_watch_every_watched_kind(
    applied_rbac: Applier, group: str, resource: str
) -> None:
    assert can(applied_rbac, PRODUCER, "list", group, resource)
    assert can(applied_rbac, PRODUCER, "watch", group, resource)


@pytest.mark.parametrize("verb", ["create", "update", "patch", "delete", "deletecollection"])
@pytest.mark.parametrize(
    ("group", "resource"),
    [("", "pods"), ("", "secrets"), ("apps", "deployments"), ("", "configmaps")],
)
def test_producer_cannot_write_anything(
    applied_rbac: Applier, verb: str, group: str, resource: str
) -> None:
    assert not can(applied_rbac, PRODUCER, verb, group, resource)


def test_producer_cannot_get_a_single_secret(applied_rbac: Applier) -> None:
    assert not can(applied_rbac, PRODUCER, "get", "", "secrets")


def test_the_other_processes_have_no_api_access(applied_rbac: Applier) -> None:
    for group, resource in WATCHED:
        assert not can(applied_rbac, OTHERS, "list", group, resource)
