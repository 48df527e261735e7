"""Label selectors: parsing and matching (``topolog.core.selectors``)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from topolog.core import selectors

KEYS = st.sampled_from(["app", "tier", "env"])
VALUES = st.sampled_from(["a", "b", "c"])
REQUIREMENTS = st.builds(
    selectors.Requirement,
    key=KEYS,
    operator=st.sampled_from(["In", "NotIn", "Exists", "DoesNotExist"]),
    values=st.frozensets(VALUES, max_size=2),
)


@given(st.lists(REQUIREMENTS, max_size=4), st.dictionaries(KEYS, VALUES))
def test_a_selector_matches_when_every_requirement_does(
    requirements: list[selectors.Requirement], labels: dict[str, str]
) -> None:
    selector = selectors.Selector(tuple(requirements))
    assert selector.matches(labels) == all(r.matches(labels) for r in requirements)


def test_two_equality_requirements_on_one_key_match_nothing_unless_equal() -> None:
    same = selectors.parse({"matchLabels": {"app": "a"}, "matchExpressions": [_in("app", "a")]})
    clash = selectors.parse({"matchLabels": {"app": "a"}, "matchExpressions": [_in("app", "b")]})
    assert same.matches({"app": "a"})
    assert not clash.matches({"app": "a"})
    assert not clash.matches({"app": "b"})


@pytest.mark.parametrize("labels", [None, {}])
def test_the_empty_selector_matches_no_labels_too(labels: dict[str, str] | None) -> None:
    assert selectors.parse({}).matches(labels)
    assert not selectors.parse({"matchLabels": {"app": "a"}}).matches(labels)


def test_matching_accepts_any_mapping() -> None:
    from types import MappingProxyType

    selector = selectors.parse({"matchLabels": {"app": "a"}, "matchExpressions": [_in("x", "1")]})
    assert selector.matches(MappingProxyType({"app": "a", "x": "1"}))
    assert not selector.matches(MappingProxyType({"app": "a", "x": "2"}))


def _in(key: str, value: str) -> dict[str, object]:
    return {"key": key, "operator": "In", "values": [value]}
