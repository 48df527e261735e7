"""status: the replica rule and the root-cause recurrence."""

from __future__ import annotations

import pytest

from topolog.core import status as st
from topolog.core.graph import State


@pytest.mark.parametrize(
    ("desired", "available", "expected"),
    [
        (3, 3, (State.UP, "3/3 available")),
        (3, 4, (State.UP, "4/3 available")),
        (3, 0, (State.DOWN, "0/3 available")),
        (0, 0, (State.UP, "NoneDesired")),
    ],
)
def test_replicas(desired: int, available: int, expected: tuple[State, str]) -> None:
    assert st.replicas(desired=desired, available=available) == expected


def test_a_status_is_a_state_and_reason_pair() -> None:
    state, reason = st.down("Pending")
    assert (state, reason) == (State.DOWN, "Pending")
    assert st.missing() == (State.DOWN, st.MISSING)


def test_a_down_node_without_down_dependencies_caused_itself() -> None:
    assert st.root_cause("pvc", down_dependencies=[], causes={}) == frozenset()


def test_a_self_caused_dependency_is_the_root_cause() -> None:
    assert st.root_cause("pod", down_dependencies=["pvc"], causes={"pvc": frozenset()}) == {"pvc"}


def test_root_causes_go_to_the_deepest_down_dependencies() -> None:
    causes = {"rs": frozenset({"secret"}), "node": frozenset()}
    assert st.root_cause("dep", down_dependencies=["rs", "node"], causes=causes) == {
        "secret",
        "node",
    }


def test_a_node_is_never_its_own_root_cause() -> None:
    assert (
        st.root_cause("a", down_dependencies=["b"], causes={"b": frozenset({"a"})}) == frozenset()
    )
