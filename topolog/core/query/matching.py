"""Does an element match a filter? Key resolution and predicate semantics.

Flows in: an element dict in Skydive shape (``ID``, ``Metadata``, ``CreatedAt``, …) and a
key or an ``ast.Filter``.
Flows out: the values a key resolves to, and booleans.

Key resolution (Skydive's getter, made total):
- ``@ID``, ``@CreatedAt``, ``@UpdatedAt``, ``@DeletedAt``, ``@Revision`` read the element's
  own fields (times in epoch ms); any other key is a dotted path into ``Metadata``
  (a leading ``Metadata.`` is dropped by the parser).
- A path segment may itself contain dots (label keys such as ``app.kubernetes.io/name``):
  at each level every dict key that is the rest of the path, or a dotted prefix of it,
  is followed.
- Lists met on the way are walked element by element (``Ports.Port`` reads every port).
- ``None`` counts as absent.

Predicate semantics: a predicate holds if any of the resolved values satisfies it, a list
value being tested item by item (``Has('Data', 'password')`` on a secret's key list).
Equality is typed: strings equal strings, numbers equal numbers (3 == 3.0), booleans
equal booleans. Order predicates compare numbers with numbers, strings with strings.
``Ne`` needs the key present; ``Without`` and ``HasNot`` hold for an absent key.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from topolog.core.query import ast

Element = dict[str, Any]

SPECIAL_KEYS = {
    "@ID": "ID",
    "@CreatedAt": "CreatedAt",
    "@UpdatedAt": "UpdatedAt",
    "@DeletedAt": "DeletedAt",
    "@Revision": "Revision",
}


def field_values(element: Element, key: str) -> list[Any]:
    """Every value ``key`` resolves to in ``element`` (leaf lists are returned whole)."""
    special = SPECIAL_KEYS.get(key)
    if special is not None:
        value = element.get(special)
        return [] if value is None else [value]
    return [v for v in _lookup(element.get("Metadata"), key) if v is not None]


def _lookup(obj: Any, path: str) -> Iterator[Any]:
    if isinstance(obj, list):
        for item in obj:
            yield from _lookup(item, path)
        return
    if not isinstance(obj, dict):
        return
    if path in obj:
        yield obj[path]
    for key, value in obj.items():
        if isinstance(key, str) and path.startswith(key) and path[len(key) : len(key) + 1] == ".":
            yield from _lookup(value, path[len(key) + 1 :])


def _scalars(values: list[Any]) -> Iterator[Any]:
    for value in values:
        if isinstance(value, list):
            yield from (v for v in value if v is not None)
        else:
            yield value


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def same(a: Any, b: Any) -> bool:
    """Typed equality: no ``True == 1``, no ``'3' == 3``."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if _is_number(a) and _is_number(b):
        return bool(a == b)
    return isinstance(a, str) and isinstance(b, str) and a == b


def _comparable(a: Any, b: Any) -> bool:
    return (_is_number(a) and _is_number(b)) or (isinstance(a, str) and isinstance(b, str))


def _compare(op: str, a: Any, b: Any) -> bool:
    if not _comparable(a, b):
        return False
    if op == "<":
        return bool(a < b)
    if op == ">":
        return bool(a > b)
    if op == "<=":
        return bool(a <= b)
    return bool(a >= b)


def _in_interval(p: ast.Interval, x: Any) -> bool:
    if not (_comparable(x, p.low) and _comparable(x, p.high)):
        return False
    if p.mode == "inside":
        return bool(p.low < x < p.high)
    if p.mode == "between":
        return bool(p.low <= x < p.high)
    return bool(x < p.low or x > p.high)  # outside


