"""Property: for any input string, parse + evaluate returns or raises QueryError — never
another exception — and does so quickly (hypothesis' per-example deadline)."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from topolog.core.query import Limits, QueryError, TimeTravel, run

LIMITS = Limits(max_results=10_000, max_steps=200_000)

_FUZZ = settings(
    max_examples=400,
    deadline=timedelta(seconds=1),
    suppress_health_check=[HealthCheck.too_slow],
)


def _run(text: str, history: TimeTravel, now: float) -> None:
    try:
        run(text, source=history, now=now, limits=LIMITS)
    except QueryError as err:
        assert err.message
        assert err.position is None or 1 <= err.position <= len(text) + 1


@_FUZZ
@given(st.text(max_size=200))
def test_any_text_parses_or_fails_with_a_query_error(
    history: TimeTravel, now: float, text: str
) -> None:
    _run(text, history, now)


_STEPS = [
    "Has", "HasKey", "HasNot", "HasEither", "Out", "In", "Both", "OutE", "InE", "BothE",
    "OutV", "InV", "BothV", "Dedup", "Count", "Values", "ValueMap", "Keys", "Sum", "Limit",
    "Range", "Sort", "ShortestPathTo", "Descendants", "Ascendants", "V", "At", "Nope",
]  # fmt: skip
_CALLS = [
    "Regex", "Within", "Without", "NE", "Lt", "Gt", "Lte", "Gte", "Inside", "Between",
    "Outside", "IPV4RANGE", "Metadata",
]  # fmt: skip
_WORDS = ["NOW", "ASC", "DESC", "true", "false", "x"]
_KEYS = ["Type", "Name", "K8s.Labels.app", "IP", "Replicas", "@CreatedAt", "Data", "", "a.b."]
_VALUES = ["pod", "secret", "mysql-pass", "-1m", "10.0.0.0/8", "w.*", "(", "now", "UP"]

key = st.sampled_from(_KEYS).map(repr)
literal = st.one_of(
    st.sampled_from(_VALUES).map(repr),
    key,
    st.text(max_size=8).map(repr),
    st.integers(-10, 2 * 10**9).map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.sampled_from(_WORDS),
)
predicate = st.builds(
    lambda name, args: f"{name}({', '.join(args)})",
    st.sampled_from(_CALLS),
    st.lists(literal, max_size=3),
)
value = st.one_of(literal, literal, predicate)
pairs = st.lists(st.tuples(key, value).map(", ".join), max_size=3).map(", ".join)
arguments = st.one_of(st.just(""), key, pairs, st.lists(value, max_size=4).map(", ".join))
step = st.builds(lambda name, args: f".{name}({args})", st.sampled_from(_STEPS), arguments)
start = st.builds(
    lambda at, name, args: f"{at}.{name}({args})",
    st.sampled_from(["", ".At(NOW)", ".At('-950s')", ".At(1700000050, 30)", ".Context('now')"]),
    st.sampled_from(["V", "E", "v"]),
    st.one_of(st.just(""), st.just("'pod-mysql'"), pairs),
)
query = st.builds(
    lambda head, steps: head + "".join(steps),
    start,
    st.lists(step, max_size=6),
).map(lambda text: "G" + text)


@_FUZZ
@given(query)
def test_generated_queries_evaluate_or_fail_with_a_query_error(
    history: TimeTravel, now: float, text: str
) -> None:
    _run(text, history, now)


@_FUZZ
@given(query, st.integers(0, 200), st.text(max_size=3))
def test_corrupted_queries_fail_with_a_query_error(
    history: TimeTravel, now: float, text: str, at: int, noise: str
) -> None:
    cut = min(at, len(text))
    _run(text[:cut] + noise + text[cut:], history, now)
