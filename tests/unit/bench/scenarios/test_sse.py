"""Recognising the probe changes in SSE event data."""

from __future__ import annotations

import orjson

from bench.scenarios import sse, stack


def test_the_probe_sequence_is_read_from_the_node_labels() -> None:
    env = stack.probe_envelope("bench", 1234, now=0.0)
    node = {"ID": "x", "Metadata": {"K8s": {"Labels": env.object["metadata"]["labels"]}}}
    assert sse.probe_seq(orjson.dumps(node)) == 1234
    assert sse.probe_seq(b'{"ID": "y", "Metadata": {}}') is None


def test_probes_cycle_through_distinct_objects_and_first_come_as_added() -> None:
    first = stack.probe_envelope("bench", 0, now=0.0)
    again = stack.probe_envelope("bench", stack.PROBES, now=0.0)
    other = stack.probe_envelope("bench", 1, now=0.0)
    assert first.name == again.name != other.name
    assert first.type.value == "ADDED" and again.type.value == "MODIFIED"
