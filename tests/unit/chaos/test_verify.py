"""The chaos run's checks find every kind of difference they report."""

from __future__ import annotations

from typing import Any

from topolog.chaos import verify
from topolog.core import envelope, graph


def _obj(kind: str, name: str, uid: str, rv: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": kind,
        "metadata": {"name": name, "namespace": "ns", "uid": uid, "resourceVersion": rv},
    }


def _env(obj: dict[str, Any], kind: envelope.EventType, cluster: str = "c") -> envelope.Envelope:
    meta = obj["metadata"]
    return envelope.Envelope(
        cluster=cluster,
        api_version="v1",
        kind=obj["kind"],
        namespace=meta["namespace"],
        name=meta["name"],
        uid=meta["uid"],
        type=kind,
        resource_version=meta["resourceVersion"],
        observed_at=1.0,
        object=obj,
    )


ADDED, MODIFIED, DELETED = (
    envelope.EventType.ADDED,
    envelope.EventType.MODIFIED,
    envelope.EventType.DELETED,
)


def test_a_log_that_matches_the_cluster_has_no_difference() -> None:
    a1, a2 = _obj("ConfigMap", "a", "u1", "1"), _obj("ConfigMap", "a", "u1", "2")
    events = [_env(a1, ADDED), _env(a2, MODIFIED)]
    diff = verify.log_vs_objects(
        events, cluster="c", listed={"ConfigMap": [a2]}, count_repeats=True
    )
    assert diff.total == 0


def test_log_differences_are_lost_duplicated_and_wrong() -> None:
    kept, stale = _obj("ConfigMap", "a", "u1", "1"), _obj("ConfigMap", "b", "u2", "1")
    events = [_env(kept, ADDED), _env(stale, ADDED)]
    listed = {
        "ConfigMap": [_obj("ConfigMap", "a", "u1", "5"), _obj("ConfigMap", "c", "u3", "1")],
    }
    diff = verify.log_vs_objects(events, cluster="c", listed=listed, count_repeats=False)
    assert (diff.lost, diff.duplicated, diff.wrong) == (1, 1, 1)


def test_an_object_version_published_twice_in_a_row_is_duplicated() -> None:
    a = _obj("ConfigMap", "a", "u1", "1")
    events = [_env(a, ADDED), _env(a, ADDED)]
    listed = {"ConfigMap": [a]}
    assert (
        verify.log_vs_objects(events, cluster="c", listed=listed, count_repeats=True).duplicated
        == 1
    )
    assert verify.log_vs_objects(events, cluster="c", listed=listed, count_repeats=False).total == 0


def test_other_clusters_do_not_count() -> None:
    a = _obj("ConfigMap", "a", "u1", "1")
    diff = verify.log_vs_objects(
        [_env(a, ADDED, cluster="other")], cluster="c", listed={}, count_repeats=True
    )
    assert diff.total == 0


def test_a_deleted_object_leaves_the_log_state() -> None:
    a = _obj("ConfigMap", "a", "u1", "1")
    diff = verify.log_vs_objects(
        [_env(a, ADDED), _env(a, DELETED)], cluster="c", listed={}, count_repeats=True
    )
    assert diff.total == 0


def test_graph_differences_are_counted_per_element() -> None:
    ref_nodes = {
        "a": graph.Node("a", {"State": "UP"}),
        "b": graph.Node("b", {"State": "UP"}),
    }
    ref_edges = {"e": graph.Edge("e", "a", "b", {"RelationType": "ownership"})}
    redis_nodes: dict[str, dict[str, Any]] = {
        "a": {"ID": "a", "Metadata": {"State": "DOWN"}, "Revision": 3},
        "x": {"ID": "x", "Metadata": {}},
    }
    redis_edges: dict[str, dict[str, Any]] = {
        "e": {
            "ID": "e",
            "Parent": "a",
            "Child": "b",
            "Metadata": {"RelationType": "ownership"},
            "CreatedAt": 1,
        }
    }
    diff = verify.graph_vs_reference((ref_nodes, ref_edges), redis_nodes, redis_edges)
    assert (diff.lost, diff.duplicated, diff.wrong) == (1, 1, 1)


def test_values_compare_member_by_member() -> None:
    diff = verify.Diff()
    verify._compare_values(diff, "h", {b"f": b"1", b"g": b"2"}, {b"f": b"1", b"g": b"3"})
    verify._compare_values(diff, "s", {b"a", b"b"}, {b"a", b"c"})
    verify._compare_values(diff, "z", [(b"1", 1.0)], [(b"1", 1.0), (b"d2", 2.0)])
    verify._compare_values(diff, "rev", b"7", b"8")
    assert (diff.lost, diff.duplicated, diff.wrong) == (1, 2, 2)


def test_the_sse_mirror_must_equal_redis_whole_elements() -> None:
    node = {"ID": "a", "Metadata": {}, "Revision": 2}
    same = verify.sse_vs_redis({"a": node}, {}, {"a": node}, {})
    behind = verify.sse_vs_redis({"a": {**node, "Revision": 1}}, {}, {"a": node}, {})
    assert same.total == 0
    assert behind.wrong == 1
