"""The dashboard in a real browser: what a person sees and clicks, against the gateway.

Expected answers come from the gateway's own API (the same query over HTTP), not from
lists written here, so the tests check that the picture shows what the graph holds.
"""

from __future__ import annotations

import copy
import time
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.browser

RED = "rgb(229,57,53)"
WHITE = "rgb(255,255,255)"


def api_query(gateway: Any, gremlin: str) -> list[dict[str, Any]]:
    resp = httpx.post(f"{gateway.url}/api/topology", json={"GremlinQuery": gremlin}, timeout=10)
    resp.raise_for_status()
    out: list[dict[str, Any]] = resp.json()
    return out


def local_input(t: float) -> str:
    """A datetime-local value in UTC (the test browser's time zone)."""
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%S")


def elements(drawn: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {i: d for i, d in drawn.items() if d["kind"] == "element"}


def color(d: dict[str, Any]) -> str:
    return str(d["color"]).replace(" ", "")


def test_the_page_opens_with_namespaces_folded_inside_the_expanded_cluster(dash, gateway):
    dash.open()
    drawn = dash.drawn()
    namespaces = {i: d for i, d in drawn.items() if d["type"] == "namespace"}
    cluster = [i for i, d in drawn.items() if d["type"] == "cluster"]
    expected = {n["ID"] for n in api_query(gateway, "G.V().Has('Type', 'namespace')")}
    assert set(namespaces) == expected
    assert all("folded" in d["classes"] for d in namespaces.values())
    assert all(d["parent"] == cluster[0] for d in namespaces.values())
    # Nothing namespaced is drawn on its own until its namespace is expanded.
    pods = {n["ID"] for n in api_query(gateway, "G.V().Has('Type', 'pod')")}
    assert not pods & set(drawn)


def test_clicking_a_folded_namespace_expands_it_into_a_box_of_its_objects(dash, gateway):
    dash.open()
    default = gateway.cluster.node_id("namespace", "default")
    dash.click(default)
    drawn = dash.drawn()
    assert "folded" not in drawn[default]["classes"]
    in_default = {
        n["ID"] for n in api_query(gateway, "G.V().Has('K8s.Namespace', 'default', 'Type', 'pod')")
    }
    children = {i for i, d in drawn.items() if d["parent"] == default}
    assert in_default and in_default <= children
    # Double-clicking the box (in its padding, not on a child) folds it again.
    box = dash.js(
        """(id) => window.topolog.canvas.cy.getElementById(id)
            .renderedBoundingBox({includeLabels: false, includeOverlays: false})""",
        default,
    )
    top = dash.js("() => document.getElementById('cy').getBoundingClientRect()")
    dash.page.mouse.dblclick(top["left"] + box["x1"] + 5, top["top"] + box["y2"] - 5)
    dash.settle()
    assert "folded" in dash.drawn()[default]["classes"]


def test_the_filter_draws_exactly_what_the_query_returns(dash, gateway):
    dash.open()
    query = "G.V().Has('K8s.Labels.app', 'hello-node')"
    dash.filter(query)
    answer = api_query(gateway, query)
    containers = {n["ID"] for n in answer if n["Metadata"]["Type"] == "container"}
    expected = {n["ID"] for n in answer} - containers
    # Containers are folded into their pods until the "containers" box is ticked.
    assert set(elements(dash.drawn())) == expected
    dash.page.check("#containers")
    dash.settle()
    assert set(elements(dash.drawn())) == expected | containers
    assert dash.page.input_value("#filter") == query
    assert "filter=" in dash.page.url


def test_a_bad_query_shows_the_gateways_error_and_keeps_the_picture(dash, gateway):
    dash.open()
    before = set(dash.drawn())
    dash.page.fill("#filter", "G.V().Has('Type'")
    dash.page.press("#filter", "Enter")
    dash.page.wait_for_selector("#error:not([hidden])", timeout=5000)
    assert dash.page.inner_text("#error").strip()
    dash.settle()
    assert set(dash.drawn()) == before


def test_highlight_marks_the_pods_that_use_the_secret(dash, gateway):
    dash.open()
    dash.filter("G.V().Has('K8s.Labels.app', 'wordpress')")
    highlight = "G.V().Has('Type', 'secret', 'Name', 'mysql-pass').In()"
    dash.highlight(highlight)
    users = {n["ID"] for n in api_query(gateway, highlight) if n["Metadata"]["Type"] != "namespace"}
    drawn = elements(dash.drawn())
    marked = {i for i, d in drawn.items() if "highlight" in d["classes"]}
    assert users and marked == users & set(drawn)
    assert marked == users


def test_the_k8s_storage_preset_filters_claims_volumes_classes_and_their_pods(dash, gateway):
    dash.open()
    dash.filter("k8s storage")
    storage = api_query(
        gateway,
        "G.V().Has('Type', Within('persistentvolumeclaim', 'persistentvolume', 'storageclass'))",
    )
    pods = api_query(gateway, "G.V().Has('Type', 'persistentvolumeclaim').In().Has('Type', 'pod')")
    assert set(elements(dash.drawn())) == {n["ID"] for n in storage + pods}


def test_a_down_pod_is_red_and_selecting_it_lights_its_root_cause_chain(dash, gateway):
    dash.open()
    dash.filter("k8s storage")
    dash.highlight("G.V().Has('Name', Regex('task-pv-.*'))")
    pod = gateway.cluster.node_id("pod", "task-pv-pod")
    claim = gateway.cluster.node_id("persistentvolumeclaim", "task-pv-claim")
    volume = gateway.cluster.node_id("persistentvolume", "task-pv-volume")
    drawn = dash.drawn()
    assert color(drawn[pod]) == RED and "down" in drawn[pod]["classes"]
    assert color(drawn[claim]) == RED
    assert color(drawn[volume]) == WHITE
    dash.click(pod)
    drawn = dash.drawn()
    assert "rootcause" in drawn[pod]["classes"]
    assert "rootcause" in drawn[claim]["classes"]
    assert "rootcause" not in drawn[volume]["classes"]
    chain_edges = [e for e in dash.drawn_edges().values() if "rootcause" in e["classes"]]
    assert {(e["source"], e["target"]) for e in chain_edges} == {(pod, claim)}
    # The panel names the root cause and its reason.
    details = dash.page.inner_text("#details")
    assert "task-pv-pod" in details and "DOWN" in details and "task-pv-claim" in details


def test_a_live_change_appears_within_two_seconds_and_a_deletion_disappears(dash, gateway):
    dash.open("expand=all")
    sc = gateway.scenario
    probe = copy.deepcopy(sc.find("Pod", "task-pv-pod"))
    probe["metadata"] = {
        "name": "live-probe",
        "namespace": "default",
        "uid": "live-probe-uid",
        "labels": {"app": "live"},
    }
    probe["spec"] = {"containers": [{"name": "c", "image": "busybox"}]}
    started = time.monotonic()
    gateway.cluster.put(gateway.scenario.running(probe))
    dash.page.wait_for_function(
        """() => window.topolog.canvas.cy.nodes().some(n => n.data('label') === 'live-probe')""",
        timeout=2000,
    )
    assert time.monotonic() - started < 2.5
    gateway.cluster.delete(probe)
    dash.page.wait_for_function(
        """() => !window.topolog.canvas.cy.nodes().some(n => n.data('label') === 'live-probe')""",
        timeout=2000,
    )


def test_the_stream_resumes_after_a_drop_without_losing_a_change(dash, gateway):
    dash.open("expand=all")
    seen = dash.js("() => window.topolog.live.lastEventId")
    # The gateway goes away (every connection drops), a change lands meanwhile, and the
    # gateway comes back on the same port over the same store.
    gateway.server.stop()
    try:
        dash.page.wait_for_function(
            "() => document.body.dataset.stream === 'reconnecting'", timeout=10000
        )
        probe = {
            "kind": "ConfigMap",
            "metadata": {
                "name": "while-offline",
                "namespace": "default",
                "uid": "while-offline-uid",
            },
            "data": {"k": "v"},
        }
        gateway.cluster.put(probe)
    finally:
        gateway.server.start()
    dash.page.wait_for_function(
        """() => window.topolog.canvas.cy.nodes().some(n => n.data('label') === 'while-offline')""",
        timeout=15000,
    )
    # The browser's graph equals the gateway's: nothing missed, nothing twice.
    whole = httpx.get(f"{gateway.url}/api/topology", timeout=10).json()
    ids = dash.js("() => [...window.topolog.live.current.nodes.keys()]")
    assert sorted(ids) == sorted(n["ID"] for n in whole["Nodes"])
    # It resumed after the last event it had seen rather than starting over.
    assert seen and dash.js("() => window.topolog.live.syncs") == 1
    gateway.cluster.delete(probe)


def test_time_travel_shows_a_pod_deleted_since(dash, gateway):
    dash.open("expand=all")
    old = gateway.scenario.pods["wordpress"][0]["metadata"]["name"]
    assert dash.drawn_by_name("pod", old) is None
    dash.page.fill("#at", local_input(gateway.times["created"] + 60))
    dash.page.dispatch_event("#at", "change")
    dash.page.wait_for_function("() => document.body.dataset.mode === 'at'")
    dash.settle()
    dash.js("() => window.topolog.expandAll()")
    dash.settle()
    assert dash.drawn_by_name("pod", old) is not None
    assert "at=" in dash.page.url
    dash.page.click("#live")
    dash.page.wait_for_function("() => document.body.dataset.mode === 'live'")
    dash.settle()
    assert dash.drawn_by_name("pod", old) is None


def test_replay_plays_the_window_forward_through_the_deletion(dash, gateway):
    dash.open("filter=" + "G.V().Has('K8s.Labels.app', 'wordpress')")
    old = gateway.scenario.pods["wordpress"][0]["metadata"]["name"]
    seen: list[bool] = dash.js(
        """async ([t0, t1, old]) => {
            const app = window.topolog, seen = [];
            const render = app.render.bind(app);
            const drawn = () => app.canvas.cy.nodes().some(n => n.data('label') === old);
            app.render = (o) => { render(o); seen.push(drawn()); };
            document.getElementById('speed').value = '250';
            await app.replay(t0, t1, 4);
            app.render = render;
            return seen;
        }""",
        [gateway.times["created"] + 30, gateway.times["rotated"] + 30, old],
    )
    assert seen[0] and not seen[-1]
    assert dash.js("() => document.body.dataset.mode") == "at"


def test_diff_marks_the_deleted_pods_removed_and_their_replacements_added(dash, gateway):
    dash.open("filter=" + "G.V().Has('K8s.Labels.app', 'wordpress')")
    dash.page.fill("#t0", local_input(gateway.times["created"] + 60))
    dash.page.fill("#t1", local_input(time.time()))
    dash.page.click("#diff")
    dash.page.wait_for_function("() => document.body.dataset.mode === 'diff'")
    dash.settle()
    old = {
        p["metadata"]["name"]
        for d in ("wordpress", "wordpress-mysql")
        for p in gateway.scenario.pods[d]
    }
    drawn = elements(dash.drawn())
    removed = {
        d["label"] for d in drawn.values() if "diff-removed" in d["classes"] and d["type"] == "pod"
    }
    added = {
        d["label"] for d in drawn.values() if "diff-added" in d["classes"] and d["type"] == "pod"
    }
    live_pods = {
        n["Metadata"]["Name"]
        for n in api_query(gateway, "G.V().Has('K8s.Labels.app', 'wordpress').Has('Type', 'pod')")
    }
    assert removed == old
    assert added == live_pods
    assert "removed" in dash.page.inner_text("#details")


def test_can_a_reach_b_shows_the_gateways_verdict_and_the_deciding_policies(dash, gateway):
    dash.open("expand=all")
    pods = {
        p["Metadata"]["Name"].split("-v1-")[0]: f"default/{p['Metadata']['Name']}"
        for p in api_query(gateway, "G.V().Has('Type', 'pod', 'K8s.Namespace', 'default')")
        if "-v1-" in p["Metadata"]["Name"]
    }
    dash.page.click("button[data-tab=reach]")
    for src, dst in (("productpage", "details"), ("details", "productpage")):
        dash.page.fill("#reach-from", pods[src])
        dash.page.fill("#reach-to", pods[dst])
        dash.page.fill("#reach-port", "9080")
        dash.page.click("#reach-form button[type=submit]")
        dash.page.wait_for_selector("#reach-result .verdict")
        want = httpx.get(
            f"{gateway.url}/api/v1/reach",
            params={"from": pods[src], "to": pods[dst], "port": 9080, "protocol": "TCP"},
            timeout=10,
        ).json()
        text = dash.page.inner_text("#reach-result")
        assert ("allowed" in text) == want["allowed"], (src, dst, text)
        for ref in want["ingress"]["isolating"]:
            assert ref.split("/")[1] in text


def test_clicking_a_network_policy_edge_shows_its_policy_fields(dash, gateway):
    dash.open("filter=k8s%20network")
    edge_id = dash.js(
        """() => window.topolog.canvas.cy.edges('.r-networkpolicy')
            .filter(e => !e.id().startsWith('agg:'))[0].id()"""
    )
    dash.js("(id) => window.topolog.canvas.cy.getElementById(id).emit('tap')", edge_id)
    edge = httpx.get(f"{gateway.url}/api/v1/edges/{edge_id}", timeout=10).json()
    details = dash.page.inner_text("#details")
    for key in ("PolicyType", "PolicyTarget", "PolicyPoint"):
        assert key in details and str(edge["Metadata"][key]) in details
