"""Server-side apply of manifests to a cluster (the demo scenarios, tests).

Flows in: ``manifests.Manifest`` objects and a kubeconfig.
Flows out: the objects created or updated in the cluster under one field manager;
applying the same files again changes nothing, so re-running the demo is safe.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from kubernetes import client, config, dynamic
from kubernetes.client.rest import ApiException

from topolog.core import manifests

FIELD_MANAGER = "topolog-demo"


class Applier:
    def __init__(self, kubeconfig: Path | str) -> None:
        self._api = config.new_client_from_config(config_file=str(kubeconfig))
        self._dynamic = dynamic.DynamicClient(self._api)

    def apply(self, items: Iterable[manifests.Manifest]) -> list[str]:
        """Apply in file order; returns ``kind/namespace/name`` of each object."""
        done: list[str] = []
        for item in items:
            obj = item.object
            resource = self._dynamic.resources.get(api_version=obj["apiVersion"], kind=obj["kind"])
            namespace = obj["metadata"].get("namespace") or (
                "default" if resource.namespaced else None
            )
            resource.server_side_apply(
                body=obj,
                name=obj["metadata"]["name"],
                namespace=namespace,
                field_manager=FIELD_MANAGER,
                force_conflicts=True,
            )
            done.append(f"{obj['kind']}/{namespace or ''}/{obj['metadata']['name']}")
        return done

    def delete(
        self, *, api_version: str, kind: str, name: str, namespace: str | None = None
    ) -> bool:
        resource = self._dynamic.resources.get(api_version=api_version, kind=kind)
        try:
            resource.delete(name=name, namespace=namespace)
        except ApiException as exc:
            if exc.status == 404:
                return False
            raise
        return True

    def create(self, obj: dict[str, Any]) -> None:
        resource = self._dynamic.resources.get(api_version=obj["apiVersion"], kind=obj["kind"])
        resource.create(body=obj, namespace=obj["metadata"].get("namespace"))

    def core(self) -> client.CoreV1Api:
        return client.CoreV1Api(self._api)
