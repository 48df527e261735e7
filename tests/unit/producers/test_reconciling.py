"""Reconciling a fresh list against what was published: only differences, deletes included."""

from __future__ import annotations

from typing import Any

from producers import reconciling
from producers.reconciling import Seen
from topolog.core import envelope
from topolog.core.envelope import EventType
from topolog.core.resources import by_kind

C = "prod"
PODS = by_kind()["Pod"]


def pod(name: str, uid: str, rv: str, ns: str = "shop") -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": ns, "uid": uid, "resourceVersion": rv}}


def key(name: str, ns: str = "shop") -> str:
    return envelope.object_key(C, "Pod", ns, name)


def summary(changes: list[reconciling.Change]) -> list[tuple[str, str, str]]:
    out = []
    for c in changes:
        if isinstance(c.object, reconciling.DeletedFinalStateUnknown):
            out.append((c.type.value, c.object.name, c.object.uid))
        else:
            out.append((c.type.value, c.object["metadata"]["name"], c.object["metadata"]["uid"]))
    return out


def test_unchanged_objects_are_not_republished() -> None:
    published = {key("a"): Seen("u-a", "10"), key("b"): Seen("u-b", "11")}
    listed = [pod("a", "u-a", "10"), pod("b", "u-b", "11")]
    assert reconciling.reconcile(cluster=C, kind="Pod", published=published, listed=listed) == []


def test_deleted_while_disconnected_is_reported() -> None:
    published = {key("a"): Seen("u-a", "10"), key("gone"): Seen("u-gone", "12")}
    changes = reconciling.reconcile(
        cluster=C, kind="Pod", published=published, listed=[pod("a", "u-a", "10")]
    )
    assert summary(changes) == [("DELETED", "gone", "u-gone")]


def test_new_changed_and_recreated_objects() -> None:
    published = {key("same"): Seen("u-1", "5"), key("changed"): Seen("u-2", "6"),
                 key("recreated"): Seen("u-old", "7")}  # fmt: skip
    listed = [
        pod("same", "u-1", "5"),
        pod("changed", "u-2", "9"),
        pod("recreated", "u-new", "8"),
        pod("fresh", "u-4", "9"),
    ]
    changes = reconciling.reconcile(cluster=C, kind="Pod", published=published, listed=listed)
    assert summary(changes) == [
        ("MODIFIED", "changed", "u-2"),
        ("DELETED", "recreated", "u-old"),
        ("ADDED", "recreated", "u-new"),
        ("ADDED", "fresh", "u-4"),
    ]


def test_folding_the_changes_makes_memory_equal_to_the_list() -> None:
    published = {key("x"): Seen("u-x", "1"), key("y"): Seen("u-y", "2")}
    listed = [pod("y", "u-y", "3"), pod("z", "u-z", "4")]
    memory = dict(published)
    for change in reconciling.reconcile(cluster=C, kind="Pod", published=memory, listed=listed):
        reconciling.remember(memory, C, "Pod", change)
    assert memory == {key("y"): Seen("u-y", "3"), key("z"): Seen("u-z", "4")}
    again = reconciling.reconcile(cluster=C, kind="Pod", published=memory, listed=listed)
    assert again == []


def test_replayed_watch_events_are_dropped() -> None:
    published = {key("a"): Seen("u-a", "10")}
    replay = reconciling.classify(
        cluster=C, kind="Pod", published=published, event_type="MODIFIED", obj=pod("a", "u-a", "10")
    )
    newer = reconciling.classify(
        cluster=C, kind="Pod", published=published, event_type="MODIFIED", obj=pod("a", "u-a", "11")
    )
    assert replay == []
    assert summary(newer) == [("MODIFIED", "a", "u-a")]


def test_watch_added_for_a_known_object_is_a_modification() -> None:
    published = {key("a"): Seen("u-a", "10")}
    changes = reconciling.classify(
        cluster=C, kind="Pod", published=published, event_type="ADDED", obj=pod("a", "u-a", "12")
    )
    assert summary(changes) == [("MODIFIED", "a", "u-a")]


def test_delete_of_an_unpublished_object_is_not_published() -> None:
    changes = reconciling.classify(
        cluster=C, kind="Pod", published={}, event_type="DELETED", obj=pod("a", "u-a", "12")
    )
    assert changes == []


def test_tombstone_envelope_names_the_object_and_the_list_version() -> None:
    change = reconciling.reconcile(
        cluster=C, kind="Pod", published={key("gone"): Seen("u-g", "12")}, listed=[]
    )[0]
    env = reconciling.to_envelope(
        change, cluster=C, resource=PODS, observed_at=1.0, list_resource_version="99"
    )
    assert (env.type, env.key, env.uid, env.resource_version) == (
        EventType.DELETED, key("gone"), "u-g", "99",
    )  # fmt: skip
    assert env.object["metadata"] == {
        "name": "gone", "namespace": "shop", "uid": "u-g", "resourceVersion": "12",
    }  # fmt: skip


def test_envelopes_are_sanitized_and_name_their_kind() -> None:
    partial = {
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"name": "s", "namespace": "n", "uid": "u", "resourceVersion": "3",
                     "managedFields": [{"manager": "x"}]},
    }  # fmt: skip
    secret = by_kind()["Secret"]
    env = reconciling.to_envelope(
        reconciling.Change(EventType.ADDED, partial), cluster=C, resource=secret, observed_at=2.0
    )
    assert (env.kind, env.api_version, env.object["kind"]) == ("Secret", "v1", "Secret")
    assert "managedFields" not in env.object["metadata"]


def _record(
    kind: str, name: str, t: EventType, uid: str = "u", cluster: str = C
) -> envelope.Envelope:
    return envelope.Envelope(
        cluster=cluster, api_version="v1", kind=kind, namespace="shop", name=name, uid=uid,
        type=t, resource_version="1", observed_at=0.0,
    )  # fmt: skip


def test_history_keeps_the_latest_live_record_per_key() -> None:
    records = [
        _record("Pod", "a", EventType.ADDED, "u1"),
        _record("Pod", "b", EventType.ADDED),
        _record("Pod", "a", EventType.DELETED, "u1"),
        _record("Pod", "a", EventType.ADDED, "u2"),
        _record("Pod", "b", EventType.DELETED),
        _record("Pod", "c", EventType.ADDED, cluster="other"),
        envelope.synced_marker(
            cluster=C, api_version="v1", kind="Pod", resource_version="5", observed_at=0.0
        ),
    ]
    kinds = reconciling.fold_history(records, cluster=C)
    assert kinds == {"Pod": {key("a"): Seen("u2", "1")}}
