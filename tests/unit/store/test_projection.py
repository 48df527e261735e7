"""The arguments the Lua writer gets for a changeset."""

from __future__ import annotations

import msgpack
import pytest

from store import encoding
from store.keys import Keys
from store.scriptargs import batch_cuts, record_args, script_args, unpack_changes
from topolog.core import graph


def test_script_args_carry_position_time_and_one_group_per_change() -> None:
    n = graph.Node(id="a", metadata={"Type": "pod", "Name": "a"})
    e = graph.Edge(id="e1", parent="a", child="b", metadata={})
    changes = [
        graph.Change(op=graph.Op.NODE_UPSERT, id="a", node=n),
        graph.Change(op=graph.Op.EDGE_UPSERT, id="e1", edge=e),
        graph.Change(op=graph.Op.EDGE_DELETE, id="e1"),
    ]
    args = script_args(
        Keys("p:"), graph.ChangeSet(time=1.5, changes=changes), encoding.Position("g", 2, 9)
    )
    assert args[:5] == ["p:", "g:2", 9, 1500, 3]
    # An upsert's record is the current record of a new element starting at the time.
    node_body = encoding.node_body(n)
    terms = "Name=a\tType=pod"
    assert unpack_changes(args[5]) == [
        *[b"node.upsert", b"a", encoding.current_record(1, 1500, 1500, None, terms, node_body)],
        *[b"edge.upsert", b"e1", b"1\n1500\n\n\n\n" + encoding.edge_body(e)],
        *[b"edge.delete", b"e1", b""],
    ]


def test_an_upsert_without_its_element_is_refused() -> None:
    bad = graph.ChangeSet(time=0, changes=[graph.Change(op=graph.Op.NODE_UPSERT, id="a")])
    with pytest.raises(ValueError, match="without a node"):
        script_args(Keys(), bad, None)


def _changesets() -> list[graph.ChangeSet]:
    src = graph.Source(topic="topolog.resources", partition=1, offset=7)
    pod = graph.Node(
        id="uid-1",
        metadata={
            "Type": "pod",
            "Name": "web",
            "State": "UP",
            "K8s": {"Namespace": "ns", "Labels": {"app": "web", "app.kubernetes.io/name": "x"}},
            "Tags": ["a", "b"],
        },
    )
    dotted = graph.Node(id="uid-2", metadata={"Type": "x", "K8s.Namespace": "odd", "Ünï": "çödé"})
    edge = graph.Edge(id="e1", parent="uid-1", child="uid-2", metadata={"RelationType": "own"})
    return [
        graph.ChangeSet(
            time=1_700_000_000.1234,
            changes=[
                graph.Change(op=graph.Op.NODE_UPSERT, id=pod.id, node=pod, source=src),
                graph.Change(op=graph.Op.NODE_UPSERT, id=dotted.id, node=dotted),
                graph.Change(op=graph.Op.EDGE_UPSERT, id=edge.id, edge=edge, source=src),
                graph.Change(op=graph.Op.EDGE_DELETE, id="e1"),
                graph.Change(op=graph.Op.NODE_DELETE, id="uid-2", source=src),
            ],
        ),
        graph.ChangeSet(time=5, changes=[]),
        graph.ChangeSet(  # elements that come back: batch cuts
            time=6,
            changes=[
                graph.Change(op=graph.Op.NODE_UPSERT, id=pod.id, node=pod),
                graph.Change(op=graph.Op.EDGE_UPSERT, id=edge.id, edge=edge),
                graph.Change(op=graph.Op.NODE_UPSERT, id=pod.id, node=pod),
                graph.Change(op=graph.Op.EDGE_UPSERT, id=edge.id, edge=edge),
                graph.Change(op=graph.Op.EDGE_DELETE, id="e1"),
                graph.Change(op=graph.Op.EDGE_UPSERT, id=edge.id, edge=edge),
                graph.Change(op=graph.Op.EDGE_UPSERT, id=edge.id, edge=edge),
            ],
        ),
    ]


@pytest.mark.parametrize("changeset", _changesets())
@pytest.mark.parametrize("position", [None, encoding.Position("g", 3, 11)])
def test_args_from_a_record_equal_those_from_its_changeset(
    changeset: graph.ChangeSet, position: encoding.Position | None
) -> None:
    keys = Keys("p:")
    raw = changeset.to_json()
    assert record_args(keys, raw, position) == script_args(keys, changeset, position)


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b'{"v": 99, "time": 1, "changes": []}',
        b'{"v": 1, "changes": []}',
        b'{"v": 1, "time": 1, "changes": [{"op": "node.grow", "id": "a"}]}',
        b'{"v": 1, "time": 1, "changes": [{"op": "node.upsert", "id": "a"}]}',
    ],
)
def test_an_unreadable_record_is_refused(raw: bytes) -> None:
    with pytest.raises((ValueError, KeyError, TypeError)):
        record_args(Keys(), raw, None)


@pytest.mark.parametrize("length", [0, 1, 31, 32, 255, 256, 65535, 65536, 70000])
def test_changes_are_one_messagepack_array_of_strings_of_any_length(length: int) -> None:
    n = graph.Node(id="i" * min(length, 300), metadata={"Name": "x" * length})
    changes = [graph.Change(op=graph.Op.NODE_UPSERT, id=n.id, node=n)] * 2
    blob = script_args(Keys(), graph.ChangeSet(time=0, changes=changes), None)[5]
    body = encoding.node_body(n)
    record = b"1\n0\n\n\nName=" + b"x" * length + b"\n" + body
    fields = [b"node.upsert", n.id.encode(), record]
    assert unpack_changes(blob) == fields * 2
    # MessagePack strings, never the bin type (which comes back as bytes, not str, here).
    assert all(isinstance(f, str) for f in msgpack.unpackb(blob, raw=False))


def test_unpack_changes_refuses_what_is_not_an_array_of_strings() -> None:
    with pytest.raises(ValueError):
        unpack_changes(b"\x92\xa1a\x01")  # a number among the strings
    with pytest.raises(ValueError):
        unpack_changes(b"\xa1a")  # a string, not an array


def test_a_batch_of_upserts_is_cut_where_an_element_comes_back() -> None:
    def fields(*changes: tuple[str, str]) -> list[str | bytes]:
        return [x for op, element_id in changes for x in (op, element_id, "")]

    nu, eu, nd, ed = "node.upsert", "edge.upsert", "node.delete", "edge.delete"
    assert batch_cuts(fields((nu, "a"), (eu, "a"), (nu, "b"))) == []  # a node and an edge
    assert batch_cuts(fields((nu, "a"), (nu, "b"), (nu, "a"), (nu, "b"), (nu, "a"))) == [3, 5]
    # A deletion ends the run of upserts: what follows starts afresh.
    assert batch_cuts(fields((nu, "a"), (nd, "a"), (nu, "a"), (ed, "x"), (eu, "x"))) == []
    assert batch_cuts(fields((eu, "x"), (nd, "a"), (eu, "y"), (eu, "y"))) == [4]


def test_script_args_carry_the_batch_cuts_of_their_changes() -> None:
    n = graph.Node(id="a", metadata={"Name": "x"})
    change = graph.Change(op=graph.Op.NODE_UPSERT, id=n.id, node=n)
    args = script_args(Keys(), graph.ChangeSet(time=0, changes=[change] * 3), None)
    assert msgpack.unpackb(args[6]) == [2, 3]
