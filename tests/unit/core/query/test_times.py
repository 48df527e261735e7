"""At() time arguments: instants and durations."""

from __future__ import annotations

import pytest

from topolog.core.query import ast, times


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90s", 90.0),
        ("-1m", -60.0),
        ("-2h30m", -9000.0),
        ("1.5h", 5400.0),
        ("250ms", 0.25),
        ("+1m", 60.0),
        ("0", 0.0),
    ],
)
def test_go_durations(text: str, seconds: float) -> None:
    assert times.duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "m", "1", "1x", "1m-2s", "--1m", "1 m" * 40])
def test_not_durations(text: str) -> None:
    with pytest.raises(ValueError):
        times.duration(text)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1700000000, ast.Instant(absolute=1700000000.0)),
        ("1700000000", ast.Instant(absolute=1700000000.0)),
        ("now", ast.Instant()),
        ("-5m", ast.Instant(offset=-300.0)),
        ("2023-11-14T22:13:20Z", ast.Instant(absolute=1700000000.0)),
        ("2023-11-14T23:13:20+01:00", ast.Instant(absolute=1700000000.0)),
        ("2023-11-14T22:13:20", ast.Instant(absolute=1700000000.0)),  # naive is UTC
        ("Tue, 14 Nov 2023 22:13:20 UTC", ast.Instant(absolute=1700000000.0)),  # RFC 1123
    ],
)
def test_instants(value: str | int, expected: ast.Instant) -> None:
    assert times.instant(value) == expected


@pytest.mark.parametrize("value", ["yesterday", "2023-13-45", "", True])
def test_not_instants(value: str | bool) -> None:
    with pytest.raises(ValueError):
        times.instant(value)
