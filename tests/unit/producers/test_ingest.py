"""Ingest: manifests become the events a watch would have produced."""

from __future__ import annotations

from pathlib import Path

import pytest

from producers import ingest
from topolog.core import envelope, manifests
from topolog.core.envelope import EventType

MANIFESTS = """\
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    spec:
      containers:
      - name: web
        env: [{name: TOKEN, value: canary-ingest}]
status: {replicas: 2, readyReplicas: 1}
---
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: cfg, namespace: shop, uid: given-uid, resourceVersion: "77"}
  data: {key: canary-ingest}
- apiVersion: v1
  kind: PersistentVolume
  metadata: {name: pv1, namespace: ignored}
"""


@pytest.fixture
def loaded(tmp_path: Path) -> list[manifests.Manifest]:
    (tmp_path / "app.yaml").write_text(MANIFESTS)
    return manifests.load([tmp_path])


def test_objects_become_added_events_in_file_order(loaded: list[manifests.Manifest]) -> None:
    events = ingest.plan(loaded, cluster="ci", now=5.0)
    assert [(e.type, e.kind, e.namespace, e.name) for e in events] == [
        (EventType.ADDED, "Namespace", "", "shop"),
        (EventType.ADDED, "Deployment", "default", "web"),
        (EventType.ADDED, "ConfigMap", "shop", "cfg"),
        (EventType.ADDED, "PersistentVolume", "", "pv1"),
    ]
    assert {e.cluster for e in events} == {"ci"}
    assert {e.observed_at for e in events} == {5.0}


def test_namespaced_objects_default_to_default_and_cluster_scoped_have_none(
    loaded: list[manifests.Manifest],
) -> None:
    events = ingest.plan(loaded, cluster="ci", now=0.0)
    assert events[1].object["metadata"]["namespace"] == "default"
    assert "namespace" not in events[3].object["metadata"]


def test_missing_uid_is_stable_and_given_uid_is_kept(loaded: list[manifests.Manifest]) -> None:
    first = ingest.plan(loaded, cluster="ci", now=0.0)
    again = ingest.plan(loaded, cluster="ci", now=9.0)
    assert first[1].uid == again[1].uid == envelope.stable_uid("ci", "Deployment", "default", "web")
    assert first[1].object["metadata"]["uid"] == first[1].uid
    assert (first[2].uid, first[2].resource_version) == ("given-uid", "77")


def test_status_is_kept_and_values_are_sanitized(loaded: list[manifests.Manifest]) -> None:
    events = ingest.plan(loaded, cluster="ci", now=0.0)
    assert events[1].object["status"] == {"replicas": 2, "readyReplicas": 1}
    assert all(b"canary-ingest" not in e.to_json() for e in events)
    assert events[2].object["dataKeys"] == ["key"]


def test_delete_publishes_deletions_of_the_same_objects(loaded: list[manifests.Manifest]) -> None:
    added = ingest.plan(loaded, cluster="ci", now=0.0)
    deleted = ingest.plan(loaded, cluster="ci", now=0.0, delete=True)
    assert {e.type for e in deleted} == {EventType.DELETED}
    assert [(e.key, e.uid) for e in deleted] == [(e.key, e.uid) for e in added]


def test_a_bad_document_fails_the_command_before_anything_is_published(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from topolog.cli.main import app

    published: list[object] = []

    async def spy(events: object, **_: object) -> None:
        published.append(events)

    monkeypatch.setattr(ingest, "publish", spy)
    monkeypatch.setenv("TOPOLOG_KAFKA_BOOTSTRAP", "127.0.0.1:1")
    (tmp_path / "good.yaml").write_text(MANIFESTS)
    (tmp_path / "bad.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\n---\nkind: [\n"
    )
    result = CliRunner().invoke(app, ["ingest", str(tmp_path)])
    assert result.exit_code == 2
    assert "bad.yaml (document 2)" in result.output
    assert published == []


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (
            "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\n---\n- just\n- a list\n",
            "(document 2): expected a mapping",
        ),
        ("apiVersion: v1\nmetadata: {name: a}\n", "(document 1): missing 'kind'"),
        ("apiVersion: v1\nkind: Pod\nmetadata: {}\n", "(document 1): Pod has no metadata.name"),
        (
            "apiVersion: v1\nkind: List\nitems: 3\n",
            "(document 1): 'items' of a List must be a list",
        ),
        ("\x00\x01binary: [\n", "(document 1): invalid YAML"),
    ],
)
def test_an_invalid_object_names_file_and_document_and_publishes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: str, fragment: str
) -> None:
    from typer.testing import CliRunner

    from topolog.cli.main import app

    published: list[object] = []

    async def spy(events: object, **_: object) -> None:
        published.append(events)

    monkeypatch.setattr(ingest, "publish", spy)
    monkeypatch.setenv("TOPOLOG_KAFKA_BOOTSTRAP", "127.0.0.1:1")
    (tmp_path / "a-good.yaml").write_text(MANIFESTS)
    bad = tmp_path / "z-bad.yaml"
    bad.write_text(content)
    result = CliRunner().invoke(app, ["ingest", str(tmp_path)])
    assert result.exit_code == 2
    assert f"z-bad.yaml {fragment}" in result.output.replace("\n", "")
    assert published == []
