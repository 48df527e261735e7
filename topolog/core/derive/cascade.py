"""Dependencies between nodes, and each node's final status and root cause.

Flows in: from ``engine``, every node's own status (``set_node``) and every dependency
edge (``add``/``remove``: "``dependent`` depends on ``dependency``").
Flows out: ``settle()`` — the ids whose final ``(Status, RootCause)`` changed — and
``final(id)``.

Invariants, between two ``settle()`` calls:
- ``_down[n]`` is the set of ``n``'s dependencies whose final state is DOWN, and
  ``_counts[n]`` counts ``n``'s dependencies by node Type (all, DOWN, missing).
- Only nodes marked dirty since the last ``settle()`` (their own status or their
  dependencies changed) are re-evaluated; a node whose final status or root cause
  changes marks its dependents dirty — the walk goes up reverse dependency edges and
  stops where nothing changes. A node is evaluated at most ``MAX_VISITS`` times per
  ``settle()`` so that a dependency cycle cannot loop for ever.
"""

from __future__ import annotations

import functools
from collections import Counter, deque
from dataclasses import dataclass, field

from topolog.core import status as st

#: How often one node may be re-evaluated in one ``settle()`` (cycle protection).
MAX_VISITS = 8

Aggregate = st.Aggregate


@dataclass(slots=True)
class _Node:
    type: str
    own: st.Status
    aggregate: Aggregate | None
    placeholder: bool

    # An explicit ``__init__`` (the dataclass keeps it): compiled, the generated one is
    # interpreted code, ~5x slower to call (millions per sync; docs/processors.md).
    def __init__(
        self, type: str, own: st.Status, aggregate: Aggregate | None, placeholder: bool
    ) -> None:
        self.type = type
        self.own = own
        self.aggregate = aggregate
        self.placeholder = placeholder


#: ``_Counts.down``/``missing`` of a node none of whose dependencies was ever DOWN (most
#: nodes): one shared empty Counter, replaced by the node's own on its first DOWN
#: dependency (never modify it).
_NONE_DOWN: Counter[str] = Counter()


@dataclass(slots=True)
class _Counts:
    total: Counter[str] = field(default_factory=Counter)
    down: Counter[str] = field(default_factory=lambda: _NONE_DOWN)
    missing: Counter[str] = field(default_factory=lambda: _NONE_DOWN)


@dataclass(frozen=True, slots=True)
class Final:
    status: st.Status
    root_cause: tuple[str, ...]


_UNSETTLED = Final(st.up(), ())


