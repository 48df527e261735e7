"""The seed's walkthroughs, done in the dashboard, each ending in a screenshot.

Run with ``TOPOLOG_SCREENSHOTS=1`` to refresh docs/screenshots/ (otherwise the pictures go
to a temporary directory). Each walkthrough also checks what the seed says one should see.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

pytestmark = pytest.mark.browser


def _names(dash, cls: str) -> set[str]:
    return {
        d["label"] for d in dash.drawn().values() if d["kind"] == "element" and cls in d["classes"]
    }


def _png(path) -> None:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000


def test_hello_node(dash, gateway, screenshots):
    """Expand the cluster and default namespace, filter on the app, highlight its pods."""
    dash.open()
    dash.click(gateway.cluster.node_id("namespace", "default"))
    dash.filter("G.V().Has('K8s.Labels.app', 'hello-node')")
    dash.highlight("G.V().Has('Type', 'pod')")
    pods = {p["metadata"]["name"] for p in gateway.scenario.pods["hello-node"]}
    assert _names(dash, "highlight") == pods
    _png(dash.screenshot("hello-node", screenshots))


def test_bookinfo_with_network_policies(dash, gateway, screenshots):
    """Filter on bookinfo, highlight "k8s network": the deny policy and the allow ones."""
    dash.open()
    dash.filter("G.V().Has('K8s.Labels.app.kubernetes.io/part-of', 'bookinfo')")
    dash.highlight("k8s network")
    dash.click(gateway.cluster.node_id("networkpolicy", "reviews-v1"))
    highlighted = _names(dash, "highlight")
    assert {"deny", "details", "ratings", "reviews-v1"} <= highlighted
    assert "PolicyPorts" not in dash.page.inner_text("#details")  # a node, not an edge
    _png(dash.screenshot("bookinfo-network", screenshots))


def test_task_pv_storage(dash, gateway, screenshots):
    """Filter "k8s storage", highlight task-pv-*; the pod is DOWN because of its claim."""
    dash.open()
    dash.filter("k8s storage")
    dash.highlight("G.V().Has('Name', Regex('task-pv-.*'))")
    dash.click(gateway.cluster.node_id("pod", "task-pv-pod"))
    assert _names(dash, "rootcause") == {"task-pv-pod", "task-pv-claim"}
    assert _names(dash, "down") >= {"task-pv-pod", "task-pv-claim"}
    assert "task-pv-volume" not in _names(dash, "down")
    _png(dash.screenshot("task-pv-storage", screenshots))


def test_wordpress_secret(dash, gateway, screenshots):
    """Filter on wordpress, highlight the pods reading mysql-pass (the ones to restart)."""
    dash.open()
    dash.filter("G.V().Has('K8s.Labels.app', 'wordpress')")
    dash.highlight("G.V().Has('Type', 'secret', 'Name', 'mysql-pass').In()")
    dash.click(gateway.cluster.node_id("secret", "mysql-pass"))
    highlighted = _names(dash, "highlight")
    assert highlighted and all(n.startswith("wordpress") for n in highlighted)
    _png(dash.screenshot("wordpress-secret", screenshots))


def test_wordpress_password_rotation_diff(dash, gateway, screenshots):
    """Diff from before the rotation to now: old pods removed, new pods added."""
    dash.open("filter=G.V().Has('K8s.Labels.app', 'wordpress')")

    def local(t: float) -> str:
        return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%S")

    dash.page.fill("#t0", local(gateway.times["created"] + 60))
    dash.page.fill("#t1", local(time.time()))
    dash.page.click("#diff")
    dash.page.wait_for_function("() => document.body.dataset.mode === 'diff'")
    dash.settle()
    assert _names(dash, "diff-removed") and _names(dash, "diff-added")
    _png(dash.screenshot("wordpress-diff", screenshots))


def test_can_productpage_reach_details(dash, gateway, screenshots):
    dash.open("filter=G.V().Has('K8s.Labels.app.kubernetes.io/part-of', 'bookinfo')")
    pods = {
        p["metadata"]["name"].split("-v1-")[0]: p["metadata"]["name"]
        for d in ("productpage-v1", "details-v1")
        for p in gateway.scenario.pods[d]
    }
    dash.page.click("button[data-tab=reach]")
    dash.page.fill("#reach-from", f"default/{pods['productpage']}")
    dash.page.fill("#reach-to", f"default/{pods['details']}")
    dash.page.fill("#reach-port", "9080")
    dash.page.click("#reach-form button[type=submit]")
    dash.page.wait_for_selector("#reach-result .verdict")
    dash.settle()
    assert "productpage" in dash.page.inner_text("#reach-result")
    _png(dash.screenshot("reach", screenshots))


def test_large_cluster_folded(large_dash, large_gateway, screenshots):
    """Thousands of pods: namespaces folded, one expanded into workload and kind aggregates."""
    large_dash.open()
    namespace = next(d for d in large_dash.drawn().values() if d["type"] == "namespace")
    ns_id = next(i for i, d in large_dash.drawn().items() if d is not None and d == namespace)
    large_dash.click(ns_id)
    assert any(d["kind"] == "aggregate" for d in large_dash.drawn().values())
    _png(large_dash.screenshot("large-cluster", screenshots))
