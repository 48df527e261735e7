"""Query text → ``ast.Query``: Skydive's step names, arguments and ordering rules.

Flows in: the query text (syntax.py turns it into a chain of raw calls first).
Flows out: an ``ast.Query`` that the evaluator can run any number of times, or a
``QueryError`` naming the 1-based column and what was expected there.

Names of steps, predicates and keywords (NOW, ASC, DESC, true, false) are
case-insensitive, like Skydive's lexer. Each step checks the kind of traversal it
receives (nodes, edges, values, paths) here, once, rather than at every evaluation.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Sequence

from topolog.core.query import ast, syntax, times
from topolog.core.query.errors import QueryError

MAX_REGEX_CHARS = 1024
METADATA_PREFIX = "Metadata."

Kind = ast.Kind
_ELEMENTS = frozenset({Kind.NODES, Kind.EDGES})
_LISTS = frozenset({Kind.NODES, Kind.EDGES, Kind.VALUES, Kind.PATHS})
_OWNERSHIP = ast.Filter(ast.BoolOp.AND, (ast.KeyTest("RelationType", ast.Eq("ownership")),))


def parse(text: str) -> ast.Query:
    """Parse a Gremlin query; raise ``QueryError`` if it is not a valid one."""
    chain = syntax.parse(text)
    if chain.head.text.lower() != "g":
        raise QueryError(f"a query starts with G, not {chain.head.text!r}", chain.head.position)
    calls = list(chain.calls)
    at = None
    if calls and calls[0].name.lower() in ("at", "context"):
        at = _at(calls.pop(0))
    if not calls:
        raise QueryError("expected .V() or .E() next", chain.end)
    start = _start(calls.pop(0))
    kind = start.kind
    steps: list[ast.Step] = []
    previous: syntax.Call | None = None
    for call in calls:
        if kind is Kind.SCALAR:
            assert previous is not None
            raise QueryError(
                f"nothing can follow {previous.name}(): it returns a number", call.position
            )
        step, kind = _step(call, kind)
        steps.append(step)
        previous = call
    return ast.Query(at=at, start=start, steps=tuple(steps), result=kind)


# The start: G.At(...) and V()/E().


def _at(call: syntax.Call) -> ast.At:
    _arity(call, 1, 2)
    instant = _instant(call.args[0])
    span = _duration(call.args[1]) if len(call.args) == 2 else None
    return ast.At(instant=instant, span=span, position=call.position)


def _instant(arg: syntax.Arg) -> ast.Instant:
    if isinstance(arg, syntax.Word) and arg.text.lower() == "now":
        return ast.Instant()
    if isinstance(arg, syntax.Literal):
        try:
            return times.instant(arg.value)
        except ValueError as exc:
            raise QueryError(str(exc), arg.position) from None
    raise QueryError(f"expected a time: {times.INSTANT_HELP}", arg.position)


def _duration(arg: syntax.Arg) -> float:
    if isinstance(arg, syntax.Literal) and isinstance(arg.value, int | float):
        seconds = float(arg.value)
    elif isinstance(arg, syntax.Literal) and isinstance(arg.value, str):
        try:
            seconds = times.duration(arg.value)
        except ValueError as exc:
            raise QueryError(str(exc), arg.position) from None
    else:
        raise QueryError("expected a duration: seconds, or a string like '5m'", arg.position)
    if seconds < 0:
        raise QueryError("a duration cannot be negative", arg.position)
    return seconds


def _start(call: syntax.Call) -> ast.Start:
    name = call.name.lower()
    if name not in ("v", "e"):
        raise QueryError(f"expected V() or E(), not {call.name}()", call.position)
    kind = Kind.NODES if name == "v" else Kind.EDGES
    if not call.args:
        return ast.Start(kind=kind, element_id=None, filter=None, position=call.position)
    if len(call.args) == 1:
        element_id = _string(call.args[0], "an id")
        return ast.Start(kind=kind, element_id=element_id, filter=None, position=call.position)
    tests = _pairs(call.args)
    return ast.Start(
        kind=kind,
        element_id=None,
        filter=ast.Filter(ast.BoolOp.AND, tests),
        position=call.position,
    )


# Steps.

StepBuilder = Callable[[syntax.Call, Kind], tuple[ast.Step, Kind]]


def _step(call: syntax.Call, kind: Kind) -> tuple[ast.Step, Kind]:
    name = call.name.lower()
    entry = _STEPS.get(name)
    if entry is None:
        if name in ("at", "context"):
            raise QueryError(f"{call.name}() must come right after G", call.position)
        if name in ("v", "e"):
            raise QueryError(f"{call.name}() must come right after G or G.At(...)", call.position)
        allowed = ", ".join(n for n, kinds, _ in _STEPS.values() if kind in kinds)
        raise QueryError(f"unknown step {call.name!r}; expected one of: {allowed}", call.position)
    shown, kinds, build = entry
    if kind not in kinds:
        raise QueryError(
            f"{shown}() does not apply to {kind.value}; it applies to "
            + " or ".join(k.value for k in sorted(kinds)),
            call.position,
        )
    return build(call, kind)


def _has(call: syntax.Call, kind: Kind) -> tuple[ast.Step, Kind]:
    if not call.args:
        raise QueryError("Has() needs a key, or key/value pairs", call.position)
    flt = ast.Filter(ast.BoolOp.AND, _pairs(call.args))
    return ast.Has(input=kind, position=call.position, filter=flt), kind


def _has_key(call: syntax.Call, kind: Kind) -> tuple[ast.Step, Kind]:
    _arity(call, 1, 1)
    test = ast.KeyTest(_key(call.args[0]), ast.Present())
    flt = ast.Filter(ast.BoolOp.AND, (test,))
    return ast.Has(input=kind, position=call.position, filter=flt), kind


def _has_not(call: syntax.Call, kind: Kind) -> tuple[ast.Step, Kind]:
    _arity(call, 1, 1)
    test = ast.KeyTest(_key(call.args[0]), ast.Absent())
    flt = ast.Filter(ast.BoolOp.AND, (test,))
    return ast.Has(input=kind, position=call.position, filter=flt), kind


def _has_either(call: syntax.Call, kind: Kind) -> tuple[ast.Step, Kind]:
    if not call.args:
        raise QueryError("HasEither() needs key/value pairs", call.position)
    flt = ast.Filter(ast.BoolOp.OR, _pairs(call.args))
    return ast.Has(input=kind, position=call.position, filter=flt), kind


def _optional_filter(args: Sequence[syntax.Arg]) -> ast.Filter | None:
    return ast.Filter(ast.BoolOp.AND, _pairs(args)) if args else None


def _walk(direction: ast.Direction) -> StepBuilder:
    def build(call: syntax.Call, kind: Kind) -> tuple[ast.Step, Kind]:
        flt = _optional_filter(call.args)
        step = ast.Walk(input=kind, position=call.position, direction=direction, filter=flt)
        return step, Kind.NODES

    return build


def _walk_edges(direction: ast.Direction) -> StepBuilder:
    def build(call: syntax.Call, kind: Kind) -> tuple[ast.Step, Kind]:
        flt = _optional_filter(call.args)
        step = ast.WalkEdges(input=kind, position=call.position, direction=direction, filter=flt)
        return step, Kind.EDGES

    return build


def _edge_ends(direction: ast.Direction) -> StepBuilder:
    def build(call: syntax.Call, kind: Kind) -> tuple[ast.Step, Kind]:
        flt = _optional_filter(call.args)
        step = ast.EdgeEnds(input=kind, position=call.position, direction=direction, filter=flt)
        return step, Kind.NODES

    return build


def _dedup(call: syntax.Call, kind: Kind) -> tuple[ast.Step, Kind]:
    if kind is Kind.VALUES:
        _arity(call, 0, 0)
    keys = tuple(_key(a) for a in call.args)
    return ast.Dedup(input=kind, position=call.position, keys=keys), kind


def _count(call: syntax.Call, kind: Kind) -> tuple[ast.Step, Kind]:
    _arity(call, 0, 0)
    return ast.Count(input=kind, position=call.position), Kind.SCALAR


def _values(call: syntax.Call, kind: Kind) -> tuple[ast.Step, Kind]:
    _arity(call, 1, 1)
    return ast.Values(input=kind, position=call.position, key=_key(call.args[0])), Kind.VALUES


def _value_map(call: syntax.Call, kind: Kind) -> tuple[ast.Step, Kind]:
    keys = tuple(_key(a) for a in call.args)
    return ast.ValueMap(input=kind, position=call.position, keys=keys), Kind.VALUES


def _keys(call: syntax.Call, kind: Kind) -> tuple[ast.Step, Kind]:
    _arity(call, 0, 0)
    return ast.Keys(input=kind, position=call.position), Kind.VALUES


def _sum(call: syntax.Call, kind: Kind) -> tuple[ast.Step, Kind]:
    if kind is Kind.VALUES:
        _arity(call, 0, 0)
        return ast.Sum(input=kind, position=call.position, key=None), Kind.SCALAR
    _arity(call, 1, 1)
    return ast.Sum(input=kind, position=call.position, key=_key(call.args[0])), Kind.SCALAR


def _limit(call: syntax.Call, kind: Kind) -> tuple[ast.Step, Kind]:
    _arity(call, 1, 1)
    stop = _count_arg(call.args[0])
    return ast.Range(input=kind, position=call.position, start=0, stop=stop), kind


def _range(call: syntax.Call, kind: Kind) -> tuple[ast.Step, Kind]:
    _arity(call, 2, 2)
    start, stop = _count_arg(call.args[0]), _count_arg(call.args[1])
    return ast.Range(input=kind, position=call.position, start=start, stop=stop), kind


def _sort(call: syntax.Call, kind: Kind) -> tuple[ast.Step, Kind]:
    _arity(call, 0, 2)
    key: str | None = None
    descending: bool | None = None
    for arg in call.args:
        if isinstance(arg, syntax.Word) and arg.text.lower() in ("asc", "desc"):
            if descending is not None:
                raise QueryError("Sort() takes one order, ASC or DESC", arg.position)
            descending = arg.text.lower() == "desc"
        elif key is None and kind is not Kind.VALUES:
            key = _key(arg, "a key, ASC or DESC")
        else:
            expected = "ASC or DESC" if kind is Kind.VALUES else "a key, ASC or DESC"
            raise QueryError(f"expected {expected}", arg.position)
    if key is None and kind is not Kind.VALUES:
        key = "@CreatedAt"  # Skydive sorts by creation time by default
    step = ast.Sort(input=kind, position=call.position, key=key, descending=bool(descending))
    return step, kind


def _shortest_path(call: syntax.Call, kind: Kind) -> tuple[ast.Step, Kind]:
    _arity(call, 1, 2)
    target = _metadata(call.args[0])
    edges = _metadata(call.args[1]) if len(call.args) == 2 else None
    step = ast.ShortestPathTo(input=kind, position=call.position, target=target, edge_filter=edges)
    return step, Kind.PATHS


def _lineage(direction: ast.Direction) -> StepBuilder:
    def build(call: syntax.Call, kind: Kind) -> tuple[ast.Step, Kind]:
        args = list(call.args)
        depth = 1  # Skydive's default: the nodes and their direct children/parents
        if len(args) % 2 == 1:
            depth = _count_arg(args.pop())
        edge_filter = ast.Filter(ast.BoolOp.OR, _pairs(args)) if args else _OWNERSHIP
        step = ast.Lineage(
            input=kind,
            position=call.position,
            direction=direction,
            depth=depth,
            edge_filter=edge_filter,
        )
        return step, Kind.NODES

    return build


_NODES = frozenset({Kind.NODES})
_EDGES = frozenset({Kind.EDGES})
_ELEMENTS_OR_VALUES = frozenset({Kind.NODES, Kind.EDGES, Kind.VALUES})
_D = ast.Direction

_STEPS: dict[str, tuple[str, frozenset[Kind], StepBuilder]] = {
    name.lower(): (name, kinds, build)
    for name, kinds, build in (
        ("Has", _ELEMENTS, _has),
        ("HasKey", _ELEMENTS, _has_key),
        ("HasNot", _ELEMENTS, _has_not),
        ("HasEither", _ELEMENTS, _has_either),
        ("Out", _NODES, _walk(_D.OUT)),
        ("In", _NODES, _walk(_D.IN)),
        ("Both", _NODES, _walk(_D.BOTH)),
        ("OutE", _NODES, _walk_edges(_D.OUT)),
        ("InE", _NODES, _walk_edges(_D.IN)),
        ("BothE", _NODES, _walk_edges(_D.BOTH)),
        ("OutV", _EDGES, _edge_ends(_D.OUT)),
        ("InV", _EDGES, _edge_ends(_D.IN)),
        ("BothV", _EDGES, _edge_ends(_D.BOTH)),
        ("Dedup", _ELEMENTS_OR_VALUES, _dedup),
        ("Count", _LISTS, _count),
        ("Values", _ELEMENTS, _values),
        ("ValueMap", _ELEMENTS, _value_map),
        ("Keys", _ELEMENTS, _keys),
        ("Sum", _ELEMENTS_OR_VALUES, _sum),
        ("Limit", _LISTS, _limit),
        ("Range", _LISTS, _range),
        ("Sort", _ELEMENTS_OR_VALUES, _sort),
        ("ShortestPathTo", _NODES, _shortest_path),
        ("Descendants", _NODES, _lineage(_D.OUT)),
        ("Ascendants", _NODES, _lineage(_D.IN)),
    )
}


# Arguments.


def _arity(call: syntax.Call, low: int, high: int) -> None:
    n = len(call.args)
    if low <= n <= high:
        return
    if low == high:
        wanted = "no arguments" if low == 0 else f"{low} argument{'s' if low > 1 else ''}"
    else:
        wanted = f"{low} to {high} arguments"
    position = call.args[high].position if n > high else call.position
    raise QueryError(f"{call.name}() takes {wanted}, not {n}", position)


def _string(arg: syntax.Arg, what: str) -> str:
    if isinstance(arg, syntax.Literal) and isinstance(arg.value, str):
        return arg.value
    raise QueryError(f"expected {what} (a quoted string)", arg.position)


def _key(arg: syntax.Arg, what: str = "a key") -> str:
    key = _string(arg, what)
    if key.startswith(METADATA_PREFIX):
        key = key[len(METADATA_PREFIX) :]
    if not key:
        raise QueryError("a key cannot be empty", arg.position)
    return key


def _count_arg(arg: syntax.Arg) -> int:
    if isinstance(arg, syntax.Literal) and isinstance(arg.value, int) and arg.value >= 0:
        return arg.value
    raise QueryError("expected a whole number, 0 or more", arg.position)


def _scalar(arg: syntax.Arg) -> ast.Scalar:
    if isinstance(arg, syntax.Literal):
        return arg.value
    if isinstance(arg, syntax.Word) and arg.text.lower() in ("true", "false"):
        return arg.text.lower() == "true"
    raise QueryError("expected a value: a string, a number, true or false", arg.position)


def _pairs(args: Sequence[syntax.Arg]) -> tuple[ast.KeyTest, ...]:
    """``'key'`` alone tests presence; otherwise key, value, key, value, …"""
    if len(args) == 1:
        return (ast.KeyTest(_key(args[0]), ast.Present()),)
    if len(args) % 2:
        raise QueryError("expected key/value pairs, but this key has no value", args[-1].position)
    return tuple(
        ast.KeyTest(_key(args[i]), _value_predicate(args[i + 1])) for i in range(0, len(args), 2)
    )


def _value_predicate(arg: syntax.Arg) -> ast.Predicate:
    if isinstance(arg, syntax.Call):
        return _predicate(arg)
    return ast.Eq(_scalar(arg))


def _ordered(arg: syntax.Arg) -> int | float | str:
    value = _scalar(arg)
    if isinstance(value, bool):
        raise QueryError("expected a number or a string", arg.position)
    return value


def _predicate(call: syntax.Call) -> ast.Predicate:
    name = call.name.lower()
    builder = _PREDICATES.get(name)
    if builder is None:
        if name == "metadata":
            raise QueryError("Metadata(...) is an argument of ShortestPathTo only", call.position)
        raise QueryError(
            f"unknown predicate {call.name!r}; expected one of: " + ", ".join(_PREDICATE_NAMES),
            call.position,
        )
    return builder(call)


def _regex(call: syntax.Call) -> ast.Predicate:
    _arity(call, 1, 1)
    pattern = _string(call.args[0], "a regular expression")
    if len(pattern) > MAX_REGEX_CHARS:
        raise QueryError(
            f"a regular expression is limited to {MAX_REGEX_CHARS} characters",
            call.args[0].position,
        )
    try:
        compiled = re.compile(pattern)
    except (re.error, RecursionError, OverflowError, ValueError) as exc:
        raise QueryError(f"invalid regular expression: {exc}", call.args[0].position) from None
    return ast.Regex(pattern, compiled)


def _within(call: syntax.Call) -> ast.Predicate:
    if not call.args:
        raise QueryError(f"{call.name}() needs at least one value", call.position)
    values = tuple(_scalar(a) for a in call.args)
    return ast.Within(values) if call.name.lower() == "within" else ast.Without(values)


def _ne(call: syntax.Call) -> ast.Predicate:
    _arity(call, 1, 1)
    return ast.Ne(_scalar(call.args[0]))


def _compare(op: str) -> Callable[[syntax.Call], ast.Predicate]:
    def build(call: syntax.Call) -> ast.Predicate:
        _arity(call, 1, 1)
        return ast.Compare(op, _ordered(call.args[0]))

    return build


def _interval(mode: str) -> Callable[[syntax.Call], ast.Predicate]:
    def build(call: syntax.Call) -> ast.Predicate:
        _arity(call, 2, 2)
        low, high = _ordered(call.args[0]), _ordered(call.args[1])
        if isinstance(low, str) != isinstance(high, str):
            raise QueryError("both bounds must be numbers, or both strings", call.args[1].position)
        return ast.Interval(mode, low, high)

    return build


def _ipv4_range(call: syntax.Call) -> ast.Predicate:
    _arity(call, 1, 1)
    cidr = _string(call.args[0], "an IPv4 range like '10.0.0.0/8'")
    try:
        network = ipaddress.IPv4Network(cidr, strict=False)
    except ValueError as exc:
        raise QueryError(f"invalid IPv4 range: {exc}", call.args[0].position) from None
    return ast.Ipv4Range(network)


_PREDICATE_NAMES = (
    "Regex",
    "Within",
    "Without",
    "NE",
    "Lt",
    "Gt",
    "Lte",
    "Gte",
    "Inside",
    "Between",
    "Outside",
    "IPV4RANGE",
)
_PREDICATES: dict[str, Callable[[syntax.Call], ast.Predicate]] = {
    "regex": _regex,
    "within": _within,
    "without": _within,
    "ne": _ne,
    "lt": _compare("<"),
    "gt": _compare(">"),
    "lte": _compare("<="),
    "gte": _compare(">="),
    "inside": _interval("inside"),
    "between": _interval("between"),
    "outside": _interval("outside"),
    "ipv4range": _ipv4_range,
}


def _metadata(arg: syntax.Arg) -> ast.Filter:
    """``Metadata('k', v, ...)``: the node (or edge) filter of ShortestPathTo."""
    if not (isinstance(arg, syntax.Call) and arg.name.lower() == "metadata"):
        raise QueryError("expected Metadata('key', value, ...)", arg.position)
    if not arg.args:
        raise QueryError("Metadata() needs key/value pairs", arg.position)
    return ast.Filter(ast.BoolOp.AND, _pairs(arg.args))
