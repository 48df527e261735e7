"""The chaos run's fault plan and figures."""

from __future__ import annotations

from topolog.chaos import faults, run


def test_a_plan_as_long_as_the_cycle_covers_every_fault_type_once() -> None:
    plan = faults.plan(len(faults.Fault))
    assert sorted(plan) == sorted(faults.Fault)


def test_longer_plans_repeat_the_cycle() -> None:
    plan = faults.plan(3 * len(faults.Fault) + 1)
    assert plan.count(faults.Fault.COMPACT_ETCD) == 3
    assert plan[-1] is faults.CYCLE[0]


def test_p99_of_a_hundred_values_is_the_99th() -> None:
    values = [float(i) for i in range(100, 0, -1)]
    assert run.p99(values) == 99.0
    assert run.p99([3.0]) == 3.0


def test_the_probe_query_selects_the_probe_by_its_label_value() -> None:
    text = run.probe_query("17")
    assert "'chaos-probe'" in text and "'17'" in text
