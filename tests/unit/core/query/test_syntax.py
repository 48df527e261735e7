"""Syntax errors name the 1-based column and what was expected there."""

from __future__ import annotations

import pytest

from topolog.core.query import QueryError, syntax


def error(text: str) -> QueryError:
    with pytest.raises(QueryError) as exc:
        syntax.parse(text)
    return exc.value


@pytest.mark.parametrize(
    ("text", "column", "expected"),
    [
        ("G.V(", 5, "')'"),
        ("G.V().", 7, "a name"),
        ("G..V()", 3, "a name"),
        ("G.V() x", 7, "'.'"),
        ("G.V()$", 6, "'.'"),
        ("G.V('a' 'b')", 9, "','"),
        ("G.V().Has('a',)", 15, "a string"),
        ("", 1, "a name"),
    ],
)
def test_syntax_errors_point_at_the_column_and_say_what_was_expected(
    text: str, column: int, expected: str
) -> None:
    err = error(text)
    assert err.position == column
    assert expected in err.message.partition("expected ")[2]
    assert str(err).startswith(f"column {column}: ")


def test_an_unterminated_string_is_reported_at_its_quote() -> None:
    err = error("G.V().Has('Name)")
    assert err.position == 11
    assert "unterminated string" in err.message


def test_predicates_cannot_nest() -> None:
    assert error("G.V().Has('a', Within(Within(1)))").position == 29


def test_columns_count_characters_across_lines() -> None:
    assert error("G.V()\n.Has(").position == len("G.V()\n.Has(") + 1


def test_escapes_in_strings() -> None:
    chain = syntax.parse(r"""G.V('it\'s', "say \"hi\"", 'a\\b', '\d+')""")
    values = [arg.value for arg in chain.calls[0].args if isinstance(arg, syntax.Literal)]
    assert values == ["it's", 'say "hi"', "a\\b", "\\d+"]


def test_numbers_keep_their_type() -> None:
    chain = syntax.parse("G.V(1, -2, 3.5, 1e3)")
    values = [arg.value for arg in chain.calls[0].args if isinstance(arg, syntax.Literal)]
    assert values == [1, -2, 3.5, 1000.0]
    assert [type(v) for v in values] == [int, int, float, float]


@pytest.mark.parametrize("number", ["1e999", "9" * 5000])
def test_numbers_out_of_range_are_query_errors(number: str) -> None:
    assert error(f"G.V({number})").position == 5


def test_overlong_queries_are_refused() -> None:
    assert "longer than" in error("G.V()" + " " * syntax.MAX_QUERY_CHARS).message


def test_every_piece_knows_its_column() -> None:
    chain = syntax.parse("G.V().Has('k', Regex('x'))")
    has = chain.calls[1]
    assert (chain.head.position, chain.calls[0].position, has.position) == (1, 3, 7)
    key, regex = has.args
    assert (key.position, regex.position) == (11, 16)
    assert isinstance(regex, syntax.Call) and regex.args[0].position == 22
