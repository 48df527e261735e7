"""A seeded, deterministic synthetic cluster and its churn.

Flows in: a seed, a size (pods) and the time to stamp objects with (``now``).
Flows out: ``Event``s — first every object of the cluster as ADDED, dependencies first
(``Simulator.initial``), then churn steps (``Simulator.churn``): rolling updates, crash
loops, label changes and deletions. ``producers.simulation`` publishes them to Kafka,
or applies the root objects (``for_cluster``) to a control plane, where controllers and
kwok make the rest.

Same seed and size → the same objects and the same churn, byte for byte. There are about
2.5 objects per pod: namespaces; nodes; one StorageClass; apps that are Deployments
(→ ReplicaSet → Pods, a Service, a ConfigMap, sometimes a Secret, an Ingress, a
NetworkPolicy), StatefulSets (→ Pods, each with a PVC bound to a PV, a headless Service)
or CronJobs (→ Job → Pod). Pods carry ownerReferences, reference their ConfigMap and
Secret (volume, ``valueFrom``, ``envFrom``) and have env ``value``s (sanitizing drops them).
"""

from __future__ import annotations

import base64
import copy
import hashlib
import math
import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from topolog.core.envelope import EventType

Obj = dict[str, Any]

PODS_PER_NODE = 50
PODS_PER_NAMESPACE = 250
#: Kinds a control plane's controllers create themselves (not applied in cluster mode).
DERIVED_KINDS = frozenset({"ReplicaSet", "Pod", "Job"})
_TEAMS = ("payments", "search", "checkout", "identity", "catalog", "shipping", "ads", "ml")
_ROLES = ("api", "web", "worker", "cache", "db", "queue", "auth", "gateway", "report")


@dataclass(frozen=True, slots=True)
class Event:
    type: EventType
    object: Obj


@dataclass(slots=True)
class _App:
    """One Deployment and what it owns (the only apps that churn)."""

    namespace: str
    name: str
    replicaset: str
    pods: list[str] = field(default_factory=list)
    old_replicasets: list[str] = field(default_factory=list)
    version: int = 1


def key(obj: Obj) -> str:
    meta = obj["metadata"]
    return f"{obj['kind']}/{meta.get('namespace', '')}/{meta['name']}"