def _in_network(network: ipaddress.IPv4Network, value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        return ipaddress.IPv4Address(value) in network
    except ValueError:
        return False


def holds(predicate: ast.Predicate, values: list[Any]) -> bool:
    """Whether ``predicate`` holds for the values a key resolved to (see module doc)."""
    match predicate:
        case ast.Present():
            return bool(values)
        case ast.Absent():
            return not values
        case ast.Eq(value=v):
            return any(same(x, v) for x in _scalars(values))
        case ast.Ne(value=v):
            return bool(values) and not any(same(x, v) for x in _scalars(values))
        case ast.Within(values=vs):
            return any(same(x, v) for x in _scalars(values) for v in vs)
        case ast.Without(values=vs):
            return not any(same(x, v) for x in _scalars(values) for v in vs)
        case ast.Compare(op=op, value=v):
            return any(_compare(op, x, v) for x in _scalars(values))
        case ast.Interval():
            return any(_in_interval(predicate, x) for x in _scalars(values))
        case ast.Regex(compiled=compiled):
            return any(
                isinstance(x, str) and compiled.fullmatch(x) is not None for x in _scalars(values)
            )
        case ast.Ipv4Range(network=network):
            return any(_in_network(network, x) for x in _scalars(values))
    return False


def matches(flt: ast.Filter, element: Element) -> bool:
    """``flt`` (AND or OR of key tests) against one element."""
    results = (holds(t.predicate, field_values(element, t.key)) for t in flt.tests)
    return all(results) if flt.op is ast.BoolOp.AND else any(results)


def is_edge(element: Element) -> bool:
    return "Parent" in element and "Child" in element


#: The values a key resolves to in an element (``field_values`` for one fixed key).
Resolver = Callable[[Element], list[Any]]
#: A test of one element.
ElementTest = Callable[[Element], bool]


def resolver(key: str) -> Resolver:
    """``field_values(element, key)`` with the key's dotted prefixes worked out once: at
    each level the dict is asked for those prefixes instead of every dict key being
    compared with the path. The same values (listed in another order when one level has
    several keys that are prefixes of the path — predicates do not care)."""
    special = SPECIAL_KEYS.get(key)
    if special is not None:

        def own_field(element: Element) -> list[Any]:
            value = element.get(special)
            return [] if value is None else [value]

        return own_field
    splits: dict[str, tuple[tuple[str, str], ...]] = {}
    pending = [key]
    while pending:
        path = pending.pop()
        if path not in splits:
            splits[path] = tuple((path[:i], path[i + 1 :]) for i, c in enumerate(path) if c == ".")
            pending.extend(rest for _, rest in splits[path])

    def walk(obj: Any, path: str, out: list[Any]) -> None:
        if isinstance(obj, list):
            for item in obj:
                walk(item, path, out)
            return
        if not isinstance(obj, dict):
            return
        if path in obj:
            value = obj[path]
            if value is not None:
                out.append(value)
        for prefix, rest in splits[path]:
            inner = obj.get(prefix)
            if inner is not None:
                walk(inner, rest, out)

    def metadata_values(element: Element) -> list[Any]:
        out: list[Any] = []
        walk(element.get("Metadata"), key, out)
        return out

    return metadata_values


def _string_constants(predicate: ast.Predicate) -> frozenset[str] | None:
    """The strings a key must have one of for ``predicate`` to hold (``Eq``/``Within`` of
    strings only), else None."""
    match predicate:
        case ast.Eq(value=str() as value):
            return frozenset((value,))
        case ast.Within(values=values) if all(isinstance(v, str) for v in values):
            return frozenset(values)  # type: ignore[arg-type]
    return None


def _predicate_test(predicate: ast.Predicate) -> Callable[[list[Any]], bool]:
    """``holds(predicate, values)`` as a function of the values; ``Eq``/``Within`` of
    strings as set look-ups (typed equality: a string equals only a string)."""
    wanted = _string_constants(predicate)
    if wanted is None:
        return lambda values: holds(predicate, values)

    def is_one_of(values: list[Any]) -> bool:
        for value in values:
            if isinstance(value, str):
                if value in wanted:
                    return True
            elif isinstance(value, list):
                for item in value:
                    if isinstance(item, str) and item in wanted:
                        return True
        return False

    return is_one_of


def compile_filter(flt: ast.Filter) -> ElementTest:
    """``matches(flt, element)`` as a function of the element, keys and predicates
    prepared once (an SSE filter is asked about every changed element)."""
    tests = [(resolver(t.key), _predicate_test(t.predicate)) for t in flt.tests]
    if len(tests) == 1:
        ((values, test),) = tests
        return lambda element: test(values(element))
    if flt.op is ast.BoolOp.AND:
        return lambda element: all(test(values(element)) for values, test in tests)
    return lambda element: any(test(values(element)) for values, test in tests)


def string_values(values: list[Any]) -> Iterator[str]:
    """The strings among resolved values (list values item by item)."""
    for value in values:
        if isinstance(value, str):
            yield value
        elif isinstance(value, list):
            yield from (v for v in value if isinstance(v, str))


@dataclass(frozen=True, slots=True)
class ElementFilter:
    """A query that only selects (``G.V()`` or ``G.E()`` plus Has-family steps), usable
    on one element at a time — for SSE filters, where elements arrive one by one."""

    kind: ast.Kind  # NODES or EDGES
    element_id: str | None
    filters: tuple[ast.Filter, ...]
    _test: ElementTest = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        tests = [compile_filter(f) for f in self.filters]
        test: ElementTest = lambda element: all(t(element) for t in tests)  # noqa: E731
        object.__setattr__(self, "_test", tests[0] if len(tests) == 1 else test)

    def matches(self, element: Element) -> bool:
        if is_edge(element) != (self.kind is ast.Kind.EDGES):
            return False
        if self.element_id is not None and element.get("ID") != self.element_id:
            return False
        return self._test(element)

    def required(self) -> tuple[str, frozenset[str]] | None:
        """A key and strings, one of which the key must resolve to (``string_values``)
        in every element that matches — from a start id or an ``Eq``/``Within`` of
        strings that the filter ANDs — or None. Lets a caller with many filters ask only
        those whose strings an element has."""
        if self.element_id is not None:
            return "@ID", frozenset((self.element_id,))
        for flt in self.filters:
            if flt.op is ast.BoolOp.AND or len(flt.tests) == 1:
                for test in flt.tests:
                    wanted = _string_constants(test.predicate)
                    if wanted is not None:
                        return test.key, wanted
        return None


def element_filter(query: ast.Query) -> ElementFilter | None:
    """The per-element form of ``query``, or None when it travels in time, walks the
    graph, or does anything but select (Count, Limit, Dedup, …)."""
    if query.at is not None:
        return None
    filters: list[ast.Filter] = []
    if query.start.filter is not None:
        filters.append(query.start.filter)
    for step in query.steps:
        if not isinstance(step, ast.Has):
            return None
        filters.append(step.filter)
    return ElementFilter(query.start.kind, query.start.element_id, tuple(filters))
