"""A cluster of thousands of pods stays a readable picture: folded until expanded."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.browser


def test_thousands_of_pods_are_drawn_as_a_few_hundred_nodes_when_everything_is_expanded(
    large_dash, large_gateway
):
    started = time.monotonic()
    large_dash.open()
    opened = time.monotonic() - started
    pods = httpx.post(
        f"{large_gateway.url}/api/topology",
        json={"GremlinQuery": "G.V().Has('Type', 'pod').Count()"},
        timeout=30,
    ).json()
    large_dash.js("() => window.topolog.expandAll()")
    large_dash.settle()
    drawn = large_dash.drawn()
    budget = large_dash.js("() => window.topolog.limits.budget")
    objects = large_dash.js("() => window.topolog.graph.nodes.size")
    singles = [d for d in drawn.values() if d["kind"] == "element"]
    assert pods >= 1000
    # Objects drawn one by one stay within the draw budget, whatever the cluster's size;
    # the rest are aggregates (at most one per kind or workload per box).
    assert len(singles) <= budget, f"{len(singles)} objects drawn one by one"
    assert len(drawn) < objects / 10, f"{len(drawn)} nodes drawn for {objects} objects"
    # Every pod is accounted for: drawn itself or inside an aggregate that says how many.
    counted = sum(
        d["members"] for d in drawn.values() if d["kind"] == "aggregate" and d["type"] == "pod"
    ) + sum(1 for d in drawn.values() if d["kind"] == "element" and d["type"] == "pod")
    assert counted == pods
    assert opened < 30


def test_clicking_an_aggregate_draws_its_members_inside_it(large_dash, large_gateway):
    large_dash.open("expand=all")
    drawn = large_dash.drawn()
    agg_id, agg = next(
        (i, d) for i, d in drawn.items() if d["kind"] == "aggregate" and d["type"] == "pod"
    )
    inside: list[dict[str, Any]] = []
    # Under load the layout may still be moving when the pointer lands (a real user would
    # click again): up to three clicks, each followed by up to 3 s for the members to draw.
    for _ in range(3):
        large_dash.click(agg_id)
        deadline = time.monotonic() + 3
        while not inside and time.monotonic() < deadline:
            after = large_dash.drawn()
            inside = [d for d in after.values() if d["parent"] == agg_id and d["kind"] == "element"]
            time.sleep(0.1)
        if inside:
            break
    assert len(inside) == agg["members"]
    assert all(d["type"] == "pod" for d in inside)
