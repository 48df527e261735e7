"""The arguments the Lua writer gets for a changeset."""

from __future__ import annotations

import pytest

from store import encoding
from store.keys import Keys
from store.projection import script_args
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
    assert _netstrings(args[5]) == [
        *[b"node.upsert", b"a", encoding.node_body(n), b"", b"Name=a\tType=pod"],
        *[b"edge.upsert", b"e1", encoding.edge_body(e), b"", b""],
        *[b"edge.delete", b"e1", b"", b"", b""],
    ]


def _netstrings(blob: bytes) -> list[bytes]:
    out = []
    while blob:
        length, rest = blob.split(b":", 1)
        out.append(rest[: int(length)])
        blob = rest[int(length) :]
    return out


def test_an_upsert_without_its_element_is_refused() -> None:
    bad = graph.ChangeSet(time=0, changes=[graph.Change(op=graph.Op.NODE_UPSERT, id="a")])
    with pytest.raises(ValueError, match="without a node"):
        script_args(Keys(), bad, None)
