"""The producer against the real kube-apiserver and Kafka: nothing lost, nothing rewritten."""

from __future__ import annotations

import asyncio
import base64
import logging
import signal
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import REGISTRY

from producers import kube, watching
from topolog.core import resources
from topolog.core.envelope import Envelope, EventType, marker_partitions, object_key
from topolog.platform.state import Endpoints

from . import support
from .support import Run

pytestmark = pytest.mark.integration

ALL_KINDS = {r.kind for r in resources.BUILTIN}


def _meta(name: str, ns: str | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "labels": {"it": "producer"}}
    if ns:
        meta["namespace"] = ns
    return meta


def _pod_spec(env_value: str = "plain") -> dict[str, Any]:
    return {
        "containers": [
            {"name": "app", "image": "busybox", "env": [{"name": "V", "value": env_value}]}
        ],
        "restartPolicy": "Always",
    }


def every_kind(ns: str, tag: str) -> list[dict[str, Any]]:
    """One object of every watched kind (cluster-scoped ones named after ``tag``)."""
    sel = {"matchLabels": {"app": f"app-{tag}"}}
    template = {"metadata": {"labels": {"app": f"app-{tag}"}}, "spec": _pod_spec()}
    job_template = {"metadata": {}, "spec": {**_pod_spec(), "restartPolicy": "Never"}}
    return [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": _meta("cm", ns), "data": {"k": "v"}},
        {"apiVersion": "v1", "kind": "Secret", "metadata": _meta("sec", ns), "data": {"k": "dg=="}},
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _meta("sa", ns)},
        {"apiVersion": "v1", "kind": "Service", "metadata": _meta("svc", ns),
         "spec": {"selector": {"app": f"app-{tag}"}, "ports": [{"port": 80}]}},
        {"apiVersion": "v1", "kind": "Endpoints", "metadata": _meta("manual", ns),
         "subsets": [{"addresses": [{"ip": "10.1.2.3"}], "ports": [{"port": 80}]}]},
        {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
         "metadata": {**_meta("manual-1", ns), "labels": {"kubernetes.io/service-name": "manual"}},
         "addressType": "IPv4", "endpoints": [{"addresses": ["10.1.2.3"]}],
         "ports": [{"port": 80}]},
        {"apiVersion": "v1", "kind": "Pod", "metadata": _meta("bare", ns), "spec": _pod_spec()},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": _meta("deploy", ns),
         "spec": {"replicas": 1, "selector": sel, "template": template}},
        {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": _meta("sts", ns),
         "spec": {"replicas": 0, "serviceName": "svc", "selector": sel, "template": template}},
        {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": _meta("ds", ns),
         "spec": {"selector": sel, "template": template}},
        {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": _meta("rs", ns),
         "spec": {"replicas": 0, "selector": sel, "template": template}},
        {"apiVersion": "v1", "kind": "ReplicationController", "metadata": _meta("rc", ns),
         "spec": {"replicas": 0, "selector": {"app": f"app-{tag}"}, "template": template}},
        {"apiVersion": "batch/v1", "kind": "Job", "metadata": _meta("job", ns),
         "spec": {"template": job_template}},
        {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": _meta("cron", ns),
         "spec": {"schedule": "0 0 1 1 *", "suspend": True,
                  "jobTemplate": {"spec": {"template": job_template}}}},
        {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": _meta("ing", ns),
         "spec": {"defaultBackend": {"service": {"name": "svc", "port": {"number": 80}}}}},
        {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": _meta("np", ns),
         "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}},
        {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": _meta("pvc", ns),
         "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": f"sc-{tag}",
                  "resources": {"requests": {"storage": "1Gi"}}}},
        {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
         "metadata": _meta("hpa", ns),
         "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment",
                                     "name": "deploy"}, "minReplicas": 1, "maxReplicas": 2}},
        {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": _meta(f"pv-{tag}"),
         "spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
                  "storageClassName": f"sc-{tag}", "hostPath": {"path": f"/tmp/{tag}"}}},
        {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": _meta(f"sc-{tag}"),
         "provisioner": "kubernetes.io/no-provisioner"},
        {"apiVersion": "v1", "kind": "Node", "metadata": _meta(f"node-{tag}"), "spec": {}},
    ]  # fmt: skip