class Cascade:
    def __init__(self) -> None:
        #: How many node evaluations ``settle`` did in all (for cost tests).
        self.visits = 0
        self._nodes: dict[str, _Node] = {}
        self._deps: dict[str, Counter[str]] = {}
        self._rdeps: dict[str, set[str]] = {}
        self._down: dict[str, set[str]] = {}
        self._counts: dict[str, _Counts] = {}
        self._final: dict[str, Final] = {}
        self._dirty: set[str] = set()

    def set_node(
        self,
        node: str,
        *,
        type: str,
        own: st.Status,
        aggregate: Aggregate | None = None,
        placeholder: bool = False,
    ) -> None:
        """Declare ``node`` (or its new own status)."""
        self._nodes[node] = _Node(type, own, aggregate, placeholder)
        self._dirty.add(node)

    def remove_node(self, node: str) -> None:
        """Forget ``node`` and every dependency from or to it."""
        for dependency in list(self._deps.get(node, ())):
            self._unlink(node, dependency)
        for dependent in list(self._rdeps.get(node, ())):
            self._unlink(dependent, node)
        self._nodes.pop(node, None)
        self._final.pop(node, None)
        self._down.pop(node, None)
        self._counts.pop(node, None)
        self._deps.pop(node, None)
        self._rdeps.pop(node, None)
        self._dirty.discard(node)

    def add(self, dependent: str, dependency: str) -> None:
        """``dependent`` depends on ``dependency`` once more (counted: several edges may)."""
        deps = self._deps.get(dependent)
        if deps is None:
            deps = self._deps[dependent] = Counter()
        held = deps[dependency] + 1
        deps[dependency] = held
        if held > 1:
            return
        rdeps = self._rdeps.get(dependency)
        if rdeps is None:
            rdeps = self._rdeps[dependency] = set()
        rdeps.add(dependent)
        info = self._nodes[dependency]
        counts = self._counts_of(dependent)
        counts.total[info.type] += 1
        if self.final(dependency).status.is_down:
            self._mark_down(dependent, dependency, info)
        self._dirty.add(dependent)

    def remove(self, dependent: str, dependency: str) -> None:
        deps = self._deps.get(dependent)
        if deps is None or deps[dependency] == 0:
            return
        deps[dependency] -= 1
        if deps[dependency] == 0:
            self._unlink(dependent, dependency)

    def _unlink(self, dependent: str, dependency: str) -> None:
        deps = self._deps.get(dependent)
        if deps is not None:
            deps.pop(dependency, None)
        rdeps = self._rdeps.get(dependency)
        if rdeps is not None:
            rdeps.discard(dependent)
        info = self._nodes.get(dependency)
        counts = self._counts.get(dependent)
        if info is not None and counts is not None:
            counts.total[info.type] -= 1
            if dependency in self._down.get(dependent, ()):
                self._mark_up(dependent, dependency, info)
        self._dirty.add(dependent)

    def _mark_down(self, dependent: str, dependency: str, info: _Node) -> None:
        down = self._down.get(dependent)
        if down is None:
            down = self._down[dependent] = set()
        down.add(dependency)
        counts = self._counts_of(dependent)
        counts.down = _own(counts.down)
        counts.down[info.type] += 1
        if info.placeholder:
            counts.missing = _own(counts.missing)
            counts.missing[info.type] += 1

    def _mark_up(self, dependent: str, dependency: str, info: _Node) -> None:
        down = self._down.get(dependent)
        if down is not None:
            down.discard(dependency)
        counts = self._counts_of(dependent)
        counts.down = _own(counts.down)
        counts.down[info.type] -= 1
        if info.placeholder:
            counts.missing = _own(counts.missing)
            counts.missing[info.type] -= 1

    def _counts_of(self, node: str) -> _Counts:
        counts = self._counts.get(node)
        if counts is None:
            counts = self._counts[node] = _Counts()
        return counts

    def final(self, node: str) -> Final:
        """The settled status and root cause (UP and none before the first settle)."""
        return self._final.get(node, _UNSETTLED)

    def dependencies(self, node: str) -> frozenset[str]:
        return frozenset(self._deps.get(node, ()))

    def settle(self) -> set[str]:
        """Re-evaluate the dirty nodes and, transitively, their dependents."""
        changed: set[str] = set()
        queue = deque(sorted(self._dirty))
        queued = set(queue)
        self._dirty.clear()
        visits: dict[str, int] = {}
        while queue:
            node = queue.popleft()
            queued.discard(node)
            info = self._nodes.get(node)
            seen = visits.get(node, 0)
            if info is None or seen >= MAX_VISITS:
                continue
            visits[node] = seen + 1
            self.visits += 1
            new = self._evaluate(node, info)
            old = self._final.get(node)
            if old == new:
                continue
            self._final[node] = new
            changed.add(node)
            was_down = old is not None and old.status.is_down
            for dependent in sorted(self._rdeps.get(node, ())):
                if was_down != new.status.is_down:
                    if new.status.is_down:
                        self._mark_down(dependent, node, info)
                    else:
                        self._mark_up(dependent, node, info)
                if dependent not in queued:
                    queue.append(dependent)
                    queued.add(dependent)
        return changed

    def _evaluate(self, node: str, info: _Node) -> Final:
        status = info.own
        if info.aggregate is not None:
            counts = self._counts.get(node) or _Counts()
            status = info.aggregate(
                status, st.Dependencies(counts.total, counts.down, counts.missing)
            )
        if not status.is_down:
            return _final_up(status)
        causes = st.root_cause(
            node,
            down_dependencies=self._down.get(node, ()),
            causes={d: frozenset(self.final(d).root_cause) for d in self._down.get(node, ())},
        )
        return Final(status, tuple(sorted(causes)))


def _own(counter: Counter[str]) -> Counter[str]:
    """``counter``, or a new one in place of the shared ``_NONE_DOWN`` (to modify)."""
    return Counter() if counter is _NONE_DOWN else counter


@functools.lru_cache(maxsize=4096)
def _final_up(status: st.Status) -> Final:
    """The ``Final`` of a node that is not DOWN: one shared per status (one per node was
    ~2 % of the deriver's objects)."""
    return Final(status, ())
