"""A cluster's initial list raises its alerts once complete, from the graph as it stands.

Mid-list a pod can be derived before the Secret it reads (one reflector per kind): the
Secret is a "Missing" placeholder, DOWN, until the real one replaces it. An alerting
system must not be paged for that; it must be told what is really DOWN when the list
ends.
"""

from __future__ import annotations

from typing import Any

from topolog.core import envelope, graph
from topolog.core.derive import alerts, engine

from . import objects as o


def wordpress_pod(name: str = "wordpress", uid: str = "wp") -> dict[str, Any]:
    secret_env = {"valueFrom": {"secretKeyRef": {"name": "mysql-pass", "key": "password"}}}
    return o.running_pod(
        name, uid=uid, spec={"containers": [{"name": "c", "env": [{"name": "PW", **secret_env}]}]}
    )


def secret() -> dict[str, Any]:
    return o.obj("Secret", "mysql-pass", uid="s1", type="Opaque", dataKeys=["password"])


def cluster_synced(at: float = 1000.0) -> envelope.Envelope:
    return envelope.cluster_synced_marker(cluster=o.CLUSTER, observed_at=at)


def apply_all(d: engine.Deriver, envs: list[envelope.Envelope]) -> list[alerts.Alert]:
    return [a for env in envs for a in d.apply(env).alerts]


def down_ids(d: engine.Deriver) -> set[str]:
    nodes, _ = d.snapshot()
    return {n.id for n in nodes.values() if n.metadata["State"] == graph.State.DOWN.value}


def test_a_pod_listed_before_its_secret_raises_no_alert_for_the_missing_moment() -> None:
    listed = [o.env(o.namespace("default")), o.env(wordpress_pod()), o.env(secret())]
    # Fed as changes, the same events page someone: the Secret "appeared DOWN" (Missing).
    as_changes = apply_all(engine.Deriver(o.CLUSTER, initial_list=False), listed)
    assert [(a.kind, a.new_state, a.reason) for a in as_changes] == [
        ("secret", graph.State.DOWN, "Missing")
    ]
    d = engine.Deriver(o.CLUSTER)
    assert apply_all(d, listed) == []
    assert d.apply(cluster_synced()).alerts == []  # every node UP at the end of the list
    assert down_ids(d) == set() and not d.initial_list


def test_the_end_of_the_list_alerts_every_node_down_as_it_stands() -> None:
    d = engine.Deriver(o.CLUSTER)
    # The Secret never comes, and a pod cannot be scheduled: both really DOWN.
    listed = [o.env(o.namespace("default")), o.env(wordpress_pod()), o.env(o.pending_pod("stuck"))]
    assert apply_all(d, listed) == []
    source = graph.Source("resources", 3, 41)
    found = d.apply(cluster_synced(at=1005.0), source=source).alerts
    assert {a.id for a in found} == down_ids(d)
    assert {(a.kind, a.name) for a in found} == {
        ("secret", "mysql-pass"),
        ("pod", "stuck"),
        ("container", "main"),  # the stuck pod's
    }
    assert all(a.old_state is None and a.new_state is graph.State.DOWN for a in found)
    assert all(a.time == 1005.0 and a.source == source for a in found)
    assert [a.id for a in found] == sorted(a.id for a in found)  # deterministic order


def test_after_the_list_a_change_alerts_at_once_and_a_second_marker_changes_nothing() -> None:
    d = engine.Deriver(o.CLUSTER)
    apply_all(d, [o.env(o.namespace("default")), o.env(secret()), o.env(wordpress_pod())])
    d.apply(cluster_synced())
    gone = d.apply(o.deleted(secret(), at=1010.0)).alerts
    assert [(a.kind, a.old_state, a.new_state) for a in gone] == [
        ("secret", None, graph.State.DOWN)
    ]
    # A producer restarted: it lists again and sends its marker again.
    assert d.apply(cluster_synced(at=1020.0)) == engine.DeriveResult()


