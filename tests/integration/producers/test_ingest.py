"""``topolog ingest`` of a manifest directory, end to end into Kafka."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from topolog.core.envelope import EventType, marker_partitions

from . import support
from .support import Run

pytestmark = pytest.mark.integration


def ingest(run: Run, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [support.TOPOLOG, "ingest", *args], env=run.env(), capture_output=True, timeout=120
    )


def test_ingest_of_a_directory_publishes_every_object_then_deletes_them(
    run: Run, tmp_path: Path
) -> None:
    (tmp_path / "apps").mkdir()
    (tmp_path / "apps" / "web.yaml").write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n"
        "spec: {replicas: 2}\nstatus: {readyReplicas: 1}\n---\n"
        "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: shop}\n"
    )
    (tmp_path / "cluster.json").write_text(
        '{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}}'
    )
    added = ingest(run, str(tmp_path))
    assert added.returncode == 0, added.stderr.decode()
    deleted = ingest(run, "--delete", str(tmp_path / "apps"))
    assert deleted.returncode == 0, deleted.stderr.decode()
    events = support.envelopes(run)
    assert sorted((e.type.value, e.kind, e.namespace, e.name) for e in events) == [
        ("ADDED", "Deployment", "default", "web"),
        ("ADDED", "Namespace", "", "shop"),
        ("ADDED", "Service", "shop", "web"),
        ("DELETED", "Deployment", "default", "web"),
        ("DELETED", "Service", "shop", "web"),
        # Each ingest is a complete list: it closes the cluster's initial list, with a
        # copy of the marker on every partition of the topic.
        *[("SYNCED", "Cluster", "", "")] * (2 * support.partitions(run)),
    ]
    markers = [e for e in events if e.type is EventType.SYNCED]
    assert {marker_partitions(m) for m in markers} == {support.partitions(run)}
    assert min(m.observed_at for m in markers) >= max(
        e.observed_at for e in events if e.type is EventType.ADDED
    )
    deployment = next(e for e in events if e.kind == "Deployment" and e.type is EventType.ADDED)
    assert deployment.object["status"] == {"readyReplicas": 1}
    assert {e.cluster for e in events} == {run.cluster}


def test_a_bad_file_publishes_nothing(run: Run, tmp_path: Path) -> None:
    (tmp_path / "good.yaml").write_text("apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n")
    (tmp_path / "bad.yaml").write_text("apiVersion: v1\nkind: Pod\nmetadata: {}\n")
    result = ingest(run, str(tmp_path))
    assert result.returncode == 2
    assert "bad.yaml (document 1)" in result.stderr.decode()
    assert run.resources not in support.all_topics(run)
