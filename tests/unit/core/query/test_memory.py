"""The in-memory GraphView/TimeTravel: revision validity, views, index and adjacency."""

from __future__ import annotations

from topolog.core.query import Direction, memory

T = 1000.0


def history() -> memory.MemoryHistory:
    return memory.MemoryHistory(
        nodes=[
            memory.node("a", {"Name": "a", "Rev": 1}, created=T),
            memory.node("a", {"Name": "a", "Rev": 2}, created=T, updated=T + 10, revision=2),
            memory.node("b", {"Name": "b", "K8s": {"Labels": {"x": "1"}}}, created=T + 5),
            memory.node("gone", {"Name": "gone"}, created=T, deleted=T + 20),
        ],
        edges=[
            memory.edge("ab", "a", "b", {"RelationType": "r"}, created=T + 5),
            memory.edge("a-gone", "a", "gone", {}, created=T, deleted=T + 20),
        ],
    )


def _ids(view: memory.MemoryView) -> list[str]:
    return sorted(view.all_node_ids())


def test_builders_store_times_in_epoch_ms() -> None:
    n = memory.node("n", {}, created=1.5, deleted=2.25)
    assert (n["CreatedAt"], n["UpdatedAt"], n["DeletedAt"]) == (1500, 1500, 2250)


def test_live_view_has_current_revisions_and_no_deleted_elements() -> None:
    live = history().live()
    assert _ids(live) == ["a", "b"]
    (a,) = live.nodes(["a"])
    assert a is not None and a["Metadata"]["Rev"] == 2
    assert sorted(live.all_edge_ids()) == ["ab"]


def test_view_at_picks_the_revision_valid_then() -> None:
    h = history()
    assert _ids(h.view_at(T - 1)) == []
    early = h.view_at(T + 1)
    assert _ids(early) == ["a", "gone"]
    (a,) = early.nodes(["a"])
    assert a is not None and a["Metadata"]["Rev"] == 1
    assert _ids(h.view_at(T + 20)) == ["a", "b"]  # deletion time is exclusive


def test_deleted_element_carries_deleted_at_in_history() -> None:
    (gone,) = history().view_at(T + 19).nodes(["gone"])
    assert gone is not None and gone["DeletedAt"] == round((T + 20) * 1000)


def test_view_between_has_everything_alive_in_the_slice_at_its_latest() -> None:
    h = history()
    view = h.view_between(T + 1, T + 30)
    assert _ids(view) == ["a", "b", "gone"]
    (a,) = view.nodes(["a"])
    assert a is not None and a["Metadata"]["Rev"] == 2
    assert _ids(h.view_between(T + 21, T + 30)) == ["a", "b"]


def test_edges_of_by_direction() -> None:
    view = history().view_at(T + 6)
    assert view.edges_of(["a", "b"], Direction.OUT) == [["ab", "a-gone"], []]
    assert view.edges_of(["a", "b"], Direction.IN) == [[], ["ab"]]
    assert view.edges_of(["b"], Direction.BOTH) == [["ab"]]


def test_self_loop_is_listed_once_for_both() -> None:
    view = memory.MemoryView([], [memory.edge("l", "n", "n", {}, created=T)])
    assert view.edges_of(["n"], Direction.BOTH) == [["l"]]


def test_index_answers_exact_string_values() -> None:
    view = history().live()
    assert list(view.nodes_by_index("K8s.Labels.x", "1")) == ["b"]
    assert list(view.nodes_by_index("Name", "nope")) == []


def test_missing_ids_are_none_in_place() -> None:
    assert history().live().nodes(["a", "zzz"])[1] is None