def by_key(events: list[Envelope]) -> dict[str, list[Envelope]]:
    out: dict[str, list[Envelope]] = defaultdict(list)
    for e in events:
        if e.type is not EventType.SYNCED:
            out[e.key].append(e)
    return out


def test_create_update_delete_of_every_kind_appears_in_order(run: Run) -> None:
    tag = uuid.uuid4().hex[:6]
    ns = f"it-{tag}"
    with support.producer(run):
        support.eventually(lambda: support.synced(run, ALL_KINDS), what="initial sync")
        # Once every kind is listed, one cluster marker says the initial list is complete:
        # a copy on every partition.
        [(at, copies)] = support.eventually(
            lambda: list(support.cluster_markers(run).items()), what="cluster marker"
        )
        assert at >= support.first_lists_closed(run, ALL_KINDS)
        partitions = support.partitions(run)
        assert len(copies) == partitions and {marker_partitions(c) for c in copies} == {partitions}
        support.kubectl(run, "create", "namespace", ns)
        support.kubectl(run, "label", "namespace", ns, "touched=yes")
        objects = every_kind(ns, tag)
        support.apply(run, objects)
        for obj in objects:
            name = f"{obj['kind'].lower()}/{obj['metadata']['name']}"
            args = ["-n", ns] if "namespace" in obj["metadata"] else []
            support.kubectl(run, "label", *args, name, "touched=yes", "--overwrite")
        for obj in objects:
            name = f"{obj['kind'].lower()}/{obj['metadata']['name']}"
            args = ["-n", ns] if "namespace" in obj["metadata"] else []
            support.kubectl(run, "delete", *args, name, "--wait=false")
        support.kubectl(run, "delete", "namespace", ns, "--wait=false")
        keys = {
            object_key(
                run.cluster, o["kind"], o["metadata"].get("namespace", ""), o["metadata"]["name"]
            )
            for o in objects
        } | {object_key(run.cluster, "Namespace", "", ns)}

        def all_deleted() -> dict[str, list[Envelope]] | None:
            history = by_key(support.envelopes(run))
            done = all(k in history and history[k][-1].type is EventType.DELETED for k in keys)
            return history if done else None

        history = support.eventually(all_deleted, what="every object's DELETED", timeout=180)
    for key in sorted(keys):
        events = history[key]
        assert events[0].type is EventType.ADDED, key
        assert events[-1].type is EventType.DELETED, key
        labels = [e.object["metadata"].get("labels", {}) for e in events]
        assert any(lab.get("touched") == "yes" for lab in labels), key
        versions = [int(e.resource_version) for e in events]
        assert versions == sorted(versions), f"{key} out of order: {versions}"
        assert all(e.cluster == run.cluster for e in events)


def _configmap(ns: str, name: str, **labels: str) -> dict[str, Any]:
    meta = {"name": name, "namespace": ns, "labels": labels}
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": {"k": name}}


def _changes_while_stopped(run: Run, *, stop_signal: int, compact: bool) -> None:
    tag = uuid.uuid4().hex[:6]
    ns = f"it-{tag}"
    support.kubectl(run, "create", "namespace", ns)
    try:
        support.apply(run, [_configmap(ns, n) for n in ("keep", "change", "drop")])
        proc = support.start_producer(run, "ConfigMap")
        support.eventually(
            lambda: (
                {"keep", "change", "drop"}
                <= {e.name for e in support.envelopes(run) if e.namespace == ns}
                and support.cluster_markers(run)
            ),
            what="initial objects",
        )
        support.stop(proc, stop_signal)
        support.apply(run, [_configmap(ns, "change", touched="yes"), _configmap(ns, "new")])
        support.kubectl(run, "delete", "-n", ns, "configmap", "drop")
        if compact:
            support.etcd_compact(run)
        with support.producer(run, "ConfigMap"):
            support.eventually(lambda: support.synced(run, {"ConfigMap"}, times=2), what="resync")
            # Each run of the producer closes its initial list once.
            support.eventually(lambda: len(support.cluster_markers(run)) == 2, what="markers")
            copies = [len(c) for c in support.cluster_markers(run).values()]
            assert copies == [support.partitions(run)] * 2
        history = by_key(support.envelopes(run))
        mine = {k.rsplit("/", 1)[1]: [e.type.value for e in v] for k, v in history.items()
                if f"/{ns}/" in k and not k.endswith("/kube-root-ca.crt")}  # fmt: skip
        assert mine == {
            "keep": ["ADDED"],
            "change": ["ADDED", "MODIFIED"],
            "drop": ["ADDED", "DELETED"],
            "new": ["ADDED"],
        }
        # Nothing anywhere in the cluster was published twice (the restart rewrote nothing).
        for key, events in history.items():
            versions = [(e.type, e.resource_version) for e in events]
            assert len(versions) == len(set(versions)), f"{key} republished: {versions}"
            assert [e.type for e in events].count(EventType.ADDED) == len(
                {e.uid for e in events}
            ), key
    finally:
        support.kubectl(run, "delete", "namespace", ns, "--wait=false")


