"""The embedded demo: the seed's walkthroughs loaded into the local cluster.

Flows in: ``deploy/demo/*.yaml`` (hello-node, bookinfo with network policies, the
task-pv storage chain, wordpress + mysql sharing the secret ``mysql-pass``).
Flows out: those objects in the cluster, then the seed's secret rotation (delete and
re-create ``mysql-pass`` with a new password) which leaves the running pods on the old
secret. Idempotent: applying twice changes nothing, and the rotation happens only
while the secret still holds the first password.
"""

from __future__ import annotations

import base64
import time
from pathlib import Path

from topolog.core import manifests
from topolog.platform import paths
from topolog.platform.apply import Applier

ROTATED_PASSWORD = "abc456"


def demo_dir() -> Path:
    return paths.repo_root() / "deploy" / "demo"


def load(kubeconfig: Path | str) -> list[str]:
    """Apply the demo; Secrets only when missing, so a re-run does not undo the rotation."""
    applier = Applier(kubeconfig)
    core = applier.core()
    existing = {
        (s.metadata.namespace, s.metadata.name)
        for s in core.list_namespaced_secret("default").items
    }
    items = [
        m
        for m in manifests.load([demo_dir()])
        if m.object["kind"] != "Secret" or ("default", m.object["metadata"]["name"]) not in existing
    ]
    return applier.apply(items)


def rotate_secret(kubeconfig: Path | str, *, wait_for_pods: float = 60.0) -> bool:
    """The seed's rotation: once wordpress pods run, re-create mysql-pass (abc456).

    Returns False when the secret was already rotated (a re-run of the demo).
    """
    applier = Applier(kubeconfig)
    core = applier.core()
    secret = core.read_namespaced_secret("mysql-pass", "default")
    current = base64.b64decode((secret.data or {}).get("password", "")).decode()
    if current == ROTATED_PASSWORD:
        return False
    deadline = time.monotonic() + wait_for_pods
    while time.monotonic() < deadline:
        pods = core.list_namespaced_pod("default", label_selector="app=wordpress").items
        if pods and all(p.status.phase == "Running" for p in pods):
            break
        time.sleep(1)
    # Kubernetes timestamps have second resolution: rotate in a later second than the pods
    # started, so "started before the secret changed" is unambiguous (as in the seed).
    time.sleep(2)
    applier.delete(api_version="v1", kind="Secret", name="mysql-pass", namespace="default")
    applier.create(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {
                "name": "mysql-pass",
                "namespace": "default",
                "labels": {"app": "wordpress"},
            },
            "type": "Opaque",
            "stringData": {"password": ROTATED_PASSWORD},
        }
    )
    return True
