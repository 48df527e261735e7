"""The mirror with deferred upserts: whatever is settled when, it ends as the mirror that
read every version at once; stale and missing versions are told apart."""

from __future__ import annotations

import random
from typing import Any

import pytest

from gateway.mirror import Element, Mirror
from store.feedrecords import Wanted
from store.history import FeedEntry

IDS = [f"p{i}" for i in range(6)]
EDGES = [(a, b) for a in IDS for b in IDS if a < b]


class Store:
    """Feed entries of a random history, resolved (as the hub reads them with
    subscribers) and unresolved (without), and every version by (id, Revision)."""

    def __init__(self, seed: int, revisions: int = 60) -> None:
        rng = random.Random(seed)
        self.versions: dict[tuple[str, int], dict[str, Any]] = {}
        self.resolved: list[FeedEntry] = []
        self.unresolved: list[FeedEntry] = []
        alive_nodes: set[str] = set()
        alive_edges: dict[str, tuple[str, str]] = {}
        last: dict[str, int] = {}  # per element: its last Revision (versions and deletes)
        for revision in range(1, revisions + 1):
            full: list[dict[str, Any]] = []
            refs: list[dict[str, Any]] = []
            for _ in range(rng.randint(1, 5)):
                roll = rng.random()
                if roll < 0.45:
                    node_id = rng.choice(IDS)
                    body = {"ID": node_id, "Metadata": {"State": rng.choice(["UP", "DOWN"])}}
                    body["Metadata"]["n"] = rng.randint(0, 3)
                    alive_nodes.add(node_id)
                    self._upsert("node", body, revision, full, refs, last)
                elif roll < 0.88 and len(alive_nodes) >= 2:
                    parent, child = rng.choice(
                        [e for e in EDGES if e[0] in alive_nodes and e[1] in alive_nodes] or [None]
                    ) or (None, None)
                    if parent is None or child is None:
                        continue
                    edge_id = f"{parent}>{child}"
                    body = {
                        "ID": edge_id,
                        "Child": child,
                        "Metadata": {"w": rng.randint(0, 3)},
                        "Parent": parent,
                    }
                    alive_edges[edge_id] = (parent, child)
                    self._upsert("edge", body, revision, full, refs, last)
                elif alive_nodes:
                    node_id = rng.choice(sorted(alive_nodes))
                    for edge_id, ends in sorted(alive_edges.items()):
                        if node_id in ends:  # a node's edges go first, in the same entry
                            del alive_edges[edge_id]
                            self._delete("edge", edge_id, revision, full, refs, last)
                    alive_nodes.discard(node_id)
                    self._delete("node", node_id, revision, full, refs, last)
            self.resolved.append(FeedEntry(revision=revision, time=revision, changes=full))
            self.unresolved.append(FeedEntry(revision=revision, time=revision, changes=refs))

    def _upsert(
        self,
        kind: str,
        body: Element,
        at: int,
        full: list[dict[str, Any]],
        refs: list[dict[str, Any]],
        last: dict[str, int],
    ) -> None:
        element_id = body["ID"]
        revision = last[element_id] = last.get(element_id, 0) + 1
        change = {
            "op": f"{kind}.upsert",
            "id": element_id,
            "Revision": revision,
            "CreatedAt": 1,
            "UpdatedAt": at,
            "Source": None,
            kind: body,
        }
        self.versions[(element_id, revision)] = change
        full.append(change)
        refs.append({"op": change["op"], "id": element_id, "Revision": revision, "At": at})

    def _delete(
        self,
        kind: str,
        element_id: str,
        at: int,
        full: list[dict[str, Any]],
        refs: list[dict[str, Any]],
        last: dict[str, int],
    ) -> None:
        revision = last[element_id] = last.get(element_id, 0) + 1
        full.append(
            {"op": f"{kind}.delete", "id": element_id, "Revision": revision, "DeletedAt": at}
        )
        refs.append({"op": f"{kind}.delete", "id": element_id, "Revision": revision, "At": at})

    def read(self, wanted: Wanted) -> dict[str, list[Element | None]]:
        """``Backend.deferred_versions``: fresh elements with their ``CreatedAt``."""
        out: dict[str, list[Element | None]] = {}
        for name, (ids, revisions) in wanted.items():
            kind = "node" if name == "n" else "edge"
            out[name] = []
            for element_id, revision in zip(ids, revisions, strict=True):
                change = self.versions[(element_id, revision)]
                out[name].append({**change[kind], "CreatedAt": change["CreatedAt"]})
        return out


ALL = 10**9


def settle(mirror: Mirror, store: Store, limit: int = ALL) -> None:
    wanted = mirror.deferred_wanted(limit)
    mirror.settle(wanted, store.read(wanted))


def deferred_ids(mirror: Mirror) -> set[str]:
    return {i for ids, _ in mirror.deferred_wanted(ALL).values() for i in ids}


def state(mirror: Mirror) -> tuple[Any, ...]:
    return (mirror.revision, mirror.nodes, mirror.edges, mirror._incident)


@pytest.mark.parametrize("seed", range(40))
def test_settling_deferred_upsert_at_any_time_ends_as_reading_them_at_once(seed: int) -> None:
    store = Store(seed)
    rng = random.Random(seed + 1000)
    at_once, deferred = Mirror(), Mirror()
    for full, refs in zip(store.resolved, store.unresolved, strict=True):
        at_once.advance(full)
        if rng.random() < 0.3:
            deferred.advance(full)  # a subscriber came and went: resolved entries
        else:
            deferred.defer(refs)
        if rng.random() < 0.2:  # a quiet moment: some of them read
            settle(deferred, store, rng.randint(1, 4))
        if not deferred.deferred:
            assert state(deferred) == state(at_once)
    settle(deferred, store)
    assert deferred.deferred == 0
    assert state(deferred) == state(at_once)
    # The same JSON served either way: the same keys in the same order.
    for mine, theirs in ((deferred.nodes, at_once.nodes), (deferred.edges, at_once.edges)):
        assert all(list(mine[i]) == list(theirs[i]) for i in theirs)


def test_a_version_read_before_its_element_changed_again_is_not_applied() -> None:
    store = Store(3)
    mirror = Mirror()
    for refs in store.unresolved[:30]:
        mirror.defer(refs)
    wanted = mirror.deferred_wanted(ALL)
    stale = store.read(wanted)  # read, then the feed moves on
    for refs in store.unresolved[30:]:
        mirror.defer(refs)
    still = deferred_ids(mirror)
    mirror.settle(wanted, stale)
    # Elements changed since the read stay deferred; nothing older replaced anything.
    changed_again = {
        c["id"] for e in store.unresolved[30:] for c in e.changes if c["op"].endswith("upsert")
    }
    assert deferred_ids(mirror) == still & changed_again
    settle(mirror, store)
    at_once = Mirror()
    for full in store.resolved:
        at_once.advance(full)
    assert state(mirror) == state(at_once)


def test_a_deferred_version_gone_from_the_history_cannot_be_settled() -> None:
    store = Store(5)
    mirror = Mirror()
    for refs in store.unresolved:
        mirror.defer(refs)
    pending = mirror.deferred_wanted(ALL)
    assert deferred_ids(mirror)
    gone: dict[str, list[Element | None]] = {
        n: [None] * len(ids) for n, (ids, _) in pending.items()
    }
    with pytest.raises(LookupError, match="left the history"):
        mirror.settle(pending, gone)
    assert mirror.deferred  # nothing claimed settled