def test_the_list_ends_once_every_partition_s_copy_of_the_marker_was_read() -> None:
    """Only per-partition order holds: partition 0's copy can be read before an object of
    partition 1 that was listed before it. The list ends with the last partition's copy."""
    d = engine.Deriver(o.CLUSTER)
    apply_all(d, [o.env(o.namespace("default")), o.env(wordpress_pod())])
    copy = envelope.cluster_synced_marker(cluster=o.CLUSTER, observed_at=1000.0, partitions=2)
    assert d.apply(copy, source=graph.Source("resources", 0, 7)).alerts == []
    # Partition 0 again (a restarted producer's copy) does not stand for partition 1.
    assert d.apply(copy, source=graph.Source("resources", 0, 9)).alerts == []
    assert d.initial_list
    # The Secret, listed before the marker, arrives from partition 1: no "Missing" alert.
    assert d.apply(o.env(secret())).alerts == []
    assert d.apply(copy, source=graph.Source("resources", 1, 3)).alerts == []
    assert not d.initial_list and down_ids(d) == set()


def test_a_marker_that_does_not_say_how_many_partitions_is_the_only_one() -> None:
    bare = envelope.synced_marker(
        cluster=o.CLUSTER, api_version="v1", kind="Cluster", resource_version="", observed_at=1.0
    )
    assert envelope.is_cluster_synced(bare) and envelope.marker_partitions(bare) == 1
    for bad in (0, -2, True, "3", 1.5):
        odd = envelope.Envelope(**{**_fields(bare), "object": {"partitions": bad}})
        assert envelope.marker_partitions(odd) == 1, bad
    d = engine.Deriver(o.CLUSTER)
    d.apply(o.env(o.namespace("default")))
    d.apply(bare, source=graph.Source("resources", 5, 0))
    assert not d.initial_list


def _fields(env: envelope.Envelope) -> dict[str, Any]:
    return {name: getattr(env, name) for name in envelope.Envelope.__dataclass_fields__}


def test_a_kinds_marker_does_not_end_the_list() -> None:
    d = engine.Deriver(o.CLUSTER)
    kind_listed = envelope.synced_marker(
        cluster=o.CLUSTER, api_version="v1", kind="Pod", resource_version="7", observed_at=1000.0
    )
    apply_all(d, [o.env(o.namespace("default")), o.env(wordpress_pod()), kind_listed])
    assert d.initial_list
    assert apply_all(d, [o.env(secret()), o.deleted(secret())]) == []


def test_without_a_marker_the_list_ends_after_its_limit_in_event_time() -> None:
    """A producer that never sends the marker delays alerts, and loses none."""
    d = engine.Deriver(o.CLUSTER)
    start = 1000.0
    apply_all(d, [o.env(o.namespace("default"), at=start), o.env(wordpress_pod(), at=start)])
    late = start + engine.INITIAL_LIST_LIMIT_S - 1
    assert d.apply(o.env(o.running_pod("other", uid="other"), at=late)).alerts == []
    after = start + engine.INITIAL_LIST_LIMIT_S + 1
    found = d.apply(o.env(o.pending_pod("stuck"), at=after)).alerts
    assert not d.initial_list
    # The list's state first (the Secret is still missing), then the envelope's own alerts.
    assert [(a.kind, a.old_state, a.time) for a in found[:1]] == [("secret", None, after)]
    assert {(a.kind, a.name, a.old_state, a.new_state) for a in found[1:]} == {
        ("pod", "stuck", None, graph.State.DOWN),
        ("container", "main", None, graph.State.DOWN),
    }


def test_the_cluster_marker_kind_is_the_cluster_nodes_kind() -> None:
    from topolog.core.kinds import derive_rank, refs

    assert envelope.CLUSTER_KIND == refs.CLUSTER
    assert envelope.is_cluster_synced(cluster_synced())
    # A large batch derived in kind order keeps the marker after every object.
    assert derive_rank(refs.CLUSTER) > max(derive_rank(k) for k in ("Pod", "NetworkPolicy"))
