"""cascade: final status and RootCause, re-evaluated only up the dependency edges."""

from __future__ import annotations

from topolog.core import status as st
from topolog.core.derive import cascade
from topolog.core.graph import State


def chain() -> cascade.Cascade:
    """pod → pvc → pv, pod DOWN, pvc DOWN, pv UP (the seed's task-pv)."""
    c = cascade.Cascade()
    c.set_node("pod", type="pod", own=st.down("Unschedulable"))
    c.set_node("pvc", type="persistentvolumeclaim", own=st.down("Pending"))
    c.set_node("pv", type="persistentvolume", own=st.up("Available"))
    c.add("pod", "pvc")
    c.add("pvc", "pv")
    c.settle()
    return c


def test_task_pv_root_causes() -> None:
    c = chain()
    assert c.final("pod").root_cause == ("pvc",)
    assert c.final("pvc").root_cause == ()
    assert c.final("pv") == cascade.Final(st.up("Available"), ())


def test_a_change_walks_up_to_the_dependents_only() -> None:
    c = chain()
    c.set_node("unrelated", type="pod", own=st.up())
    c.settle()
    c.set_node("pv", type="persistentvolume", own=st.down("Failed"))
    assert c.settle() == {"pv", "pvc", "pod"}
    assert c.final("pod").root_cause == ("pv",)


def test_nothing_changes_when_the_status_is_the_same() -> None:
    c = chain()
    c.set_node("pv", type="persistentvolume", own=st.up("Available"))
    assert c.settle() == set()


def test_removing_a_dependency_updates_its_dependents() -> None:
    c = chain()
    c.remove("pod", "pvc")
    assert c.settle() == {"pod"}
    assert c.final("pod").root_cause == ()


def test_an_aggregate_sees_its_dependencies_by_type() -> None:
    c = cascade.Cascade()

    def none_ready(own: st.Status, deps: st.Dependencies) -> st.Status:
        return st.down("NoReadyEndpoints") if deps.up("pod") == 0 else own

    c.set_node("svc", type="service", own=st.up(), aggregate=none_ready)
    c.set_node("p1", type="pod", own=st.down("NotReady"))
    c.set_node("p2", type="pod", own=st.up())
    c.add("svc", "p1")
    c.add("svc", "p2")
    c.settle()
    assert c.final("svc").status.state is State.UP
    c.set_node("p2", type="pod", own=st.down("NotReady"))
    c.settle()
    assert c.final("svc") == cascade.Final(st.down("NoReadyEndpoints"), ("p1", "p2"))


def test_missing_dependencies_are_counted_apart() -> None:
    c = cascade.Cascade()
    seen: list[int] = []

    def record(own: st.Status, deps: st.Dependencies) -> st.Status:
        seen.append(deps.missing["secret"])
        return own

    c.set_node("ing", type="ingress", own=st.up(), aggregate=record)
    c.set_node("ph", type="secret", own=st.missing(), placeholder=True)
    c.add("ing", "ph")
    c.settle()
    assert seen[-1] == 1


def test_a_dependency_cycle_terminates() -> None:
    c = cascade.Cascade()
    c.set_node("a", type="x", own=st.down("A"))
    c.set_node("b", type="x", own=st.down("B"))
    c.add("a", "b")
    c.add("b", "a")
    c.settle()
    assert "a" not in c.final("a").root_cause and "b" not in c.final("b").root_cause
    assert c.visits <= 2 * cascade.MAX_VISITS


def test_several_edges_make_one_dependency() -> None:
    c = chain()
    c.add("pod", "pvc")
    c.remove("pod", "pvc")
    c.settle()
    assert c.final("pod").root_cause == ("pvc",)


def test_down_counts_of_one_node_never_show_in_another_s() -> None:
    """Nodes without a DOWN dependency share one empty count (a heap saving): a
    dependency going DOWN and UP again counts for its dependent alone."""
    c = cascade.Cascade()
    seen: dict[str, tuple[int, int]] = {}

    def record(name: str) -> cascade.Aggregate:
        def aggregate(own: st.Status, deps: st.Dependencies) -> st.Status:
            seen[name] = (deps.down["pod"], deps.missing["pod"])
            return own

        return aggregate

    c.set_node("a", type="service", own=st.up(), aggregate=record("a"))
    c.set_node("b", type="service", own=st.up(), aggregate=record("b"))
    c.set_node("p", type="pod", own=st.down("Missing"), placeholder=True)
    c.set_node("q", type="pod", own=st.up())
    c.add("a", "p")
    c.add("b", "q")
    c.settle()
    assert seen == {"a": (1, 1), "b": (0, 0)}
    c.set_node("p", type="pod", own=st.up(), placeholder=True)
    c.set_node("b", type="service", own=st.up(), aggregate=record("b"))
    c.settle()
    assert seen == {"a": (0, 0), "b": (0, 0)}
    c.set_node("p", type="pod", own=st.down("Missing"), placeholder=True)
    c.settle()
    assert seen["a"] == (1, 1)
    c.set_node("b", type="service", own=st.up(), aggregate=record("b"))
    c.settle()
    assert seen["b"] == (0, 0)
