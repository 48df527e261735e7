"""The chaos run's SSE client: its mirror follows the events and it flags broken ids."""

from __future__ import annotations

import orjson

from topolog.chaos.watcher import Watcher


def _event(watcher: Watcher, name: str, event_id: str | None, data: object) -> None:
    fields = {"event": name, "data": orjson.dumps(data).decode()}
    if event_id is not None:
        fields["id"] = event_id
    watcher._dispatch(fields)


def _node(node_id: str, state: str = "UP") -> dict[str, object]:
    return {"ID": node_id, "Metadata": {"State": state}}


def test_consecutive_ids_after_a_sync_are_neither_gaps_nor_duplicates() -> None:
    w = Watcher("http://gateway")
    _event(w, "Sync", "5", {"Nodes": [_node("a")], "Edges": []})
    _event(w, "NodeAdded", "6.0", _node("b"))
    _event(w, "NodeUpdated", "6.1", _node("a", "DOWN"))
    _event(w, "NodeDeleted", "7.0", _node("b"))
    assert (w.gaps, w.duplicates, w.resyncs) == (0, 0, 0)
    assert w.nodes == {"a": _node("a", "DOWN")}
    assert w.last_id == "7.0"


def test_a_skipped_revision_or_index_is_a_gap() -> None:
    w = Watcher("http://gateway")
    _event(w, "Sync", "5", {"Nodes": [], "Edges": []})
    _event(w, "NodeAdded", "7.0", _node("a"))
    _event(w, "NodeAdded", "7.2", _node("b"))
    assert w.gaps == 2


def test_the_revision_of_a_sync_is_not_expected_again() -> None:
    w = Watcher("http://gateway")
    _event(w, "Sync", "5", {"Nodes": [], "Edges": []})
    _event(w, "NodeAdded", "5.0", _node("a"))
    assert w.duplicates == 1
    assert w.nodes == {}


def test_an_id_at_or_before_the_last_is_a_duplicate_and_not_applied() -> None:
    w = Watcher("http://gateway")
    _event(w, "Sync", "1", {"Nodes": [], "Edges": []})
    _event(w, "NodeAdded", "2.0", _node("a"))
    _event(w, "NodeDeleted", "2.0", _node("a"))
    assert w.duplicates == 1
    assert "a" in w.nodes


def test_a_resync_is_counted_and_forgets_the_cursor() -> None:
    w = Watcher("http://gateway")
    _event(w, "Sync", "1", {"Nodes": [], "Edges": []})
    _event(w, "Resync", None, {"reason": "behind"})
    assert w.resyncs == 1
    assert w.last_id is None


def test_edges_follow_their_events() -> None:
    w = Watcher("http://gateway")
    edge = {"ID": "e", "Parent": "a", "Child": "b", "Metadata": {}}
    _event(w, "Sync", "1", {"Nodes": [], "Edges": [edge]})
    _event(w, "EdgeDeleted", "2.0", edge)
    assert w.edges == {}


def test_ids_with_a_history_resume_with_it_and_a_renamed_history_continues() -> None:
    # "<history>:<revision>.<index>"; a rebuilt projection holding the same history goes
    # on from the same revision numbers under a new tag.
    w = Watcher("http://gateway")
    _event(w, "Sync", "0a1b2c3d:5", {"Nodes": [], "Edges": []})
    _event(w, "NodeAdded", "0a1b2c3d:6.0", _node("a"))
    assert w.last_id == "0a1b2c3d:6.0"
    _event(w, "NodeAdded", "99887766:7.0", _node("b"))
    _event(w, "NodeAdded", "99887766:7.0", _node("c"))
    assert (w.gaps, w.duplicates) == (0, 1)
    assert w.last_id == "99887766:7.0"
    assert set(w.nodes) == {"a", "b"}
