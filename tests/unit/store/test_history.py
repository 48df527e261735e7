"""The projection's rules, in memory (the reference Redis is tested against)."""

from __future__ import annotations

from store.encoding import Position
from store.history import History
from store.keys import Kind
from store.snapshot import Direction
from topolog.core import graph

T = 1_700_000_000.0


def node(uid: str, state: str = "UP") -> graph.Change:
    n = graph.Node(id=uid, metadata={"Type": "pod", "Name": uid, "State": state})
    return graph.Change(op=graph.Op.NODE_UPSERT, id=uid, node=n)


def edge(parent: str, child: str) -> graph.Change:
    e = graph.Edge(
        id=f"{parent}>{child}", parent=parent, child=child, metadata={"RelationType": "x"}
    )
    return graph.Change(op=graph.Op.EDGE_UPSERT, id=e.id, edge=e)


def gone(uid: str) -> graph.Change:
    return graph.Change(op=graph.Op.NODE_DELETE, id=uid)


def cs(at: float, *changes: graph.Change) -> graph.ChangeSet:
    return graph.ChangeSet(time=at, changes=list(changes))


def ms(seconds: float) -> int:
    return round(seconds * 1000)


def test_a_record_at_or_below_the_high_water_mark_is_a_redelivery() -> None:
    h = History()
    at = Position("g", 0, 5)
    assert h.apply(cs(T, node("a")), at) == 1
    assert h.apply(cs(T + 1, node("a", "DOWN")), at) == -1
    assert h.apply(cs(T + 1, node("a", "DOWN")), Position("g", 0, 4)) == -1
    assert h.apply(cs(T + 1, node("a", "DOWN")), Position("g", 1, 0)) == 2  # other partition


def test_an_unchanged_upsert_or_a_delete_of_nothing_creates_no_revision() -> None:
    h = History()
    h.apply(cs(T, node("a")))
    assert h.apply(cs(T + 1, node("a"), gone("zz"))) == 0
    assert h.revision == 1


def test_deleting_a_node_deletes_its_edges() -> None:
    h = History()
    h.apply(cs(T, node("a"), node("b"), edge("a", "b")))
    h.apply(cs(T + 1, gone("b")))
    assert list(h.at(None).all_edge_ids()) == []
    assert h.feed[-1].changes[0]["op"] == "edge.delete"
    assert h.at(ms(T)).edges_of(["a"], Direction.OUT) == [["a>b"]]


def test_a_slice_shows_an_element_deleted_inside_it_with_its_deletion_time() -> None:
    h = History()
    h.apply(cs(T, node("a")))
    h.apply(cs(T + 10, gone("a")))
    inside = h.between(ms(T + 5), ms(T + 20)).nodes(["a"])[0]
    assert inside is not None
    assert inside["DeletedAt"] == ms(T + 10)
    assert h.between(ms(T + 10), ms(T + 20)).nodes(["a"]) == [None]
    assert "DeletedAt" not in (h.at(ms(T + 5)).nodes(["a"])[0] or {})


def test_recreating_an_element_continues_its_revisions_with_a_new_creation_time() -> None:
    h = History()
    h.apply(cs(T, node("a")))
    h.apply(cs(T + 1, gone("a")))
    h.apply(cs(T + 2, node("a", "DOWN")))
    again = h.at(None).nodes(["a"])[0]
    assert again is not None
    assert (again["Revision"], again["CreatedAt"]) == (2, ms(T + 2))
    assert h.version_between(Kind.NODE, "a", ms(T + 1), ms(T + 1)) is None
