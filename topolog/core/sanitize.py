"""Sanitizing: the security boundary between a cluster's objects and the event log.

Flows in: a Kubernetes object as the API (or a manifest) gives it.
Flows out: a new object (the input is never mutated) fit to be stored for ever in
Kafka and Redis and shown to anyone who can read the topology:

- Secret: ``data`` and ``stringData`` are dropped; their keys are kept in ``dataKeys``.
  (Producers watch Secrets as PartialObjectMetadata, so values never even reach them;
  this is the second line, for ingested manifests and anything else.)
- ConfigMap: ``data`` and ``binaryData`` values are dropped, keys kept in ``dataKeys``.
- Every container list (``containers``, ``initContainers``, ``ephemeralContainers``)
  anywhere in the object — a pod's spec, a workload's pod template, a CronJob's job
  template, a custom resource's embedded template — loses its env ``value``s; env
  ``name``s, ``valueFrom`` and ``envFrom`` references are kept.
- ``metadata.managedFields`` and the ``kubectl.kubernetes.io/last-applied-configuration``
  annotation (a full copy of the applied manifest, values included) are removed, at
  the top level and in embedded templates.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"

_CONTAINER_LISTS = frozenset({"containers", "initContainers", "ephemeralContainers"})
_VALUE_FIELDS = {
    "Secret": ("data", "stringData"),
    "ConfigMap": ("data", "binaryData"),
}


def sanitize(obj: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``obj`` without secret values, env values or bookkeeping fields."""
    out: dict[str, Any] = _walk(obj)
    value_fields = _VALUE_FIELDS.get(str(obj.get("kind")))
    if value_fields is not None:
        keys: set[str] = set()
        for name in value_fields:
            values = out.pop(name, None)
            if isinstance(values, Mapping):
                keys.update(str(k) for k in values)
        if keys or "dataKeys" in out:
            out["dataKeys"] = sorted(keys | set(out.get("dataKeys") or ()))
    return out


def _walk(value: Any) -> Any:
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if key == "metadata" and isinstance(item, Mapping):
                out[key] = _metadata(item)
            elif key in _CONTAINER_LISTS and isinstance(item, list):
                out[key] = [_container(c) for c in item]
            else:
                out[key] = _walk(item)
        return out
    if isinstance(value, list):
        return [_walk(item) for item in value]
    return value


def _metadata(meta: Mapping[str, Any]) -> dict[str, Any]:
    out = {k: _walk(v) for k, v in meta.items() if k != "managedFields"}
    annotations = out.get("annotations")
    if isinstance(annotations, dict) and LAST_APPLIED in annotations:
        out["annotations"] = {k: v for k, v in annotations.items() if k != LAST_APPLIED}
    return out


def _container(container: Any) -> Any:
    if not isinstance(container, Mapping):
        return _walk(container)
    out = _walk(container)
    env = container.get("env")
    if isinstance(env, list):
        # Only the literal value is secret-bearing; valueFrom names where it comes from.
        # Entries that are not mappings are malformed; dropped rather than trusted.
        out["env"] = [
            {k: _walk(v) for k, v in var.items() if k != "value"}
            for var in env
            if isinstance(var, Mapping)
        ]
    return out
