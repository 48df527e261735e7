"""Key resolution, predicate semantics, and per-element filters for SSE."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from topolog.core.query import ast, element_filter, parse
from topolog.core.query.matching import (
    compile_filter,
    field_values,
    holds,
    matches,
    resolver,
    same,
    string_values,
)

POD: dict[str, Any] = {
    "ID": "p1",
    "CreatedAt": 1000,
    "UpdatedAt": 2000,
    "Revision": 3,
    "Metadata": {
        "Type": "pod",
        "Name": "web-1",
        "Ready": True,
        "Restarts": 0,
        "Optional": None,
        "K8s": {"Labels": {"app": "web", "app.kubernetes.io/name": "shop"}},
        "Ports": [{"Port": 80, "Protocol": "TCP"}, {"Port": 53, "Protocol": "UDP"}],
        "Data": ["a", "b"],
    },
}
EDGE: dict[str, Any] = {"ID": "e1", "Parent": "a", "Child": "p1", "Metadata": {"RelationType": "x"}}


@pytest.mark.parametrize(
    ("key", "values"),
    [
        ("Name", ["web-1"]),
        ("K8s.Labels.app", ["web"]),
        ("K8s.Labels.app.kubernetes.io/name", ["shop"]),
        ("Ports.Port", [80, 53]),
        ("Data", [["a", "b"]]),
        ("@ID", ["p1"]),
        ("@Revision", [3]),
        ("@DeletedAt", []),
        ("Optional", []),
        ("Missing.Deep", []),
        ("Name.Deeper", []),
    ],
)
def test_field_values(key: str, values: list[Any]) -> None:
    assert field_values(POD, key) == values


@pytest.mark.parametrize(
    ("a", "b", "equal"),
    [(3, 3.0, True), (True, 1, False), ("3", 3, False), (False, False, True), ("a", "a", True)],
)
def test_equality_is_typed(a: Any, b: Any, equal: bool) -> None:
    assert same(a, b) is equal


@pytest.mark.parametrize(
    ("key", "predicate", "result"),
    [
        ("Data", ast.Eq("b"), True),
        ("Data", ast.Ne("b"), False),
        ("Ports.Protocol", ast.Eq("UDP"), True),
        ("Ports.Port", ast.Compare(">", 79), True),
        ("Ports.Port", ast.Interval("between", 54, 80), False),
        ("Ready", ast.Eq(True), True),
        ("Ready", ast.Eq(1), False),
        ("Restarts", ast.Eq(False), False),
        ("Restarts", ast.Present(), True),
        ("Optional", ast.Present(), False),
        ("Optional", ast.Absent(), True),
        ("Missing", ast.Without(("x",)), True),
        ("Missing", ast.Ne("x"), False),
        ("Name", ast.Compare("<", "x"), True),
        ("Name", ast.Compare("<", 5), False),
    ],
)
def test_predicate_semantics(key: str, predicate: ast.Predicate, result: bool) -> None:
    assert holds(predicate, field_values(POD, key)) is result


def test_element_filter_matches_one_element_at_a_time() -> None:
    flt = element_filter(parse("G.V().Has('Type', 'pod').Has('K8s.Labels.app', Regex('w.*'))"))
    assert flt is not None
    assert flt.matches(POD)
    assert not flt.matches({**POD, "Metadata": {**POD["Metadata"], "Type": "service"}})


def test_element_filter_tells_nodes_from_edges() -> None:
    nodes = element_filter(parse("G.V()"))
    edges = element_filter(parse("G.E().Has('RelationType', 'x')"))
    assert nodes is not None and edges is not None
    assert nodes.matches(POD) and not nodes.matches(EDGE)
    assert edges.matches(EDGE) and not edges.matches(POD)


def test_element_filter_honours_an_id_start() -> None:
    flt = element_filter(parse("G.V('p1')"))
    assert flt is not None and flt.matches(POD)
    assert not flt.matches({**POD, "ID": "p2"})


@pytest.mark.parametrize(
    "text",
    [
        "G.V().Has('Type', 'pod').Out()",
        "G.V().Count()",
        "G.V().Limit(1)",
        "G.At('-1m').V().Has('Type', 'pod')",
        "G.V().Values('Name')",
    ],
)
def test_element_filter_is_none_for_anything_but_selection(text: str) -> None:
    assert element_filter(parse(text)) is None


_KEY_PARTS = ["a", "b", "a.b", "b.c", "c"]
_LEAVES = st.one_of(st.none(), st.booleans(), st.integers(-2, 2), st.sampled_from(["x", "y", "3"]))
_TREES = st.recursive(
    _LEAVES,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from(_KEY_PARTS), inner, max_size=4),
    ),
    max_leaves=12,
)
_PATHS = st.lists(st.sampled_from(_KEY_PARTS), min_size=1, max_size=3).map(".".join)
_PREDICATES = st.one_of(
    st.sampled_from([ast.Present(), ast.Absent(), ast.Compare(">", 0)]),
    st.builds(ast.Eq, st.sampled_from(["x", "y", 3, True])),
    st.builds(ast.Ne, st.sampled_from(["x", 1, False])),
    st.builds(ast.Within, st.lists(st.sampled_from(["x", "3", 3]), max_size=3).map(tuple)),
    st.builds(ast.Without, st.lists(st.sampled_from(["y", 0]), max_size=2).map(tuple)),
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(_KEY_PARTS), _TREES, max_size=4), _PATHS)
def test_a_resolver_finds_what_field_values_finds(metadata: dict[str, Any], key: str) -> None:
    element = {"ID": "n", "Metadata": metadata}
    assert sorted(map(repr, resolver(key)(element))) == sorted(
        map(repr, field_values(element, key))
    )


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(st.sampled_from(_KEY_PARTS), _TREES, max_size=4),
    st.lists(st.tuples(_PATHS, _PREDICATES), min_size=1, max_size=3),
    st.sampled_from(list(ast.BoolOp)),
)
def test_a_compiled_filter_agrees_with_matches(
    metadata: dict[str, Any], tests: list[tuple[str, ast.Predicate]], op: ast.BoolOp
) -> None:
    flt = ast.Filter(op, tuple(ast.KeyTest(k, p) for k, p in tests))
    element = {"ID": "n", "Metadata": metadata}
    assert compile_filter(flt)(element) is matches(flt, element)


@pytest.mark.parametrize(
    ("text", "required"),
    [
        ("G.V().Has('K8s.Labels.bench', 'probe')", ("K8s.Labels.bench", frozenset({"probe"}))),
        ("G.V().Has('Type', Within('pod', 'service'))", ("Type", frozenset({"pod", "service"}))),
        ("G.V('p1').Has('Type', 'pod')", ("@ID", frozenset({"p1"}))),
        ("G.V().Has('Restarts', 3).Has('Name', 'web-1')", ("Name", frozenset({"web-1"}))),
        ("G.V().Has('Type', Within('pod', 3))", None),
        ("G.V().HasEither('Type', 'pod', 'Name', 'x')", None),
        ("G.V()", None),
    ],
)
def test_a_filter_names_the_strings_a_match_must_have(
    text: str, required: tuple[str, frozenset[str]] | None
) -> None:
    flt = element_filter(parse(text))
    assert flt is not None
    assert flt.required() == required
    if required is not None and flt.matches(POD):
        key, wanted = required
        assert wanted & set(string_values(resolver(key)(POD)))
