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


def test_events_are_split_from_chunks_cut_anywhere() -> None:
    wire = (
        b"id: 3\r\nevent: Sync\r\ndata: {}\r\n\r\n: ping - now\r\n\r\n"
        b'id: 4.0\r\nevent: NodeAdded\r\ndata: {"a":1}\r\n\r\n'
        b"event: Multi\ndata: one\ndata: two\n\n"
    )
    want = [("Sync", b"{}"), ("NodeAdded", b'{"a":1}'), ("Multi", b"one\ntwo")]
    for cut in range(len(wire) + 1):
        first, rest = sse.split_events(wire[:cut])
        second, rest = sse.split_events(rest + wire[cut:])
        assert first + second == want, cut
        assert rest == b""
