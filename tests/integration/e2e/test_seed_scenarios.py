"""The seed's walkthroughs through the whole pipeline, as a user sees them.

kube-apiserver (kwok) → producer → Kafka → processor (faust) → Kafka → projector →
Redis → gateway: the demo manifests are applied to the real control plane and the
answers are read back over the Skydive-compatible HTTP API and the CLI, exactly as
the seed's walkthroughs and its `query | jq | xargs kubectl delete pod` script do.
The pipeline runs as ``topolog run`` with topics, consumer groups and Redis keys of
its own, so other tests sharing the platform do not interfere.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from topolog.core import manifests
from topolog.platform import demo
from topolog.platform.apply import Applier
from topolog.platform.state import Endpoints

from .pipeline import eventually, isolated_env, query, running

pytestmark = pytest.mark.integration

DEMO = Path(__file__).resolve().parents[3] / "deploy" / "demo"


@pytest.fixture(scope="module")
def pipeline_env(platform: Endpoints) -> dict[str, str]:
    return isolated_env(platform, run=f"e2e-{uuid.uuid4().hex[:8]}", cluster="e2e")


@pytest.fixture(scope="module")
def gateway(
    pipeline_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory, platform: Endpoints
) -> Iterator[str]:
    log = tmp_path_factory.mktemp("e2e") / "pipeline.log"
    with running(pipeline_env, log) as url:
        Applier(platform.kubeconfig).apply(manifests.load([DEMO]))
        yield url


def names(nodes: list[dict[str, Any]]) -> set[str]:
    return {n["Metadata"]["Name"] for n in nodes}


def test_hello_node_deployment_owns_replicaset_owns_pods_and_service_selects_them(
    gateway: str,
) -> None:
    eventually(
        lambda: (
            len(
                query(
                    gateway,
                    "G.V().Has('Type', 'pod', 'K8s.Labels.app', 'hello-node', 'State', 'UP')",
                )
            )
            == 2
        ),
        what="two hello-node pods UP",
    )
    labelled = query(gateway, "G.V().Has('K8s.Labels.app', 'hello-node')")
    types = sorted(n["Metadata"]["Type"] for n in labelled)
    assert types.count("pod") == 2
    assert {"deployment", "service"} <= set(types)
    pods = query(
        gateway,
        "G.V().Has('Type', 'deployment', 'Name', 'hello-node')"
        ".Out().Has('Type', 'replicaset').Out().Has('Type', 'pod')",
    )
    assert len(pods) == 2
    selected = query(
        gateway, "G.V().Has('Type', 'service', 'Name', 'hello-node').Out().Has('Type', 'pod')"
    )
    assert names(selected) == names(pods)


def test_task_pv_pod_is_down_because_of_its_claim(gateway: str) -> None:
    claim = eventually(
        lambda: query(
            gateway, "G.V().Has('Type', 'persistentvolumeclaim', 'Name', 'task-pv-claim')"
        ),
        what="the claim",
    )[0]
    pod = eventually(
        lambda: query(gateway, "G.V().Has('Type', 'pod', 'Name', 'task-pv-pod')"), what="the pod"
    )[0]
    volume = eventually(
        lambda: query(gateway, "G.V().Has('Type', 'persistentvolume', 'Name', 'task-pv-volume')"),
        what="the volume",
    )[0]
    assert volume["Metadata"]["State"] == "UP"
    assert claim["Metadata"]["State"] == "DOWN"
    assert pod["Metadata"]["State"] == "DOWN"
    assert pod["Metadata"]["RootCause"] == [claim["ID"]]
    assert claim["Metadata"]["RootCause"] == []
    chain = httpx.get(f"{gateway}/api/v1/nodes/{pod['ID']}/rootcause", timeout=10)
    assert chain.status_code == 200
    assert claim["ID"] in chain.text


def test_the_alerts_topic_pages_for_the_pod_waiting_for_its_claim(
    gateway: str, pipeline_env: dict[str, str]
) -> None:
    """What an alerting system consumes: the processor holds a cluster's alerts until the
    real producer says every kind is listed (its cluster SYNCED marker); then the demo's
    pod that waits for its claim is paged, DOWN, in the cluster's name."""
    from tests.integration.processors.harness import read_all

    def paged() -> list[dict[str, Any]]:
        records = asyncio.run(
            read_all(pipeline_env["TOPOLOG_KAFKA_BOOTSTRAP"], pipeline_env["TOPOLOG_TOPIC_ALERTS"])
        )
        return [
            alert
            for alert in (orjson.loads(r.value) for r in records)
            if (alert["kind"], alert["name"], alert["newState"]) == ("pod", "task-pv-pod", "DOWN")
        ]

    alerts = eventually(paged, what="a DOWN alert for task-pv-pod")
    assert {a["namespace"] for a in alerts} == {"default"}
    assert all(a["source"]["topic"] == pipeline_env["TOPOLOG_TOPIC_RESOURCES"] for a in alerts)


def test_bookinfo_default_deny_governs_every_pod_of_the_namespace(gateway: str) -> None:
    bookinfo = eventually(
        lambda: query(
            gateway, "G.V().Has('Type', 'pod', 'K8s.Labels.app.kubernetes.io/part-of', 'bookinfo')"
        ),
        what="bookinfo pods",
    )
    governed = eventually(
        lambda: (
            names(
                query(
                    gateway,
                    "G.V().Has('Type', 'networkpolicy', 'Name', 'deny').Out().Has('Type', 'pod')",
                )
            )
            >= names(bookinfo)
            and len(bookinfo) == 6
        ),
        what="the deny policy to govern the 6 bookinfo pods",
    )
    assert governed
    reviewers = query(
        gateway,
        "G.V().Has('Type', 'networkpolicy', 'Name', 'ratings')"
        ".OutE().Has('PolicyPoint', 'end').OutV()",
    )
    assert {n["Metadata"]["K8s"]["Labels"]["app"] for n in reviewers} == {"reviews"}


