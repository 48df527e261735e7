"""The simulator: deterministic by seed, realistic in composition, consistent under churn."""

from __future__ import annotations

from collections import Counter

import orjson
import pytest

from topolog.core import simulate
from topolog.core.envelope import EventType

NOW = 1_700_000_000.0


def _run(seed: int, pods: int, steps: int = 0) -> list[simulate.Event]:
    sim = simulate.Simulator(seed=seed, pods=pods, now=NOW)
    events = sim.initial()
    for i in range(steps):
        events.extend(sim.churn(NOW + i))
    return events


def _dump(events: list[simulate.Event]) -> bytes:
    return orjson.dumps([(e.type.value, e.object) for e in events])


def test_same_seed_gives_the_same_cluster_and_churn() -> None:
    assert _dump(_run(7, 300, steps=200)) == _dump(_run(7, 300, steps=200))


def test_another_seed_gives_another_cluster() -> None:
    assert _dump(_run(7, 300)) != _dump(_run(8, 300))


@pytest.mark.parametrize("pods", [1, 37, 1000])
def test_size_is_the_pod_count_with_about_two_and_a_half_objects_each(pods: int) -> None:
    kinds = Counter(e.object["kind"] for e in _run(3, pods))
    assert kinds["Pod"] == pods
    if pods >= 1000:
        assert 2.2 <= sum(kinds.values()) / pods <= 2.8


def test_every_kind_of_the_seed_is_generated() -> None:
    kinds = {e.object["kind"] for e in _run(3, 1000)}
    assert kinds >= {
        "Namespace", "Node", "Deployment", "ReplicaSet", "Pod", "Service", "Ingress",
        "NetworkPolicy", "PersistentVolumeClaim", "PersistentVolume", "StorageClass",
        "Secret", "ConfigMap", "Job", "CronJob", "StatefulSet",
    }  # fmt: skip


def test_owners_and_references_exist_before_they_are_used() -> None:
    seen_uids: set[str] = set()
    names: set[tuple[str, str, str]] = set()
    for event in _run(5, 500):
        obj = event.object
        meta = obj["metadata"]
        for owner in meta.get("ownerReferences", []):
            assert owner["uid"] in seen_uids, f"{obj['kind']} {meta['name']} before its owner"
        if obj["kind"] == "Pod":
            ns = meta["namespace"]
            for volume in obj["spec"].get("volumes", []):
                if "configMap" in volume:
                    assert ("ConfigMap", ns, volume["configMap"]["name"]) in names
                if "persistentVolumeClaim" in volume:
                    claim = volume["persistentVolumeClaim"]["claimName"]
                    assert ("PersistentVolumeClaim", ns, claim) in names
            for env in obj["spec"]["containers"][0].get("env", []):
                ref = env.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    assert ("Secret", ns, ref["name"]) in names
        seen_uids.add(meta["uid"])
        names.add((obj["kind"], meta.get("namespace", ""), meta["name"]))


def test_churn_only_touches_live_objects_and_versions_increase() -> None:
    live: set[str] = set()
    last_version = 0
    types = Counter()
    for event in _run(11, 400, steps=500):
        k = simulate.key(event.object)
        version = int(event.object["metadata"]["resourceVersion"])
        assert version > last_version
        last_version = version
        types[event.type] += 1
        if event.type is EventType.ADDED:
            assert k not in live
            live.add(k)
        else:
            assert k in live, f"{event.type} of {k}, which does not exist"
            if event.type is EventType.DELETED:
                live.discard(k)
    assert types[EventType.MODIFIED] and types[EventType.DELETED]


def test_churn_includes_rolling_updates_and_crash_loops() -> None:
    sim = simulate.Simulator(seed=2, pods=200, now=NOW)
    sim.initial()
    events = [e for i in range(300) for e in sim.churn(NOW + i)]
    new_replicasets = [
        e for e in events if e.type is EventType.ADDED and e.object["kind"] == "ReplicaSet"
    ]
    crashing = [
        e
        for e in events
        if e.object["kind"] == "Pod"
        and "waiting" in e.object["status"]["containerStatuses"][0]["state"]
    ]
    assert new_replicasets and crashing


def test_cluster_mode_leaves_controller_made_objects_to_the_controllers() -> None:
    for event in _run(4, 100):
        out = simulate.for_cluster(event.object)
        if event.object["kind"] in {"Pod", "ReplicaSet", "Job"}:
            assert out is None
        else:
            assert out is not None
            assert "uid" not in out["metadata"] and "resourceVersion" not in out["metadata"]