class Simulator:
    """The synthetic cluster's state; every method is deterministic given the seed."""

    def __init__(self, *, seed: int, pods: int, now: float) -> None:
        self.rng = random.Random(seed)
        self.seed = seed
        self.size = max(1, pods)
        self.now = now
        self.objects: dict[str, Obj] = {}
        self.revision = 0
        self.apps: list[_App] = []
        self.nodes: list[str] = []

    # -- the initial cluster -------------------------------------------------------------

    def initial(self) -> list[Event]:
        """Every object of a fresh cluster, dependencies before dependents."""
        if self.objects:
            raise RuntimeError("initial() already ran")
        out: list[Event] = []
        self.nodes = [f"sim-node-{i:04d}" for i in range(math.ceil(self.size / PODS_PER_NODE))]
        for name in self.nodes:
            out.append(self._add(self._node(name)))
        out.append(self._add(_storage_class()))
        namespaces = math.ceil(self.size / PODS_PER_NAMESPACE)
        ns_names = [f"{_TEAMS[i % len(_TEAMS)]}-{i:03d}" for i in range(namespaces)]
        for ns in ns_names:
            out.append(self._add(self._meta("v1", "Namespace", ns, None, labels={"team": ns})))
        made = 0
        index = 0
        while made < self.size:
            ns = ns_names[min(made // PODS_PER_NAMESPACE, namespaces - 1)]
            name = f"{self.rng.choice(_ROLES)}-{index:05d}"
            index += 1
            roll = self.rng.random()
            budget = self.size - made
            if roll < 0.8 or budget < 2:
                replicas = min(budget, self.rng.randint(1, 7))
                out.extend(self._deployment_app(ns, name, replicas))
            elif roll < 0.9:
                replicas = min(budget, self.rng.randint(1, 3))
                out.extend(self._statefulset_app(ns, name, replicas))
            else:
                replicas = 1
                out.extend(self._cronjob_app(ns, name))
            made += replicas
        return out

    def _deployment_app(self, ns: str, name: str, replicas: int) -> list[Event]:
        out: list[Event] = []
        labels = {"app": name, "tier": self.rng.choice(("frontend", "backend"))}
        config = self._meta("v1", "ConfigMap", f"{name}-config", ns, labels={"app": name})
        config["data"] = {"LOG_LEVEL": "info", "config.yaml": f"name: {name}\n"}
        out.append(self._add(config))
        secret_name = None
        if self.rng.random() < 0.5:
            secret_name = f"{name}-credentials"
            secret = self._meta("v1", "Secret", secret_name, ns, labels={"app": name})
            secret["type"] = "Opaque"
            secret["data"] = {"password": _b64(self.rng.getrandbits(64))}
            out.append(self._add(secret))
        template = self._pod_template(labels, config["metadata"]["name"], secret_name, None)
        deployment = self._meta("apps/v1", "Deployment", name, ns, labels=labels)
        deployment["spec"] = {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": template,
        }
        deployment["status"] = _replica_status(replicas)
        out.append(self._add(deployment))
        app = _App(namespace=ns, name=name, replicaset="")
        out.extend(self._rollout(app, deployment))
        self.apps.append(app)
        service = self._service(ns, name, {"app": name}, headless=False)
        out.append(self._add(service))
        if self.rng.random() < 0.25:
            out.append(self._add(self._ingress(ns, name)))
        if self.rng.random() < 1 / 3:
            out.append(self._add(self._network_policy(ns, name)))
        return out

    def _rollout(self, app: _App, deployment: Obj) -> list[Event]:
        """A new ReplicaSet for the deployment's current template, and its pods."""
        out: list[Event] = []
        template = deployment["spec"]["template"]
        digest = hashlib.sha1(repr(template).encode()).hexdigest()[:10]
        rs_name = f"{app.name}-{digest}"
        labels = {**template["metadata"]["labels"], "pod-template-hash": digest}
        replicaset = self._meta(
            "apps/v1", "ReplicaSet", rs_name, app.namespace, labels=labels, owner=deployment
        )
        replicas = deployment["spec"]["replicas"]
        replicaset["spec"] = {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": app.name, "pod-template-hash": digest}},
            "template": {**template, "metadata": {"labels": labels}},
        }
        replicaset["status"] = _replica_status(replicas)
        out.append(self._add(replicaset))
        app.replicaset = rs_name
        app.pods = []
        for _ in range(replicas):
            out.append(self._add(self._pod_for(app, replicaset)))
        return out

    def _pod_for(self, app: _App, replicaset: Obj) -> Obj:
        suffix = "".join(self.rng.choice("bcdfghjklmnpqrstvwxz2456789") for _ in range(5))
        name = f"{replicaset['metadata']['name']}-{suffix}"
        template = replicaset["spec"]["template"]
        pod = self._pod(name, app.namespace, template, owner=replicaset)
        app.pods.append(name)
        return pod

    def _statefulset_app(self, ns: str, name: str, replicas: int) -> list[Event]:
        out: list[Event] = []
        labels = {"app": name, "tier": "data"}
        service = self._service(ns, name, {"app": name}, headless=True)
        out.append(self._add(service))
        template = self._pod_template(labels, None, None, "data")
        statefulset = self._meta("apps/v1", "StatefulSet", name, ns, labels=labels)
        statefulset["spec"] = {
            "replicas": replicas,
            "serviceName": name,
            "selector": {"matchLabels": {"app": name}},
            "template": template,
            "volumeClaimTemplates": [
                {
                    "metadata": {"name": "data"},
                    "spec": {
                        "accessModes": ["ReadWriteOnce"],
                        "storageClassName": "standard",
                        "resources": {"requests": {"storage": "1Gi"}},
                    },
                }
            ],
        }
        statefulset["status"] = _replica_status(replicas)
        out.append(self._add(statefulset))
        for i in range(replicas):
            claim_name = f"data-{name}-{i}"
            pv_name = f"pv-{ns}-{claim_name}"
            claim = self._meta("v1", "PersistentVolumeClaim", claim_name, ns, labels={"app": name})
            claim["spec"] = {
                "accessModes": ["ReadWriteOnce"],
                "storageClassName": "standard",
                "volumeName": pv_name,
                "resources": {"requests": {"storage": "1Gi"}},
            }
            claim["status"] = {"phase": "Bound"}
            out.append(self._add(claim))
            volume = self._meta("v1", "PersistentVolume", pv_name, None)
            volume["spec"] = {
                "capacity": {"storage": "1Gi"},
                "accessModes": ["ReadWriteOnce"],
                "storageClassName": "standard",
                "hostPath": {"path": f"/data/{pv_name}"},
                "claimRef": {
                    "kind": "PersistentVolumeClaim",
                    "namespace": ns,
                    "name": claim_name,
                    "uid": claim["metadata"]["uid"],
                },
            }
            volume["status"] = {"phase": "Bound"}
            out.append(self._add(volume))
            pod_template = copy.deepcopy(template)
            pod_template["spec"]["volumes"] = [
                {"name": "data", "persistentVolumeClaim": {"claimName": claim_name}}
            ]
            pod = self._pod(f"{name}-{i}", ns, pod_template, owner=statefulset)
            out.append(self._add(pod))
        return out

    def _cronjob_app(self, ns: str, name: str) -> list[Event]:
        labels = {"app": name, "tier": "batch"}
        template = self._pod_template(labels, None, None, None)
        template["spec"]["restartPolicy"] = "OnFailure"
        cronjob = self._meta("batch/v1", "CronJob", name, ns, labels=labels)
        cronjob["spec"] = {
            "schedule": f"{self.rng.randint(0, 59)} * * * *",
            "suspend": False,
            "jobTemplate": {"spec": {"template": template}},
        }
        job_name = f"{name}-{self.rng.randint(28000000, 29000000)}"
        job = self._meta("batch/v1", "Job", job_name, ns, labels=labels, owner=cronjob)
        job["spec"] = {"parallelism": 1, "completions": 1, "template": template}
        job["status"] = {"succeeded": 1, "active": 0, "failed": 0}
        pod = self._pod(f"{job_name}-{_hex5(self.rng.getrandbits(20))}", ns, template, owner=job)
        pod["status"]["phase"] = "Succeeded"
        for status in pod["status"]["containerStatuses"]:
            status["ready"] = False
            status["state"] = {"terminated": {"exitCode": 0, "reason": "Completed"}}
        return [self._add(cronjob), self._add(job), self._add(pod)]

    # -- churn -------------------------------------------------------------------------

    def churn(self, now: float) -> list[Event]:
        """One churn step: a rolling update, a crash loop, a label change or a deletion."""
        self.now = now
        if not self.apps:
            return []
        roll = self.rng.random()
        app = self.rng.choice(self.apps)
        if roll < 0.2:
            return self._rolling_update(app)
        if not app.pods:
            return []
        pod_name = self.rng.choice(app.pods)
        if roll < 0.5:
            return self._crash_loop(app, pod_name)
        if roll < 0.8:
            return self._relabel(app, pod_name)
        return self._replace_pod(app, pod_name)

    def _rolling_update(self, app: _App) -> list[Event]:
        deployment = self._get("Deployment", app.namespace, app.name)
        app.version += 1
        template = deployment["spec"]["template"]
        image = template["spec"]["containers"][0]["image"]
        template["spec"]["containers"][0]["image"] = f"{image.rsplit(':', 1)[0]}:1.{app.version}"
        deployment["metadata"]["generation"] = deployment["metadata"].get("generation", 1) + 1
        out = [self._modify(deployment)]
        old_rs = self._get("ReplicaSet", app.namespace, app.replicaset)
        old_pods = list(app.pods)
        out.extend(self._rollout(app, deployment))
        for pod in old_pods:
            out.append(self._delete("Pod", app.namespace, pod))
        old_rs["spec"]["replicas"] = 0
        old_rs["status"] = _replica_status(0)
        out.append(self._modify(old_rs))
        # Keep one old ReplicaSet for rollback, as revisionHistoryLimit would (smaller).
        app.old_replicasets.append(old_rs["metadata"]["name"])
        while len(app.old_replicasets) > 1:
            out.append(self._delete("ReplicaSet", app.namespace, app.old_replicasets.pop(0)))
        return out

    def _crash_loop(self, app: _App, pod_name: str) -> list[Event]:
        pod = self._get("Pod", app.namespace, pod_name)
        status = pod["status"]["containerStatuses"][0]
        if "waiting" in status["state"]:  # recovered
            status["state"] = {"running": {"startedAt": _iso(self.now)}}
            status["ready"] = True
        else:
            status["restartCount"] += 1
            status["state"] = {"waiting": {"reason": "CrashLoopBackOff"}}
            status["lastState"] = {"terminated": {"exitCode": 1, "reason": "Error"}}
            status["ready"] = False
        ready = all(s["ready"] for s in pod["status"]["containerStatuses"])
        pod["status"]["conditions"] = _pod_conditions(ready)
        return [self._modify(pod)]

    def _relabel(self, app: _App, pod_name: str) -> list[Event]:
        if self.rng.random() < 0.5:
            target = self._get("Pod", app.namespace, pod_name)
        else:
            target = self._get("Deployment", app.namespace, app.name)
        labels = target["metadata"].setdefault("labels", {})
        labels["canary"] = "true" if labels.get("canary") != "true" else "false"
        return [self._modify(target)]

    def _replace_pod(self, app: _App, pod_name: str) -> list[Event]:
        out = [self._delete("Pod", app.namespace, pod_name)]
        app.pods.remove(pod_name)
        replicaset = self._get("ReplicaSet", app.namespace, app.replicaset)
        out.append(self._add(self._pod_for(app, replicaset)))
        return out

    # -- object builders ------------------------------------------------------------------

    def _uid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def _meta(
        self,
        api_version: str,
        kind: str,
        name: str,
        namespace: str | None,
        *,
        labels: dict[str, str] | None = None,
        owner: Obj | None = None,
    ) -> Obj:
        meta: Obj = {"name": name, "uid": self._uid(), "creationTimestamp": _iso(self.now)}
        if namespace is not None:
            meta["namespace"] = namespace
        if labels:
            meta["labels"] = dict(labels)
        if owner is not None:
            meta["ownerReferences"] = [
                {
                    "apiVersion": owner["apiVersion"],
                    "kind": owner["kind"],
                    "name": owner["metadata"]["name"],
                    "uid": owner["metadata"]["uid"],
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ]
        return {"apiVersion": api_version, "kind": kind, "metadata": meta}

    def _node(self, name: str) -> Obj:
        node = self._meta(
            "v1",
            "Node",
            name,
            None,
            labels={"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "type": "kwok"},
        )
        node["metadata"]["annotations"] = {"kwok.x-k8s.io/node": "fake"}
        index = len(self.objects)
        node["status"] = {
            "addresses": [
                {"type": "InternalIP", "address": f"10.0.{index // 250}.{index % 250 + 1}"},
                {"type": "Hostname", "address": name},
            ],
            "allocatable": {"cpu": "32", "memory": "128Gi", "pods": "110"},
            "capacity": {"cpu": "32", "memory": "128Gi", "pods": "110"},
            "conditions": [{"type": "Ready", "status": "True"}],
            "nodeInfo": {
                "architecture": "amd64",
                "operatingSystem": "linux",
                "kernelVersion": "6.1.0-sim",
                "kubeletVersion": "v1.34.0-kwok",
            },
        }
        return node

    def _pod_template(
        self, labels: dict[str, str], config: str | None, secret: str | None, claim: str | None
    ) -> Obj:
        role = labels["app"].split("-")[0]
        main: Obj = {
            "name": role,
            "image": f"registry.example/{role}:1.1",
            "ports": [{"containerPort": 8080, "protocol": "TCP", "name": "http"}],
            "env": [{"name": "SIM_SEED", "value": str(self.seed)}],
        }
        if config is not None:
            main["envFrom"] = [{"configMapRef": {"name": config}}]
            main["volumeMounts"] = [{"name": "config", "mountPath": "/etc/app"}]
        if secret is not None:
            main["env"].append(
                {
                    "name": "PASSWORD",
                    "valueFrom": {"secretKeyRef": {"name": secret, "key": "password"}},
                }
            )
        if claim is not None:
            main["volumeMounts"] = [{"name": claim, "mountPath": "/data"}]
        containers = [main]
        if self.rng.random() < 0.3:
            containers.append({"name": "proxy", "image": "registry.example/proxy:2.0"})
        spec: Obj = {"containers": containers}
        if self.rng.random() < 0.2:
            spec["initContainers"] = [
                {"name": "migrate", "image": f"registry.example/{role}-migrate:1.0"}
            ]
        if config is not None:
            spec["volumes"] = [{"name": "config", "configMap": {"name": config}}]
        return {"metadata": {"labels": dict(labels)}, "spec": spec}

    def _pod(self, name: str, namespace: str, template: Obj, *, owner: Obj) -> Obj:
        labels = dict(template["metadata"]["labels"])
        pod = self._meta("v1", "Pod", name, namespace, labels=labels, owner=owner)
        pod["spec"] = copy.deepcopy(template["spec"])
        pod["spec"]["nodeName"] = self.rng.choice(self.nodes)
        n = self.rng.getrandbits(16)
        pod["status"] = {
            "phase": "Running",
            "podIP": f"10.244.{n >> 8}.{n & 0xFF}",
            "conditions": _pod_conditions(True),
            "initContainerStatuses": [
                {
                    "name": c["name"],
                    "ready": True,
                    "restartCount": 0,
                    "state": {"terminated": {"exitCode": 0, "reason": "Completed"}},
                }
                for c in pod["spec"].get("initContainers", [])
            ],
            "containerStatuses": [
                {
                    "name": c["name"],
                    "image": c["image"],
                    "ready": True,
                    "restartCount": 0,
                    "containerID": f"containerd://{self.rng.getrandbits(64):016x}",
                    "state": {"running": {"startedAt": _iso(self.now)}},
                }
                for c in pod["spec"]["containers"]
            ],
        }
        return pod

    def _service(self, ns: str, name: str, selector: dict[str, str], *, headless: bool) -> Obj:
        service = self._meta("v1", "Service", name, ns, labels={"app": name})
        n = self.rng.getrandbits(16)
        service["spec"] = {
            "type": "ClusterIP",
            "clusterIP": "None" if headless else f"10.96.{n >> 8}.{n & 0xFF}",
            "selector": dict(selector),
            "ports": [{"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"}],
        }
        return service

    def _ingress(self, ns: str, name: str) -> Obj:
        ingress = self._meta("networking.k8s.io/v1", "Ingress", name, ns, labels={"app": name})
        ingress["spec"] = {
            "rules": [
                {
                    "host": f"{name}.{ns}.example.com",
                    "http": {
                        "paths": [
                            {
                                "path": "/",
                                "pathType": "Prefix",
                                "backend": {"service": {"name": name, "port": {"number": 80}}},
                            }
                        ]
                    },
                }
            ]
        }
        return ingress

    def _network_policy(self, ns: str, name: str) -> Obj:
        policy = self._meta(
            "networking.k8s.io/v1", "NetworkPolicy", f"{name}-ingress", ns, labels={"app": name}
        )
        policy["spec"] = {
            "podSelector": {"matchLabels": {"app": name}},
            "policyTypes": ["Ingress"],
            "ingress": [
                {
                    "from": [{"podSelector": {"matchLabels": {"tier": "frontend"}}}],
                    "ports": [{"protocol": "TCP", "port": 8080}],
                }
            ],
        }
        return policy

    # -- state ----------------------------------------------------------------------------

    def _stamp(self, obj: Obj) -> None:
        self.revision += 1
        obj["metadata"]["resourceVersion"] = str(self.revision)

    def _add(self, obj: Obj) -> Event:
        self._stamp(obj)
        self.objects[key(obj)] = obj
        return Event(EventType.ADDED, copy.deepcopy(obj))

    def _modify(self, obj: Obj) -> Event:
        self._stamp(obj)
        return Event(EventType.MODIFIED, copy.deepcopy(obj))

    def _delete(self, kind: str, namespace: str, name: str) -> Event:
        obj = self.objects.pop(f"{kind}/{namespace}/{name}")
        self._stamp(obj)
        return Event(EventType.DELETED, copy.deepcopy(obj))

    def _get(self, kind: str, namespace: str, name: str) -> Obj:
        return self.objects[f"{kind}/{namespace}/{name}"]


def for_cluster(obj: Obj) -> Obj | None:
    """What to send to a real API server for a simulated object; None for objects its
    controllers create (ReplicaSets, Jobs, Pods). Server-owned fields are removed."""
    if obj["kind"] in DERIVED_KINDS:
        return None
    out = copy.deepcopy(obj)
    meta = out["metadata"]
    for field_name in ("uid", "resourceVersion", "creationTimestamp", "ownerReferences"):
        meta.pop(field_name, None)
    if out["kind"] != "Node":
        out.pop("status", None)
    if out["kind"] == "PersistentVolume":
        out["spec"]["claimRef"].pop("uid", None)
    if out["kind"] == "PersistentVolumeClaim":
        out["spec"].pop("volumeName", None)
    return out


def _storage_class() -> Obj:
    return {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {"name": "standard", "uid": "00000000-0000-4000-8000-000000000001"},
        "provisioner": "kubernetes.io/no-provisioner",
        "volumeBindingMode": "Immediate",
    }


def _replica_status(replicas: int) -> Obj:
    return {
        "replicas": replicas,
        "readyReplicas": replicas,
        "availableReplicas": replicas,
        "updatedReplicas": replicas,
    }


def _pod_conditions(ready: bool) -> list[Obj]:
    value = "True" if ready else "False"
    return [
        {"type": "PodScheduled", "status": "True"},
        {"type": "Initialized", "status": "True"},
        {"type": "ContainersReady", "status": value},
        {"type": "Ready", "status": value},
    ]


def _iso(now: float) -> str:
    return datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _b64(value: int) -> str:
    return base64.b64encode(value.to_bytes(8, "big")).decode()


def _hex5(value: int) -> str:
    return f"{value:05x}"
