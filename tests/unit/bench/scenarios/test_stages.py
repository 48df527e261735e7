"""Splitting a probe's latency into hops: finding the probes in each stage's records."""

from __future__ import annotations

import pytest

from bench.scenarios import stack, stages
from processors import batches
from topolog.core import graph
from topolog.core.derive.engine import Deriver


def _probe_changeset(seq: int) -> bytes:
    result = Deriver("bench").apply(stack.probe_envelope("bench", seq, now=1.0))
    return graph.ChangeSet(time=1.0, changes=result.changes).to_json()


def test_probes_are_found_in_the_route_stages_cluster_batches() -> None:
    items = [
        (graph.Source("resources", 0, seq), stack.probe_envelope("bench", seq, now=1.0).to_json())
        for seq in (7, 1030)
    ]
    assert stages.probe_seqs(batches.encode("bench", items)) == {7, 1030}


def test_probes_are_found_in_the_derive_stages_changesets() -> None:
    assert stages.probe_seqs(_probe_changeset(42)) == {42}
    assert stages.probe_seqs(b'{"changes": [{"op": "node.upsert", "id": "x"}]}') == set()


def test_the_earliest_record_carrying_a_probe_stamps_it() -> None:
    late, early = _probe_changeset(5), _probe_changeset(5)
    assert stages.earliest([(3.0, late), (2.0, early), (4.0, b"{}")]) == {5: 2.0}


def test_probe_node_ids_cycle_like_the_probe_objects() -> None:
    assert stages.probe_node_id("bench", 3) == stages.probe_node_id("bench", 3 + stack.PROBES)
    assert stages.probe_node_id("bench", 3) in _probe_changeset(3)


def test_a_feed_entry_counts_only_from_the_changeset_on() -> None:
    feed = stages.FeedLog()
    node = stages.probe_node_id("bench", 1)
    feed.add(1.0, b"[[n+, " + node + b", 3, 1.0]]")  # an earlier change of the same object
    feed.add(2.0, b"[[n+, other, 4, 2.0]]")
    feed.add(3.0, b"[[n+, " + node + b", 5, 3.0]]")
    assert feed.first_naming(node, 1.5) == 3.0
    assert feed.first_naming(node, 3.5) is None


def test_each_hop_is_the_time_between_two_stages_handing_the_probe_on() -> None:
    feed = stages.FeedLog()
    feed.add(10.4, stages.probe_node_id("bench", 1))
    per_hop = stages.hops(
        "bench",
        published={1: 10.0, 2: 11.0},
        arrived={1: 10.5, 2: 11.9},
        routed={1: 10.1, 2: 11.1},
        derived={1: 10.3},  # probe 2 has no changeset stamp: skipped
        feed=feed,
    )
    assert per_hop == {
        "route": [pytest.approx(0.1)],
        "derive": [pytest.approx(0.2)],
        "project": [pytest.approx(0.1)],
        "deliver": [pytest.approx(0.1)],
    }
    summary = stages.summary(per_hop)
    assert summary["hop_derive_p50_ms"] == pytest.approx(200.0)
    assert set(summary) == {f"hop_{h}_p{q}_ms" for h in stages.HOPS for q in (50, 99)}


def test_the_gateways_deferred_versions_are_read_from_its_metrics() -> None:
    text = (
        "# HELP topolog_gateway_revision Graph revision.\n"
        "# TYPE topolog_gateway_revision gauge\n"
        "topolog_gateway_revision 12.0\n"
        "# HELP topolog_gateway_deferred_versions Versions not read yet.\n"
        "# TYPE topolog_gateway_deferred_versions gauge\n"
        "topolog_gateway_deferred_versions 2043.0\n"
    )
    assert stack.deferred_versions(text) == 2043
    assert stack.deferred_versions("topolog_gateway_revision 12.0\n") is None


def test_a_processors_per_cluster_gauge_is_read_by_its_labels() -> None:
    text = (
        "# HELP topolog_processor_initial_list 1 while listing.\n"
        "# TYPE topolog_processor_initial_list gauge\n"
        'topolog_processor_initial_list{cluster="east"} 0.0\n'
        'topolog_processor_initial_list{cluster="bench"} 1.0\n'
    )
    assert stack.metric(text, "topolog_processor_initial_list", cluster="bench") == 1
    assert stack.metric(text, "topolog_processor_initial_list", cluster="east") == 0
    assert stack.metric(text, "topolog_processor_initial_list", cluster="west") is None