def test_seed_script_finds_the_pods_using_mysql_pass(
    gateway: str, pipeline_env: dict[str, str]
) -> None:
    q = "G.V().Has('Name', 'mysql-pass').In().Has('Type', 'pod')"
    pods = eventually(
        lambda: len(query(gateway, q)) == 2 and query(gateway, q),
        what="the two wordpress pods using mysql-pass",
    )
    assert all(n["Metadata"]["K8s"]["Labels"]["app"] == "wordpress" for n in pods)
    # The seed's automation, verbatim but for the binary: query | jq | xargs.
    script = (
        f"{sys.executable} -m topolog.cli.main query \"{q}\" | jq -r '.[] | .Metadata.Name' | sort"
    )
    out = subprocess.run(
        ["bash", "-c", script],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, **pipeline_env, "TOPOLOG_GATEWAY_URL": gateway},
    )
    assert out.stdout.split() == sorted(names(pods))


def test_rotated_secret_keeps_its_pods_and_the_history_remembers_the_old_one(
    gateway: str,
    platform: Endpoints,
) -> None:
    q = "G.V().Has('Type', 'secret', 'Name', 'mysql-pass')"
    old = eventually(lambda: query(gateway, q), what="the secret")[0]
    before = time.time()
    demo.rotate_secret(platform.kubeconfig, wait_for_pods=60)
    new = eventually(
        lambda: [s for s in query(gateway, q) if s["ID"] != old["ID"]], what="the re-created secret"
    )[0]
    users = eventually(
        lambda: query(gateway, f"G.V('{new['ID']}').In().Has('Type', 'pod')"),
        what="the pods to point at the new secret",
    )
    assert len(users) == 2
    past = query(gateway, f"G.At({before:.3f}).V().Has('Type', 'secret', 'Name', 'mysql-pass')")
    assert [s["ID"] for s in past] == [old["ID"]]


def test_rotation_flags_the_wordpress_pods_outdated_until_the_seed_script_replaces_them(
    gateway: str, platform: Endpoints, pipeline_env: dict[str, str]
) -> None:
    # A no-op when the test above already rotated the secret in this run.
    demo.rotate_secret(platform.kubeconfig, wait_for_pods=60)
    q = "G.V().Has('Type', 'pod', 'Outdated', true, 'K8s.Labels.app', 'wordpress')"
    stale = eventually(
        lambda: len(query(gateway, q)) == 2 and query(gateway, q),
        what="both wordpress pods to be flagged outdated",
    )
    for pod in stale:
        refs = pod["Metadata"]["OutdatedRefs"]
        assert {(r["Kind"], r["Name"]) for r in refs} >= {("secret", "mysql-pass")}
    # The seed's automation, with the flag instead of a guess: query | jq | xargs kubectl.
    script = (
        f"{sys.executable} -m topolog.cli.main query \"{q}\" | jq -r '.[] | .Metadata.Name' "
        f"| xargs kubectl --kubeconfig {platform.kubeconfig} delete pod --wait=false"
    )
    subprocess.run(
        ["bash", "-c", script],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, **pipeline_env, "TOPOLOG_GATEWAY_URL": gateway},
    )
    old = names(stale)

    def replaced() -> list[dict[str, Any]]:
        pods = query(gateway, "G.V().Has('Type', 'pod', 'K8s.Labels.app', 'wordpress')")
        fresh = [p for p in pods if p["Metadata"]["Name"] not in old]
        return fresh if len(fresh) == 2 and len(pods) == 2 else []

    fresh = eventually(replaced, what="the ReplicaSets' new pods to replace the deleted ones")
    assert [p["Metadata"]["Outdated"] for p in fresh] == [False, False]
    assert query(gateway, q) == []


def test_security_reviewer_asks_can_productpage_reach_reviews(gateway: str) -> None:
    def pod(app: str, version: str = "v1") -> str:
        found = query(
            gateway,
            f"G.V().Has('Type', 'pod', 'K8s.Labels.app', '{app}', "
            f"'K8s.Labels.version', '{version}')",
        )
        return f"default/{found[0]['Metadata']['Name']}"

    productpage, reviews = eventually(
        lambda: (pod("productpage"), pod("reviews")), what="bookinfo pods"
    )
    ratings, details = pod("ratings"), pod("details")

    def ask(src: str, dst: str, port: int) -> dict[str, Any]:
        resp = httpx.get(
            f"{gateway}/api/v1/reach", params={"from": src, "to": dst, "port": port}, timeout=10
        )
        resp.raise_for_status()
        return dict(resp.json())

    allowed = eventually(
        lambda: ask(productpage, reviews, 9080)["allowed"] and ask(productpage, reviews, 9080),
        what="productpage → reviews to be allowed on the named port http",
    )
    assert "default/reviews-v1" in allowed["ingress"]["allowing"]
    assert allowed["unresolved"] == []
    assert not ask(productpage, reviews, 9081)["allowed"]
    denied = ask(ratings, details, 9080)
    assert not denied["allowed"]
    assert "default/deny" in denied["ingress"]["isolating"]
    # The same question from the CLI.
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "topolog.cli.main",
            "reach",
            "--from",
            productpage,
            "--to",
            reviews,
            "--port",
            "9080",
            "--url",
            gateway,
        ],
        capture_output=True,
        check=True,
    )
    assert orjson.loads(out.stdout)["allowed"] is True
