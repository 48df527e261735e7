"""Semantic checks: step names, arguments, what may follow what; the AST built."""

from __future__ import annotations

import pytest

from topolog.core.query import QueryError, ast, parse


def error(text: str) -> QueryError:
    with pytest.raises(QueryError) as exc:
        parse(text)
    return exc.value


@pytest.mark.parametrize(
    ("text", "column", "fragment"),
    [
        ("X.V()", 1, "starts with G"),
        ("G", 2, "expected .V() or .E()"),
        ("G.Has('a')", 3, "expected V() or E()"),
        ("G.V().Foo()", 7, "unknown step 'Foo'"),
        ("G.V().At(1)", 7, "must come right after G"),
        ("G.V().V()", 7, "must come right after G"),
        ("G.E().Out()", 7, "does not apply to edges"),
        ("G.V().OutV()", 7, "does not apply to nodes"),
        ("G.V().Values('Name').Out()", 22, "does not apply to values"),
        ("G.V().Count().Limit(1)", 15, "nothing can follow Count()"),
        ("G.V().Has()", 7, "needs a key"),
        ("G.V().Has('a', 1, 'b')", 19, "has no value"),
        ("G.V().Has(1, 2)", 11, "expected a key"),
        ("G.V().Has('', 2)", 11, "cannot be empty"),
        ("G.V().Has('a', Foo(1))", 16, "unknown predicate 'Foo'"),
        ("G.V().Has('a', Metadata('b', 1))", 16, "ShortestPathTo only"),
        ("G.V().Has('a', maybe)", 16, "expected a value"),
        ("G.V().Has('a', Regex('('))", 22, "invalid regular expression"),
        ("G.V().Has('a', IPV4RANGE('10.0.0.0/33'))", 26, "invalid IPv4 range"),
        ("G.V().Has('a', Inside(1, 'z'))", 26, "both bounds"),
        ("G.V().Has('a', Lt(true))", 19, "a number or a string"),
        ("G.V().Has('a', Within())", 16, "at least one value"),
        ("G.V().HasKey('a', 'b')", 19, "takes 1 argument, not 2"),
        ("G.V().Limit(-1)", 13, "whole number"),
        ("G.V().Limit(1.5)", 13, "whole number"),
        ("G.V().Range(1)", 7, "takes 2 arguments"),
        ("G.V().Count(1)", 13, "takes no arguments"),
        ("G.V().Sort(ASC, DESC)", 17, "one order"),
        ("G.V().Sort('a', 'b')", 17, "expected a key, ASC or DESC"),
        ("G.V().Values('a').Sort('a')", 24, "expected ASC or DESC"),
        ("G.V().ShortestPathTo('Type')", 22, "expected Metadata"),
        ("G.At('yesterday').V()", 6, "is not a time"),
        ("G.At(1, -5).V()", 9, "cannot be negative"),
        ("G.At(1, 'soon').V()", 9, "not a duration"),
        ("G.At(true).V()", 6, "expected a time"),
    ],
)
def test_bad_queries_name_the_column_and_the_problem(text: str, column: int, fragment: str) -> None:
    err = error(text)
    assert (err.position, fragment in err.message) == (column, True), err


def test_unknown_step_lists_the_steps_valid_here() -> None:
    message = error("G.E().Nope()").message
    assert "OutV" in message and "Out," not in message


def test_has_family_builds_filters() -> None:
    query = parse("G.V().Has('a', 1, 'b', NE('x')).HasNot('c').HasEither('d', true, 'e', 2.5)")
    has, has_not, either = query.steps
    assert isinstance(has, ast.Has) and has.filter == ast.Filter(
        ast.BoolOp.AND, (ast.KeyTest("a", ast.Eq(1)), ast.KeyTest("b", ast.Ne("x")))
    )
    assert isinstance(has_not, ast.Has)
    assert has_not.filter.tests == (ast.KeyTest("c", ast.Absent()),)
    assert isinstance(either, ast.Has) and either.filter.op is ast.BoolOp.OR
    assert either.filter.tests[0].predicate == ast.Eq(True)


def test_limit_is_a_range_from_zero() -> None:
    (step,) = parse("G.V().Limit(3)").steps
    assert isinstance(step, ast.Range) and (step.start, step.stop) == (0, 3)


def test_sort_accepts_order_and_key_in_either_order() -> None:
    a = parse("G.V().Sort(DESC, 'Name')").steps[0]
    b = parse("G.V().Sort('Name', desc)").steps[0]
    assert isinstance(a, ast.Sort) and isinstance(b, ast.Sort)
    assert (a.key, a.descending) == (b.key, b.descending) == ("Name", True)


def test_result_kind_follows_the_last_step() -> None:
    assert parse("G.V()").result is ast.Kind.NODES
    assert parse("G.V().OutE()").result is ast.Kind.EDGES
    assert parse("G.E().OutV()").result is ast.Kind.NODES
    assert parse("G.V().Values('Name')").result is ast.Kind.VALUES
    assert parse("G.V().Count()").result is ast.Kind.SCALAR
    assert parse("G.V().ShortestPathTo(Metadata('a', 1))").result is ast.Kind.PATHS


def test_at_resolves_relative_to_the_evaluation_time() -> None:
    at = parse("G.At('-1m', '30s').V()").at
    assert at is not None and at.span == 30.0
    assert at.instant.resolve(1000.0) == 940.0
    absolute = parse("G.At(1700000000).V()").at
    assert absolute is not None and absolute.instant.resolve(5.0) == 1700000000.0


def test_descendants_default_to_ownership_one_level() -> None:
    (step,) = parse("G.V().Descendants()").steps
    assert isinstance(step, ast.Lineage) and step.depth == 1
    assert step.edge_filter.tests == (ast.KeyTest("RelationType", ast.Eq("ownership")),)
