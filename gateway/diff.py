"""The difference between two graphs (two times): added, removed and changed elements.

Flows in: two ``GraphView``s (the same scope), ``before`` and ``after``.
Flows out: ``{"Nodes": {"Added", "Removed", "Changed"}, "Edges": {...}}`` — Added/Removed
are elements (Removed in their ``before`` state), Changed are ``{"Before", "After"}``
pairs of an element whose revision or content differs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from topolog.core.query import view

Element = dict[str, Any]
Fetch = Callable[[Sequence[str]], list[Element | None]]


def _content(element: Element) -> tuple[Any, ...]:
    return (
        element.get("Revision"),
        element.get("Metadata"),
        element.get("Parent"),
        element.get("Child"),
    )


def _diff(
    before_ids: set[str], after_ids: set[str], fetch_before: Fetch, fetch_after: Fetch
) -> dict[str, Any]:
    removed_ids = sorted(before_ids - after_ids)
    added_ids = sorted(after_ids - before_ids)
    common = sorted(before_ids & after_ids)
    changed = []
    for old, new in zip(fetch_before(common), fetch_after(common), strict=True):
        if old is not None and new is not None and _content(old) != _content(new):
            changed.append({"Before": old, "After": new})
    return {
        "Added": [e for e in fetch_after(added_ids) if e is not None],
        "Removed": [e for e in fetch_before(removed_ids) if e is not None],
        "Changed": changed,
    }


def diff(before: view.GraphView, after: view.GraphView) -> dict[str, Any]:
    return {
        "Nodes": _diff(
            set(before.all_node_ids()), set(after.all_node_ids()), before.nodes, after.nodes
        ),
        "Edges": _diff(
            set(before.all_edge_ids()), set(after.all_edge_ids()), before.edges, after.edges
        ),
    }