def test_producer_killed_and_restarted_loses_nothing_and_rewrites_nothing(run: Run) -> None:
    _changes_while_stopped(run, stop_signal=signal.SIGKILL, compact=False)


def test_after_etcd_compaction_a_restart_publishes_the_missed_deletes(run: Run) -> None:
    _changes_while_stopped(run, stop_signal=signal.SIGTERM, compact=True)


#: Events: kube-apiserver keeps no watch cache for them (its default ``--watch-cache-sizes``),
#: so their watches are served by etcd and an etcd-compacted resourceVersion is answered
#: 410 Gone at once. A watch-cached kind (ConfigMap, ...) is answered from the apiserver's
#: own event window, which etcd compaction does not shorten: on a fresh apiserver it still
#: starts near resourceVersion 1, so a watch "from 1" is served (history replayed, then
#: bookmarks) instead of expiring, and a test waiting for the relist waits for ever.
EVENTS = resources.Resource(group="", version="v1", plural="events", kind="Event", namespaced=True)


def _event(ns: str, name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": name, "namespace": ns},
        "involvedObject": {"apiVersion": "v1", "kind": "Namespace", "name": ns, "namespace": ns},
        "reason": "Probe",
        "message": f"{name} of the expired-resourceVersion test",
        "type": "Normal",
    }


#: How long a list (initial or after 410 Gone) may take before the test fails (it takes ~1 s).
LIST_DEADLINE = 60.0


async def _until_synced(stream: AsyncIterator[Envelope], *, what: str) -> list[Envelope]:
    """The events up to and including the next SYNCED marker (a list), within LIST_DEADLINE."""
    seen: list[Envelope] = []
    try:
        async with asyncio.timeout(LIST_DEADLINE):
            async for event in stream:
                seen.append(event)
                if event.type is EventType.SYNCED:
                    return seen
    except TimeoutError:
        types = sorted({e.type.value for e in seen})
        raise AssertionError(
            f"no list (SYNCED marker) within {LIST_DEADLINE:.0f}s: {what}; "
            f"{len(seen)} events instead ({', '.join(types) or 'none'})"
        ) from None
    raise AssertionError(f"the reflector stopped before {what}")


async def test_expired_resource_version_relists_and_reconciles(platform: Endpoints) -> None:
    tag = uuid.uuid4().hex[:6]
    ns = f"it-{tag}"
    r = support.new_run(platform)
    support.kubectl(r, "create", "namespace", ns)
    support.apply(r, [_event(ns, "a"), _event(ns, "b")])
    try:
        async with kube.connect(Path(platform.kubeconfig)) as client:
            reflector = watching.Reflector(
                client=client, resource=EVENTS, cluster=r.cluster, published={}
            )
            stream = reflector.events()
            first = await _until_synced(stream, what="the initial list")
            await stream.aclose()  # disconnected
            assert {("a", EventType.ADDED), ("b", EventType.ADDED)} <= {
                (e.name, e.type) for e in first if e.namespace == ns
            }
            support.kubectl(r, "delete", "-n", ns, "event", "a")
            support.etcd_compact(r)
            reflector.resource_version = "1"  # compacted away: the watch is answered 410 Gone
            resumed = reflector.events()
            seen = await _until_synced(
                resumed,
                what="a watch from the compacted resourceVersion 1 should be answered "
                "410 Gone and be followed by a relist",
            )
            await resumed.aclose()
        assert reflector.lists == 2
        assert [(e.type, e.name) for e in seen if e.namespace == ns] == [(EventType.DELETED, "a")]
    finally:
        support.kubectl(r, "delete", "namespace", ns, "--wait=false")


