"""Canonical bodies, index terms and version records."""

from __future__ import annotations

from typing import Any

import pytest

from store import encoding
from topolog.core import graph
from topolog.core.query import matching

NODE = graph.Node(
    id="u1",
    metadata={
        "Type": "pod",
        "Name": "web-0",
        "State": "DOWN",
        "K8s": {
            "Namespace": "shop",
            "Labels": {"app": "web", "app.kubernetes.io/name": "shop-web", "n": 3},
        },
    },
)


def test_topic_names_and_sources_round_trip_through_their_text_form() -> None:
    source = graph.Source(topic="topolog.resources-v2_x", partition=11, offset=2**40)
    assert encoding.parse_source(encoding.source_text(source)) == source
    assert encoding.parse_source(encoding.source_text(None)) is None


def test_bodies_with_the_same_content_are_the_same_bytes_whatever_the_key_order() -> None:
    reordered = graph.Node(id="u1", metadata=dict(reversed(list(NODE.metadata.items()))))
    assert encoding.node_body(reordered) == encoding.node_body(NODE)


def test_node_terms_cover_indexed_keys_and_string_labels() -> None:
    assert encoding.node_terms(NODE.metadata) == sorted(
        [
            "Type=pod",
            "Name=web-0",
            "State=DOWN",
            "K8s.Namespace=shop",
            "K8s.Labels.app=web",
            "K8s.Labels.app.kubernetes.io/name=shop-web",
        ]
    )


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("Type", "pod"),
        ("K8s.Namespace", "shop"),
        ("K8s.Labels.app.kubernetes.io/name", "shop-web"),
        ("K8s.Labels.app", "web"),
    ],
)
def test_every_term_agrees_with_the_evaluators_field_lookup(key: str, value: str) -> None:
    element = NODE.to_dict()
    assert value in matching.field_values(element, key)
    assert encoding.term(key, value) in encoding.node_terms(NODE.metadata)


def test_non_indexed_keys_are_refused() -> None:
    assert encoding.is_indexed("K8s.Labels.app")
    assert not encoding.is_indexed("K8s.Labels.")
    assert not encoding.is_indexed("IP")


def test_version_record_round_trips_with_its_source() -> None:
    source = graph.Source(topic="topolog.resources", partition=3, offset=42)
    raw = encoding.record(1000, source, encoding.node_body(NODE))
    version = encoding.parse_record("u1", 2, 2000, raw)
    assert version.body == NODE.to_dict()
    assert version.source == source
    assert version.element() == {
        **NODE.to_dict(),
        "CreatedAt": 1000,
        "UpdatedAt": 2000,
        "Revision": 2,
    }


@pytest.mark.parametrize(("created", "start"), [(1000, 2000), (2000, 2000)])
def test_a_current_record_reads_like_the_same_past_record(created: int, start: int) -> None:
    source = graph.Source(topic="topolog.resources", partition=3, offset=42)
    body = encoding.node_body(NODE)
    terms = encoding.terms_text(encoding.node_terms(NODE.metadata))
    current = encoding.current_record(2, start, created, source, terms, body)
    assert current.split(b"\n")[2] == (b"" if created == start else b"1000")
    past = encoding.record(created, source, body)
    assert encoding.parse_record("u1", 2, start, current) == encoding.parse_record(
        "u1", 2, start, past
    )
    assert encoding.parse_record("u1", 2, start, current).created_at == created


def test_edge_record_round_trips_with_its_ends() -> None:
    edge = graph.Edge(
        id="e1", parent="uid-a", child="uid-b", metadata={"RelationType": "ownership"}
    )
    body = encoding.edge_body(edge)
    assert body == b'\tuid-a\tuid-b\t{"RelationType":"ownership"}'
    version = encoding.parse_record("e1", 1, 2000, encoding.record(1000, None, body))
    assert version.body == edge.to_dict()
    assert list(version.body) == ["ID", "Child", "Metadata", "Parent"]
    assert version.source is None


def test_changeset_times_in_seconds_become_milliseconds() -> None:
    assert encoding.to_ms(1_700_000_000.1234) == 1_700_000_000_123


@pytest.mark.parametrize(
    "metadata",
    [
        NODE.metadata,
        {"Type": ["pod", "x", 3], "Name": "n", "K8s": {"Namespace": "a", "Labels": {"k": "v"}}},
        {"Type": "pod", "K8s.Namespace": "flat", "K8s": {"Namespace": "nested"}},
        {"Type": "pod", "K8s": [{"Namespace": "in-a-list"}, {"Labels": {"a": "b"}}]},
        {"Type": "pod", "K8s": {"Labels": {"a.b": "1", "a": "2"}, "Labels.a": "x"}},
        {"Name": None, "State": {"nested": "UP"}},
        {},
        {"Type": "pod", "K8s": None},
        {"Type": "pod", "K8s": 3},
        {"K8s": {"Namespace": ["a", 1, "b"], "Labels": {"x": ["1", 2], "y": None, "z": ""}}},
    ],
)
def test_the_direct_path_finds_exactly_what_field_values_finds(metadata: dict[str, Any]) -> None:
    keys = [*encoding.INDEXED_KEYS]
    labels = (
        (metadata.get("K8s") or {}).get("Labels") if isinstance(metadata.get("K8s"), dict) else None
    )
    keys += [encoding.LABELS_PREFIX + k for k in labels or {}]
    slow = sorted(set(encoding._terms({"Metadata": metadata}, keys)))
    assert encoding.node_terms(metadata) == slow


def test_parsed_edges_share_their_metadata_and_their_ends() -> None:
    """A gateway holds every edge of the graph: the edges stored with the same metadata
    share one parsed dict (a graph has a handful of distinct ones), and each node id
    named by edges is one string, while each edge still reads as the processors sent it."""
    first = graph.Edge(
        "e1", "parent-" + "a" * 32, "child-" + "b" * 32, {"RelationType": "ownership"}
    )
    second = graph.Edge("e2", first.parent, "child-" + "c" * 32, {"RelationType": "ownership"})
    other = graph.Edge("e3", first.parent, first.child, {"RelationType": "node"})
    a, b, c = (encoding.parse_body(e.id, encoding.edge_body(e)) for e in (first, second, other))
    assert a == {
        "ID": "e1",
        "Child": first.child,
        "Metadata": {"RelationType": "ownership"},
        "Parent": first.parent,
    }
    assert a["Metadata"] is b["Metadata"] and c["Metadata"] == {"RelationType": "node"}
    assert a["Parent"] is b["Parent"] is c["Parent"] and a["Child"] is c["Child"]
