"""Query text → a chain of raw calls, with lark; syntax errors become ``QueryError``.

Flows in: the query text.
Flows out: ``Chain`` — the leading name (``G``) and the dotted calls after it, each
argument a ``Literal`` (string or number), a ``Word`` (bare name such as NOW, DESC,
true) or a nested ``Call``, every piece with its 1-based column. ``parser.py`` gives
the chain its meaning.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from importlib import resources

import lark

from topolog.core.query import errors

MAX_QUERY_CHARS = 65_536
"""Longer texts are refused before parsing (a query is a line, not a document)."""

_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", "'": "'", '"': '"'}

# How lark's terminal names read in an error message.
_TERMINALS = {
    "NAME": "a name",
    "STRING": "a string",
    "NUMBER": "a number",
    "DOT": "'.'",
    "LPAR": "'('",
    "RPAR": "')'",
    "COMMA": "','",
    "$END": "the end of the query",
}


@dataclass(frozen=True, slots=True)
class Literal:
    value: str | int | float
    position: int


@dataclass(frozen=True, slots=True)
class Word:
    text: str
    position: int


@dataclass(frozen=True, slots=True)
class Call:
    name: str
    args: tuple[Literal | Word | Call, ...]
    position: int


Arg = Literal | Word | Call


@dataclass(frozen=True, slots=True)
class Chain:
    head: Word
    calls: tuple[Call, ...]
    end: int  # the column just past the text, for "expected ... at the end" errors


@functools.cache
def _parser() -> lark.Lark:
    grammar = resources.files("topolog.core.query").joinpath("gremlin.lark").read_text()
    return lark.Lark(grammar, parser="lalr", maybe_placeholders=True)


def parse(text: str) -> Chain:
    """Parse ``text`` into a ``Chain``; raise ``QueryError`` naming column and expectation."""
    if len(text) > MAX_QUERY_CHARS:
        raise errors.QueryError(f"the query is longer than {MAX_QUERY_CHARS} characters", 1)
    try:
        tree = _parser().parse(text)
    except lark.exceptions.UnexpectedInput as exc:
        raise _syntax_error(text, exc) from None
    head, *steps = tree.children
    assert isinstance(head, lark.Token)
    return Chain(
        head=Word(str(head), _column(head)),
        calls=tuple(_step(step) for step in steps if isinstance(step, lark.Tree)),
        end=len(text) + 1,
    )


def _column(token: lark.Token) -> int:
    return (token.start_pos or 0) + 1


def _step(tree: lark.Tree[lark.Token]) -> Call:
    name, args = tree.children
    assert isinstance(name, lark.Token)
    return Call(str(name), _args(args), _column(name))


def _args(tree: lark.Tree[lark.Token] | lark.Token | None) -> tuple[Arg, ...]:
    if tree is None:
        return ()
    assert isinstance(tree, lark.Tree)
    out: list[Arg] = []
    for child in tree.children:
        assert isinstance(child, lark.Tree)
        if child.data == "call":
            name, inner = child.children
            assert isinstance(name, lark.Token)
            out.append(Call(str(name), _args(inner), _column(name)))
        else:
            out.append(_literal(child))
    return tuple(out)


def _literal(tree: lark.Tree[lark.Token]) -> Literal | Word:
    (token,) = tree.children
    assert isinstance(token, lark.Token)
    position = _column(token)
    if tree.data == "word":
        return Word(str(token), position)
    if tree.data == "string":
        return Literal(_unquote(str(token)), position)
    return Literal(_number(str(token), position), position)


def _unquote(token: str) -> str:
    """Drop the quotes; ``\\n \\t \\r \\\\ \\' \\"`` are escapes, any other ``\\x`` stays
    as written so that regular expressions like ``'\\d+'`` need no doubling."""
    body = token[1:-1]
    out: list[str] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            out.append(_ESCAPES.get(nxt, ch + nxt))
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def _number(token: str, position: int) -> int | float:
    try:
        if any(c in token for c in ".eE"):
            value = float(token)
        else:
            return int(token)
    except ValueError:  # more digits than int() converts
        raise errors.QueryError(f"the number {token[:20]}… is too long", position) from None
    if not math.isfinite(value):
        raise errors.QueryError(f"the number {token} is out of range", position)
    return value


def _syntax_error(text: str, exc: lark.exceptions.UnexpectedInput) -> errors.QueryError:
    if isinstance(exc, lark.exceptions.UnexpectedCharacters):
        offset = exc.pos_in_stream or 0
        position = offset + 1
        char = text[offset] if offset < len(text) else ""
        if char in "'\"":
            return errors.QueryError(f"unterminated string: no closing {char}", position)
        return errors.QueryError(
            f"unexpected character {char!r}; expected {_expected(exc.allowed)}", position
        )
    if isinstance(exc, lark.exceptions.UnexpectedToken):
        token = exc.token
        if token.type == "$END" or token.start_pos is None:
            return errors.QueryError(
                f"unexpected end of query; expected {_expected(exc.expected)}", len(text) + 1
            )
        return errors.QueryError(
            f"unexpected {_shown(token)}; expected {_expected(exc.expected)}",
            _column(token),
        )
    expected = getattr(exc, "expected", None) or ()
    return errors.QueryError(
        f"unexpected end of query; expected {_expected(expected)}", len(text) + 1
    )


def _shown(token: lark.Token) -> str:
    value = str(token)
    if token.type not in ("NAME", "STRING", "NUMBER"):
        return repr(value)
    if len(value) > 30:
        value = value[:30] + "…"
    return f"{token.type.lower()} {value}"


def _expected(names: object) -> str:
    shown = sorted({_TERMINALS.get(str(n), str(n)) for n in names or ()})  # type: ignore[attr-defined]
    if not shown:
        return "something else"
    if len(shown) == 1:
        return shown[0]
    return ", ".join(shown[:-1]) + " or " + shown[-1]
