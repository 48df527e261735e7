"""Kubernetes label selectors (``matchLabels`` + ``matchExpressions``), as pure functions.

Semantics follow ``k8s.io/apimachinery/pkg/labels``: requirements are ANDed; ``In``
and ``NotIn`` take values; ``Exists``/``DoesNotExist`` take none; ``NotIn`` and
``DoesNotExist`` match objects that lack the key. An empty selector ``{}`` matches
everything; an absent (``None``) selector is the caller's decision (for a NetworkPolicy
peer it means "not restricted by this dimension", for a Service "selects nothing").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


class SelectorError(ValueError):
    """A selector that the API server would reject (bad operator or values)."""


@dataclass(frozen=True, slots=True)
class Requirement:
    key: str
    operator: str  # In | NotIn | Exists | DoesNotExist
    values: frozenset[str]

    def matches(self, labels: Mapping[str, str]) -> bool:
        if self.operator == "In":
            return self.key in labels and labels[self.key] in self.values
        if self.operator == "NotIn":
            return self.key not in labels or labels[self.key] not in self.values
        if self.operator == "Exists":
            return self.key in labels
        return self.key not in labels  # DoesNotExist


@dataclass(frozen=True, slots=True)
class Selector:
    """A parsed label selector; ``Selector(())`` matches everything."""

    requirements: tuple[Requirement, ...]
    #: ``key=value`` requirements as one dict (tested as an items-view subset, in C), and
    #: the others: selectors are matched against every candidate object's labels.
    _pairs: dict[str, str] = field(init=False, repr=False, compare=False, hash=False)
    _rest: tuple[Requirement, ...] = field(init=False, repr=False, compare=False, hash=False)
    #: The key of a selector that is one ``key=value`` pair and nothing else (most are:
    #: ``matches`` is then one dict look-up), else ``None``.
    _key: str | None = field(init=False, repr=False, compare=False, hash=False)
    _value: str = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        pairs: dict[str, str] = {}
        rest: list[Requirement] = []
        for r in self.requirements:
            if r.operator == "In" and len(r.values) == 1 and r.key not in pairs:
                pairs[r.key] = next(iter(r.values))
            else:
                rest.append(r)
        object.__setattr__(self, "_pairs", pairs)
        object.__setattr__(self, "_rest", tuple(rest))
        single = len(pairs) == 1 and not rest
        key, value = next(iter(pairs.items())) if single else (None, "")
        object.__setattr__(self, "_key", key)
        object.__setattr__(self, "_value", value)

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        key = self._key
        if key is not None:
            return labels is not None and labels.get(key) == self._value
        lbls = labels or {}
        if not self._pairs.items() <= lbls.items():
            return False
        return not self._rest or all(r.matches(lbls) for r in self._rest)

    @property
    def is_empty(self) -> bool:
        return not self.requirements

    def equality_pairs(self) -> list[tuple[str, str]]:
        """``key=value`` pairs every match must carry (for index look-ups)."""
        return [
            (r.key, next(iter(r.values)))
            for r in self.requirements
            if r.operator == "In" and len(r.values) == 1
        ]


_OPERATORS = {"In", "NotIn", "Exists", "DoesNotExist"}


def parse(selector: Mapping[str, Any] | None) -> Selector:
    """Parse a ``metav1.LabelSelector`` dict. ``None`` parses as the empty selector."""
    if selector is None:
        return Selector(())
    reqs: list[Requirement] = []
    for key, value in sorted((selector.get("matchLabels") or {}).items()):
        reqs.append(Requirement(str(key), "In", frozenset({str(value)})))
    for expr in selector.get("matchExpressions") or []:
        op = expr.get("operator")
        key = expr.get("key")
        values = frozenset(str(v) for v in expr.get("values") or [])
        if op not in _OPERATORS or not isinstance(key, str):
            raise SelectorError(f"bad matchExpression {expr!r}")
        if op in ("In", "NotIn") and not values:
            raise SelectorError(f"operator {op} needs values: {expr!r}")
        if op in ("Exists", "DoesNotExist") and values:
            raise SelectorError(f"operator {op} takes no values: {expr!r}")
        reqs.append(Requirement(key, op, values))
    return Selector(tuple(reqs))


def parse_map(match_labels: Mapping[str, str] | None) -> Selector:
    """A plain ``key: value`` map selector (Service, ReplicationController)."""
    return parse({"matchLabels": dict(match_labels or {})})


def matches(selector: Mapping[str, Any] | None, labels: Mapping[str, str] | None) -> bool:
    return parse(selector).matches(labels)
