"""Outdated pods: the seed's secret rotation, config edits, optional refs, restarts, cost."""

from __future__ import annotations

import dataclasses
import datetime
from typing import Any

import pytest

from topolog.core import envelope, graph
from topolog.core.derive import alerts, engine, outdated
from topolog.core.query import evaluator, memory, parser

from . import objects as o

#: 2024-05-01T10:00:00Z; every time below is T0 + seconds.
T0 = 1714557600.0


def rfc3339(offset: float) -> str:
    when = datetime.datetime.fromtimestamp(T0 + offset, tz=datetime.UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def created(item: dict[str, Any], offset: float) -> dict[str, Any]:
    item["metadata"]["creationTimestamp"] = rfc3339(offset)
    return item


def pod(name: str, *, started: float | None, spec: dict[str, Any], uid: str = "") -> dict[str, Any]:
    """A running pod created 1 s before it started (``started=None``: no startTime)."""
    item = o.running_pod(name, labels={"app": "wordpress"}, spec=spec, uid=uid or name)
    created(item, (started or 0.0) - 1)
    if started is not None:
        item["status"]["startTime"] = rfc3339(started)
    return item


SECRET_ENV = {
    "containers": [
        {
            "name": "main",
            "image": "wordpress:4.8",
            "env": [
                {
                    "name": "WORDPRESS_DB_PASSWORD",
                    "valueFrom": {"secretKeyRef": {"name": "mysql-pass", "key": "password"}},
                }
            ],
        }
    ]
}


def secret(uid: str, at: float) -> dict[str, Any]:
    return created(o.obj("Secret", "mysql-pass", uid=uid, type="Opaque"), at)


def configmap(at: float, name: str = "app-config") -> dict[str, Any]:
    return created(o.obj("ConfigMap", name, uid=f"cm-{name}", dataKeys=["k"]), at)


def event(
    item: dict[str, Any],
    type_: envelope.EventType = envelope.EventType.ADDED,
    *,
    at: float,
    rv: str = "1",
) -> envelope.Envelope:
    return dataclasses.replace(o.env(item, type_, at=T0 + at), resource_version=rv)


class Cluster:
    """A deriver plus the alerts it emitted."""

    def __init__(self) -> None:
        self.deriver = engine.Deriver(o.CLUSTER, initial_list=False)
        self.alerts: list[alerts.Alert] = []

    def apply(self, *envs: envelope.Envelope) -> Cluster:
        for env in envs:
            self.alerts += self.deriver.apply(env).alerts
        return self

    def pod(self, name: str) -> graph.Node:
        nodes, _ = self.deriver.snapshot()
        (found,) = [
            n for n in nodes.values() if n.metadata["Type"] == "pod" and n.metadata["Name"] == name
        ]
        return found

    def outdated(self, name: str) -> bool:
        return bool(self.pod(name).metadata[outdated.OUTDATED])

    def query(self, text: str) -> list[Any]:
        nodes, edges = self.deriver.snapshot()
        history = memory.MemoryHistory(
            nodes=[memory.node(i, n.metadata, created=T0) for i, n in nodes.items()],
            edges=[
                memory.edge(i, e.parent, e.child, e.metadata, created=T0) for i, e in edges.items()
            ],
        )
        result = evaluator.evaluate(parser.parse(text), source=history, now=T0 + 10_000)
        assert isinstance(result, list)
        return result


def wordpress(start: float = 10) -> Cluster:
    """mysql-pass (created at 0) read by two pods started at ``start``."""
    return Cluster().apply(
        event(o.namespace("default"), at=0),
        event(secret("s1", 0), at=0),
        event(pod("wordpress", started=start, spec=SECRET_ENV), at=start),
        event(pod("wordpress-mysql", started=start, spec=SECRET_ENV), at=start),
    )


def rotate(c: Cluster, at: float = 100) -> Cluster:
    """The seed's rotation: kubectl delete secret, kubectl create secret (a new uid)."""
    return c.apply(
        o.deleted(secret("s1", 0), at=T0 + at),
        event(secret("s2", at), at=at),
    )


# -- the seed's rotation ------------------------------------------------------------------


def test_pods_started_after_their_secret_are_not_outdated() -> None:
    c = wordpress()
    assert not c.outdated("wordpress") and not c.outdated("wordpress-mysql")
    assert c.pod("wordpress").metadata[outdated.OUTDATED_REFS] == []
    assert not [a for a in c.alerts if a.type is alerts.AlertType.OUTDATED]


def test_recreating_the_secret_leaves_both_running_pods_outdated() -> None:
    c = rotate(wordpress(), at=100)
    for name in ("wordpress", "wordpress-mysql"):
        assert c.outdated(name)
        assert c.pod(name).metadata[outdated.OUTDATED_REFS] == [
            {"Kind": "secret", "Name": "mysql-pass", "ChangedAt": int((T0 + 100) * 1000)}
        ]


def test_the_outdated_query_lists_them_and_the_seed_query_still_finds_them() -> None:
    c = rotate(wordpress())
    flagged = c.query("G.V().Has('Type', 'pod', 'Outdated', true)")
    assert {n["Metadata"]["Name"] for n in flagged} == {"wordpress", "wordpress-mysql"}
    users = c.query("G.V().Has('Name', 'mysql-pass').In().Has('Type', 'pod')")
    assert {n["Metadata"]["Name"] for n in users} == {"wordpress", "wordpress-mysql"}
    assert c.query("G.V().Has('Type', 'secret', 'Outdated', true)") == []


def test_becoming_outdated_is_one_alert_per_pod_naming_the_secret() -> None:
    c = wordpress()
    before = len(c.alerts)
    rotate(c)
    raised = [a for a in c.alerts[before:] if a.type is alerts.AlertType.OUTDATED]
    assert sorted(a.name for a in raised) == ["wordpress", "wordpress-mysql"]
    assert {a.reason for a in raised} == {"OutdatedSecret mysql-pass"}
    assert all(a.old_state == a.new_state == graph.State.UP for a in raised)
    assert raised[0].to_dict()["type"] == "Outdated"


def test_pods_created_after_the_rotation_are_not_outdated() -> None:
    c = rotate(wordpress(), at=100)
    # The seed's script: delete the outdated pods; their ReplicaSet makes new ones.
    c.apply(
        o.deleted(pod("wordpress", started=10, spec=SECRET_ENV), at=T0 + 120),
        event(pod("wordpress-2", started=121, spec=SECRET_ENV), at=121),
    )
    assert not c.outdated("wordpress-2")
    assert c.outdated("wordpress-mysql")
    flagged = c.query("G.V().Has('Type', 'pod', 'Outdated', true)")
    assert {n["Metadata"]["Name"] for n in flagged} == {"wordpress-mysql"}


def test_a_pod_that_starts_again_after_the_change_is_no_longer_outdated() -> None:
    c = rotate(wordpress(), at=100)
    restarted = pod("wordpress", started=150, spec=SECRET_ENV)
    c.apply(event(restarted, envelope.EventType.MODIFIED, at=150, rv="2"))
    assert not c.outdated("wordpress")


def test_a_deleted_secret_outdates_nobody_until_it_is_recreated() -> None:
    c = wordpress().apply(o.deleted(secret("s1", 0), at=T0 + 100))
    assert not c.outdated("wordpress")
    c.apply(event(secret("s2", 200), at=200))
    assert c.outdated("wordpress")


def test_a_change_in_the_second_the_pod_started_is_not_counted() -> None:
    c = rotate(wordpress(start=100), at=100)
    assert not c.outdated("wordpress")


# -- configmaps and modifications ---------------------------------------------------------

CONFIG_VOLUME = {"volumes": [{"name": "conf", "configMap": {"name": "app-config"}}]}


def config_cluster() -> Cluster:
    return Cluster().apply(
        event(configmap(0), at=0),
        event(pod("web", started=10, spec=CONFIG_VOLUME), at=10),
    )


def test_modifying_a_configmap_outdates_the_pods_started_before() -> None:
    c = config_cluster()
    c.apply(event(configmap(0), envelope.EventType.MODIFIED, at=50.7, rv="2"))
    assert c.pod("web").metadata[outdated.OUTDATED_REFS] == [
        {"Kind": "configmap", "Name": "app-config", "ChangedAt": int((T0 + 50) * 1000)}
    ]
    raised = [a for a in c.alerts if a.type is alerts.AlertType.OUTDATED]
    assert [a.reason for a in raised] == ["OutdatedConfigMap app-config"]


def test_the_same_resource_version_again_is_no_change() -> None:
    c = config_cluster()
    c.apply(event(configmap(0), envelope.EventType.MODIFIED, at=50, rv="1"))
    assert not c.outdated("web")


def test_each_new_change_of_an_outdated_pod_is_a_new_alert() -> None:
    c = config_cluster()
    c.apply(event(configmap(0), envelope.EventType.MODIFIED, at=50, rv="2"))
    c.apply(event(configmap(0), envelope.EventType.MODIFIED, at=80, rv="3"))
    refs = c.pod("web").metadata[outdated.OUTDATED_REFS]
    assert [r["ChangedAt"] for r in refs] == [int((T0 + 80) * 1000)]
    assert len([a for a in c.alerts if a.type is alerts.AlertType.OUTDATED]) == 2


def test_a_modification_first_seen_on_replay_still_counts() -> None:
    # A compacted topic keeps only the latest event of the configmap: a MODIFIED.
    c = Cluster().apply(
        event(pod("web", started=10, spec=CONFIG_VOLUME), at=10),
        event(configmap(0), envelope.EventType.MODIFIED, at=50, rv="7"),
    )
    assert c.outdated("web")


def test_the_flag_does_not_depend_on_which_object_was_seen_first() -> None:
    items = [
        event(pod("web", started=10, spec=CONFIG_VOLUME), at=10),
        event(configmap(30), at=30),
    ]
    forward = Cluster().apply(*items)
    backward = Cluster().apply(*reversed(items))
    assert forward.outdated("web") and backward.outdated("web")
    assert forward.pod("web") == backward.pod("web")


# -- which references count ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        pytest.param(
            {"containers": [{"name": "m", "envFrom": [{"configMapRef": {"name": "app-config"}}]}]},
            True,
            id="envFrom",
        ),
        pytest.param(
            {
                "volumes": [
                    {
                        "name": "p",
                        "projected": {"sources": [{"configMap": {"name": "app-config"}}]},
                    }
                ]
            },
            True,
            id="projected volume",
        ),
        pytest.param(
            {"volumes": [{"name": "c", "configMap": {"name": "app-config", "optional": True}}]},
            True,
            id="optional volume",
        ),
        pytest.param(
            {"volumes": [{"name": "c", "configMap": {"name": "other-config"}}]},
            False,
            id="another configmap",
        ),
    ],
)
def test_every_way_of_reading_a_configmap_counts(spec: dict[str, Any], expected: bool) -> None:
    c = Cluster().apply(
        event(configmap(0), at=0),
        event(pod("web", started=10, spec=spec), at=10),
        event(configmap(0), envelope.EventType.MODIFIED, at=50, rv="2"),
    )
    assert c.outdated("web") is expected


