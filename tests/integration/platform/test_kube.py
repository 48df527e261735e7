"""The local control plane behaves like a cluster: controllers, scheduler and kwok all act."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client, config
from kubernetes.client.rest import ApiException

from topolog.platform.state import Endpoints

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def api(platform: Endpoints) -> client.ApiClient:
    return config.new_client_from_config(config_file=platform.kubeconfig)


@pytest.fixture()
def namespace(api: client.ApiClient) -> Iterator[str]:
    name = f"it-{uuid.uuid4().hex[:8]}"
    core = client.CoreV1Api(api)
    core.create_namespace({"metadata": {"name": name}})
    yield name
    try:
        core.delete_namespace(name)
    except ApiException as exc:
        if exc.status != 404:
            raise


def eventually(check: Callable[[], Any], *, what: str, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.5)


def test_version_endpoint_is_truthful(api: client.ApiClient) -> None:
    info = client.VersionApi(api).get_code()
    assert info.git_version.startswith("v1.34.")
    assert info.major == "1" and info.minor == "34"


def test_kubectl_works_with_the_written_kubeconfig(platform: Endpoints) -> None:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed on this machine")
    out = subprocess.run(
        [kubectl, "--kubeconfig", platform.kubeconfig, "get", "nodes", "-o", "name"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "node/kwok-node-0" in out.stdout


def test_deployment_yields_replicaset_and_running_pods(
    api: client.ApiClient, namespace: str
) -> None:
    labels = {"app": "hello-node"}
    client.AppsV1Api(api).create_namespaced_deployment(
        namespace,
        {
            "metadata": {"name": "hello-node", "labels": labels},
            "spec": {
                "replicas": 2,
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {"containers": [{"name": "hello", "image": "hello:1"}]},
                },
            },
        },
    )
    apps, core = client.AppsV1Api(api), client.CoreV1Api(api)
    rs = eventually(lambda: apps.list_namespaced_replica_set(namespace).items, what="a ReplicaSet")
    assert rs[0].metadata.owner_references[0].name == "hello-node"

    def running_pods() -> list[Any]:
        pods = core.list_namespaced_pod(namespace).items
        running = [p for p in pods if p.status.phase == "Running" and p.spec.node_name]
        return running if len(running) == 2 else []

    pods = eventually(running_pods, what="2 Running pods")
    assert all(p.spec.node_name.startswith("kwok-node-") for p in pods)
    assert all(p.status.pod_ip for p in pods)


def test_claim_binds_to_matching_volume(api: client.ApiClient, namespace: str) -> None:
    core = client.CoreV1Api(api)
    pv_name = f"{namespace}-pv"
    # A class of the test's own: the platform is shared, and another test's Available
    # volume of class "manual" (the demo's task-pv-volume) would match the claim too.
    storage_class = f"{namespace}-manual"
    core.create_persistent_volume(
        {
            "metadata": {"name": pv_name},
            "spec": {
                "capacity": {"storage": "1Gi"},
                "accessModes": ["ReadWriteOnce"],
                "storageClassName": storage_class,
                "hostPath": {"path": "/mnt/data"},
            },
        }
    )
    try:
        core.create_namespaced_persistent_volume_claim(
            namespace,
            {
                "metadata": {"name": "claim"},
                "spec": {
                    "accessModes": ["ReadWriteOnce"],
                    "storageClassName": storage_class,
                    "resources": {"requests": {"storage": "1Gi"}},
                },
            },
        )
        bound = eventually(
            lambda: (
                core.read_namespaced_persistent_volume_claim("claim", namespace).status.phase
                == "Bound"
            ),
            what="the claim to bind",
        )
        assert bound
        pvc = core.read_namespaced_persistent_volume_claim("claim", namespace)
        assert pvc.spec.volume_name == pv_name
    finally:
        core.delete_persistent_volume(pv_name)


def test_namespace_deletion_finishes(api: client.ApiClient) -> None:
    core = client.CoreV1Api(api)
    name = f"it-del-{uuid.uuid4().hex[:8]}"
    core.create_namespace({"metadata": {"name": name}})
    core.create_namespaced_config_map(name, {"metadata": {"name": "cm"}, "data": {"k": "v"}})
    core.create_namespaced_pod(
        name,
        {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "busybox"}]}},
    )
    core.delete_namespace(name)

    def gone() -> bool:
        try:
            core.read_namespace(name)
        except ApiException as exc:
            return exc.status == 404
        return False

    assert eventually(gone, what="the namespace to disappear", timeout=90)


def test_dev_status_json_names_the_endpoints(platform: Endpoints, platform_state_dir: Path) -> None:
    import orjson

    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "topolog.cli.main",
            "dev",
            "status",
            "--json",
            "--state-dir",
            str(platform_state_dir),
        ],
        capture_output=True,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    report = orjson.loads(out.stdout)
    assert report["kafka"] == platform.kafka
    assert report["redis"] == platform.redis
    assert Path(report["kubeconfig"]).is_absolute()


def test_dev_status_fails_when_nothing_runs(tmp_path: Path) -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "topolog.cli.main",
            "dev",
            "status",
            "--json",
            "--state-dir",
            str(tmp_path),
        ],
        capture_output=True,
        check=False,
    )
    assert out.returncode == 1
