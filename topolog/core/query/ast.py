"""The parsed query: what ``parser.py`` builds and ``evaluator.py`` runs.

Flows in: nothing (types only).
Flows out: ``Query`` = an optional time context, a start (``V``/``E``), a tuple of
steps; predicates and ``Filter``s for the Has-family steps. Every step records the kind
of traversal it receives (``input``) and its column, so the evaluator needs no type
inference and its errors can point at the step.
"""

from __future__ import annotations

import enum
import ipaddress
import re
from dataclasses import dataclass, field

Scalar = str | int | float | bool


class Kind(enum.StrEnum):
    """What a traversal holds between steps."""

    NODES = "nodes"
    EDGES = "edges"
    VALUES = "values"  # Values / Keys / ValueMap output: plain JSON values
    PATHS = "paths"  # ShortestPathTo output: lists of nodes
    SCALAR = "scalar"  # Count / Sum output: nothing may follow


class Direction(enum.StrEnum):
    """Edge direction seen from a node: OUT = edges where it is the Parent."""

    OUT = "out"
    IN = "in"
    BOTH = "both"


class BoolOp(enum.StrEnum):
    AND = "and"
    OR = "or"


# Predicates: a predicate looks at all the values a key resolves to (see matching.py).


@dataclass(frozen=True, slots=True)
class Eq:
    value: Scalar


@dataclass(frozen=True, slots=True)
class Ne:
    value: Scalar


@dataclass(frozen=True, slots=True)
class Compare:
    """Lt/Gt/Lte/Gte: ``op`` is one of ``< > <= >=``."""

    op: str
    value: int | float | str


@dataclass(frozen=True, slots=True)
class Within:
    values: tuple[Scalar, ...]


@dataclass(frozen=True, slots=True)
class Without:
    values: tuple[Scalar, ...]


@dataclass(frozen=True, slots=True)
class Interval:
    """Inside: low < x < high; Between: low <= x < high; Outside: x < low or x > high."""

    mode: str  # inside | between | outside
    low: int | float | str
    high: int | float | str


@dataclass(frozen=True, slots=True)
class Regex:
    """Always anchored, like Skydive."""

    pattern: str
    compiled: re.Pattern[str] = field(compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Ipv4Range:
    network: ipaddress.IPv4Network


@dataclass(frozen=True, slots=True)
class Present:
    pass


@dataclass(frozen=True, slots=True)
class Absent:
    pass


Predicate = Eq | Ne | Compare | Within | Without | Interval | Regex | Ipv4Range | Present | Absent


@dataclass(frozen=True, slots=True)
class KeyTest:
    key: str  # dotted metadata path, or a special key such as @CreatedAt
    predicate: Predicate


@dataclass(frozen=True, slots=True)
class Filter:
    op: BoolOp
    tests: tuple[KeyTest, ...]


# Time context (G.At / G.Context).


@dataclass(frozen=True, slots=True)
class Instant:
    """A point in time: ``absolute`` epoch seconds, or ``now + offset`` when absolute is None."""

    absolute: float | None = None
    offset: float = 0.0

    def resolve(self, now: float) -> float:
        return self.absolute if self.absolute is not None else now + self.offset


@dataclass(frozen=True, slots=True)
class At:
    """``G.At(t)`` (span None) or ``G.At(t, d)``: the slice [t - span, t]."""

    instant: Instant
    span: float | None
    position: int


@dataclass(frozen=True, slots=True)
class Start:
    """``V()``/``E()`` (everything), ``V('id')``, or ``V('key', value, ...)`` (a filter)."""

    kind: Kind
    element_id: str | None
    filter: Filter | None
    position: int


# Steps.


@dataclass(frozen=True, slots=True, kw_only=True)
class Step:
    input: Kind
    position: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Has(Step):
    """Has / HasKey / HasNot / HasEither."""

    filter: Filter


@dataclass(frozen=True, slots=True, kw_only=True)
class Walk(Step):
    """Out / In / Both: nodes → neighbour nodes, optionally filtered."""

    direction: Direction
    filter: Filter | None


@dataclass(frozen=True, slots=True, kw_only=True)
class WalkEdges(Step):
    """OutE / InE / BothE: nodes → their edges, optionally filtered."""

    direction: Direction
    filter: Filter | None


@dataclass(frozen=True, slots=True, kw_only=True)
class EdgeEnds(Step):
    """OutV (the Child) / InV (the Parent) / BothV: edges → nodes (Skydive's naming)."""

    direction: Direction
    filter: Filter | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Dedup(Step):
    keys: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Count(Step):
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class Values(Step):
    key: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ValueMap(Step):
    keys: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Keys(Step):
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class Sum(Step):
    key: str | None  # None when summing plain values


@dataclass(frozen=True, slots=True, kw_only=True)
class Range(Step):
    """Range(start, stop) and Limit(n) = Range(0, n)."""

    start: int
    stop: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Sort(Step):
    key: str | None  # None when sorting plain values
    descending: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class ShortestPathTo(Step):
    target: Filter
    edge_filter: Filter | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Lineage(Step):
    """Descendants (OUT) / Ascendants (IN) along edges matching ``edge_filter``,
    up to ``depth`` hops (0 = unbounded), the starting nodes included."""

    direction: Direction
    depth: int
    edge_filter: Filter


@dataclass(frozen=True, slots=True)
class Query:
    at: At | None
    start: Start
    steps: tuple[Step, ...]
    result: Kind  # what evaluation returns: NODES/EDGES/VALUES/PATHS lists, or SCALAR