def test_an_optional_secret_created_after_the_pod_started_outdates_it() -> None:
    optional = {
        "containers": [
            {"name": "m", "envFrom": [{"secretRef": {"name": "mysql-pass", "optional": True}}]}
        ]
    }
    c = Cluster().apply(event(pod("web", started=10, spec=optional), at=10))
    assert not c.outdated("web")
    # It started without the secret; the secret that appears later is not in it.
    c.apply(event(secret("s1", 40), at=40))
    assert c.outdated("web")


def test_an_image_pull_secret_is_not_a_copy_the_pod_holds() -> None:
    spec = {"imagePullSecrets": [{"name": "mysql-pass"}]}
    c = Cluster().apply(event(pod("web", started=10, spec=spec), at=10))
    rotate(c, at=100)
    assert not c.outdated("web")


def test_a_finished_pod_is_never_outdated() -> None:
    done = pod("job", started=10, spec=SECRET_ENV)
    done["status"]["phase"] = "Succeeded"
    c = Cluster().apply(event(secret("s1", 0), at=0), event(done, at=10))
    rotate(c, at=100)
    assert not c.outdated("job")


def test_without_start_time_the_creation_time_counts() -> None:
    c = Cluster().apply(
        event(secret("s1", 0), at=0),
        event(pod("pending", started=None, spec=SECRET_ENV), at=5),
    )
    rotate(c, at=100)
    assert c.outdated("pending")


def test_only_pods_carry_the_flag() -> None:
    nodes, _ = rotate(wordpress()).deriver.snapshot()
    carrying = {n.metadata["Type"] for n in nodes.values() if outdated.OUTDATED in n.metadata}
    assert carrying == {"pod"}


# -- cost ---------------------------------------------------------------------------------


def test_a_secret_change_rechecks_only_the_pods_that_read_it() -> None:
    def cost(unrelated: int) -> int:
        c = wordpress()
        c.apply(
            *(
                event(pod(f"other-{i}", started=10, spec=CONFIG_VOLUME), at=10)
                for i in range(unrelated)
            )
        )
        before = c.deriver.operations
        c.apply(event(secret("s1", 0), envelope.EventType.MODIFIED, at=100, rv="2"))
        assert c.outdated("wordpress")
        return c.deriver.operations - before

    assert cost(2) == cost(200)
