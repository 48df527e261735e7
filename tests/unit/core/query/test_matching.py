"""Key resolution, predicate semantics, and per-element filters for SSE."""

from __future__ import annotations

from typing import Any

import pytest

from topolog.core.query import ast, element_filter, parse
from topolog.core.query.matching import field_values, holds, same

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
