"""Status: a node's State with its reason, and the root cause of a DOWN node.

Flows in: per-kind rules (``kinds/<kind>.status``) give an object's own status; the
deriver's dependency edges give, per node, a ``Dependencies`` summary and the root
causes of its DOWN dependencies.
Flows out: ``Status`` values and ``root_cause`` sets, pure — the deriver
(``topolog.core.derive.cascade``) decides when to re-evaluate them.

Root cause, the invariant: ``RootCause(n)`` is empty when ``n`` is UP; for a DOWN ``n``
it is the union, over its DOWN dependencies ``d``, of ``RootCause(d)`` when that is not
empty and ``{d}`` otherwise — the deepest DOWN dependencies. A DOWN node none of whose
dependencies is DOWN caused itself: its RootCause is empty.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

from topolog.core.graph import State

#: The reason of a placeholder for a referenced object that does not exist.
MISSING = "Missing"


class Status(NamedTuple):
    """``(State, reason)``: what a status rule returns."""

    state: State
    reason: str

    @property
    def is_down(self) -> bool:
        return self.state is State.DOWN


# ``up``/``down`` return one shared Status per reason (the deriver keeps one per node, and
# most nodes have one of a few). Plain dicts, not ``functools.lru_cache``: mypyc could not
# infer the type of a decorated ``up`` called at another module's import time
# (``cascade._UNSETTLED``: "Cannot determine type", ``topolog.compiled``).
_UP: dict[str, Status] = {}
_DOWN: dict[str, Status] = {}
#: Reasons kept per state; past it the cache starts over (reasons with counts in them,
#: "2/3 ready", are many but each is short-lived).
_SHARED_REASONS = 4096


def _shared(cache: dict[str, Status], state: State, reason: str) -> Status:
    status = cache.get(reason)
    if status is None:
        if len(cache) >= _SHARED_REASONS:
            cache.clear()
        status = cache[reason] = Status(state, reason)
    return status


def up(reason: str = "") -> Status:
    return _shared(_UP, State.UP, reason)


def down(reason: str) -> Status:
    return _shared(_DOWN, State.DOWN, reason)


def missing() -> Status:
    """The status of a dangling reference's placeholder."""
    return down(MISSING)


@dataclass(frozen=True, slots=True)
class Dependencies:
    """What a node depends on, counted by the dependency's node Type."""

    total: Counter[str] = field(default_factory=Counter)
    down: Counter[str] = field(default_factory=Counter)
    #: DOWN dependencies that are placeholders of objects that do not exist.
    missing: Counter[str] = field(default_factory=Counter)

    def up(self, node_type: str) -> int:
        return self.total[node_type] - self.down[node_type]


NO_DEPENDENCIES = Dependencies()

#: A node's status from its own and its dependencies' (``Dependencies``), for kinds whose
#: state depends on what they depend on (a service's pods, an ingress's backends).
Aggregate = Callable[[Status, Dependencies], Status]


def replicas(*, desired: int, available: int, what: str = "available") -> Status:
    """Workload rule: UP when at least ``desired`` replicas are available (0 desired is UP)."""
    if desired <= 0:
        # Scaled to zero (or nothing to schedule): nothing is expected to run.
        return up("NoneDesired")
    if available >= desired:
        return up(f"{available}/{desired} {what}")
    return down(f"{available}/{desired} {what}")


def root_cause(
    node: str, *, down_dependencies: Iterable[str], causes: Mapping[str, frozenset[str]]
) -> frozenset[str]:
    """The root cause of DOWN ``node`` from its DOWN dependencies and their root causes.

    ``causes`` maps a dependency to its own RootCause (missing = empty). ``node`` never
    appears in its own root cause (a dependency cycle would otherwise name it).
    """
    out: set[str] = set()
    for dep in down_dependencies:
        out |= causes.get(dep) or {dep}
    out.discard(node)
    return frozenset(out)