def test_secret_values_never_reach_any_topic(run: Run) -> None:
    canary = f"canary-{uuid.uuid4().hex}"
    encoded = base64.b64encode(canary.encode()).decode()
    ns = f"it-{uuid.uuid4().hex[:6]}"
    support.kubectl(run, "create", "namespace", ns)
    objects = [
        {"apiVersion": "v1", "kind": "Secret", "metadata": _meta("creds", ns),
         "data": {"password": encoded}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": _meta("settings", ns),
         "data": {"token": canary}},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": _meta("web", ns),
         "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                  "template": {"metadata": {"labels": {"app": "web"}},
                               "spec": _pod_spec(env_value=canary)}}},
        {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": _meta("nightly", ns),
         "spec": {"schedule": "0 0 1 1 *", "suspend": True, "jobTemplate": {"spec": {
             "template": {"spec": {**_pod_spec(env_value=canary), "restartPolicy": "Never"}}}}}},
    ]  # fmt: skip
    try:
        with support.producer(run):
            support.apply(run, objects)  # kubectl apply: last-applied-configuration has them all
            support.eventually(
                lambda: (
                    {"Secret", "ConfigMap", "Deployment", "CronJob", "Pod"}
                    <= {e.kind for e in support.envelopes(run) if e.namespace == ns}
                ),
                what="the canary objects and the deployment's pod",
            )
        topics = [t for t in support.all_topics(run) if not t.startswith("__")]
        scanned = support.records(run, topics)
        assert scanned, "nothing scanned"
        for topic, key, value in scanned:
            for needle in (canary.encode(), encoded.encode()):
                assert needle not in key and needle not in value, f"canary leaked into {topic}"
    finally:
        support.kubectl(run, "delete", "namespace", ns, "--wait=false")


#: A kind nobody changes unless a test does (the apiserver's built-in priority classes).
PRIORITY_CLASSES = resources.Resource(
    group="scheduling.k8s.io",
    version="v1",
    plural="priorityclasses",
    kind="PriorityClass",
    namespaced=False,
)


async def test_a_quiet_watch_is_reopened_without_a_warning_and_sees_the_next_change(
    platform: Endpoints, caplog: pytest.LogCaptureFixture
) -> None:
    """The apiserver sends no bookmark for a kind nothing happens to, so its watch is
    silent for the read timeout; that is the end of a watch, not an error."""
    name = f"it-{uuid.uuid4().hex[:6]}"
    r = support.new_run(platform)

    def quiet_watches() -> float:
        sample = REGISTRY.get_sample_value(
            "topolog_producer_quiet_watches_total", {"kind": "PriorityClass"}
        )
        return sample or 0.0

    try:
        async with kube.connect(Path(platform.kubeconfig)) as client:
            reflector = watching.Reflector(
                client=client,
                resource=PRIORITY_CLASSES,
                cluster=r.cluster,
                published={},
                read_timeout=2.0,
            )
            stream = reflector.events()
            await _until_synced(stream, what="the initial list")
            before = quiet_watches()
            with caplog.at_level(logging.INFO, logger="producers.watching"):
                following = asyncio.ensure_future(anext(stream))
                await asyncio.sleep(5.0)  # two read timeouts with nothing to say
                assert not following.done()
                await asyncio.to_thread(
                    support.kubectl, r, "create", "priorityclass", name, "--value=1000"
                )
                event = await asyncio.wait_for(following, 30)
            await stream.aclose()
        assert (event.type, event.name) == (EventType.ADDED, name)
        assert quiet_watches() - before >= 2
        assert reflector.lists == 1
        assert not [rec.getMessage() for rec in caplog.records if rec.levelno >= logging.WARNING]
    finally:
        support.kubectl(r, "delete", "priorityclass", name, "--ignore-not-found")
