"""Scenario ``growth``: per-event processing cost at 1k pods vs a larger cluster.

Flows in: the larger size (pods) and how many churn steps to time.
Flows out: for each size, CPU microseconds per churn envelope through the bare
``Deriver`` after the initial sync (``time.process_time``, so other processes' load
counts less), the deriver's own operation count per event, and the CPU cost of
NetworkPolicy pod events in ``NetpolGraph`` with a quarter of the policies global
(ipBlock peers to external CIDRs); the ratios larger/1k (the issue's target: ≤ 1.5).

Each cost is the median of ``ROUNDS`` timings (consecutive windows of the churn; pod
events on disjoint sets of pods), with the spread: on the shared machine one timing moved
by ±10-20 % from run to run, more than the difference being measured.
"""

from __future__ import annotations

import copy
import gc
import statistics
import time
from typing import Any

from bench.scenarios import reach, stats
from producers import simulation
from topolog.core import envelope, graph, simulate
from topolog.core.derive.engine import Deriver
from topolog.core.netpol import edges

BASE = 1000
#: Timings per cost; the figure is their median.
ROUNDS = 5


def deriver_cost(pods: int, steps: int) -> stats.Result:
    now = time.time()
    sim = simulate.Simulator(seed=7, pods=pods, now=now)
    deriver = Deriver("bench")
    for i, e in enumerate(sim.initial()):
        deriver.apply(
            simulation.to_envelope(e, cluster="bench", now=now), source=graph.Source("g", 0, i)
        )
    # The producer's marker: the churn after it raises its alerts, as in a processor.
    deriver.apply(envelope.cluster_synced_marker(cluster="bench", observed_at=now))
    envs = []
    for step in range(steps):
        t = now + 1 + step * 0.1
        envs += [simulation.to_envelope(e, cluster="bench", now=t) for e in sim.churn(t)]
    gc.collect()
    ops = deriver.operations
    window = max(1, len(envs) // ROUNDS)
    timings: list[float] = []
    for first in range(0, window * ROUNDS, window):
        began = time.process_time()
        for i, env in enumerate(envs[first : first + window], start=first):
            deriver.apply(env, source=graph.Source("c", 0, i))
        timings.append((time.process_time() - began) / window * 1e6)
    timed = window * ROUNDS
    return {
        "churn_events": timed,
        "deriver_us_per_event": round(statistics.median(timings), 1),
        "deriver_us_per_event_rounds": [round(t, 1) for t in timings],
        "deriver_ops_per_event": round((deriver.operations - ops) / timed, 1),
    }


def global_policy(i: int, namespace: str, app: str) -> dict[str, Any]:
    """A "global" policy: egress to an external CIDR (an ipBlock peer, as most are)."""
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": f"egress-{i}", "namespace": namespace, "uid": f"egress-{i}"},
        "spec": {
            "podSelector": {"matchLabels": {"app": app}},
            "policyTypes": ["Egress"],
            "egress": [
                {
                    "to": [{"ipBlock": {"cidr": f"172.16.{i % 256}.0/24"}}],
                    "ports": [{"protocol": "TCP", "port": 443}],
                }
            ],
        },
    }


def netpol_cost(pods: int, events: int = 200, module: Any = edges) -> stats.Result:
    """CPU per pod event (a label change) with a quarter of the policies global; each of
    the ``ROUNDS`` rounds changes ``events`` pods (every ``ROUNDS``-th pod at 1k: the
    rounds' pods are disjoint)."""
    namespaces, pod_objs, policy_objs = reach.objects(pods)
    extra = [
        global_policy(i, p["metadata"]["namespace"], p["metadata"]["labels"]["app"])
        # spread over the cluster like the simulator's own (~20 per namespace)
        for i, p in enumerate(pod_objs[:: max(1, len(pod_objs) // max(1, len(policy_objs) // 3))])
    ]
    g = module.NetpolGraph()
    for o in namespaces:
        g.apply_namespace(o)
    for o in pod_objs:
        g.apply_pod(o)
    for o in [*policy_objs, *extra]:
        g.apply_policy(o)
    step = max(1, len(pod_objs) // events)
    timings: list[float] = []
    for r in range(ROUNDS):
        # Each round changes other pods (offset r): none is warm in the caches from an
        # earlier round, as a pod of a large cluster is not when its event comes.
        changed: list[dict[str, Any]] = []
        for i, o in enumerate(pod_objs[r % step :: step][:events]):
            c = copy.deepcopy(o)
            c["metadata"]["labels"]["bench-rev"] = f"{r}-{i}"
            changed.append(c)
        gc.collect()
        began = time.process_time()
        for o in changed:
            g.apply_pod(o)
        timings.append((time.process_time() - began) / len(changed) * 1e6)
    return {
        "netpol_policies": len(policy_objs) + len(extra),
        "netpol_global_policies": len(extra),
        "netpol_us_per_pod_event": round(statistics.median(timings), 1),
        "netpol_us_per_pod_event_rounds": [round(t, 1) for t in timings],
    }


def run(pods: int, *, steps: int = 300) -> stats.Result:
    sizes = (BASE, pods) if pods != BASE else (BASE,)
    per_size = {n: {**deriver_cost(n, steps), **netpol_cost(n)} for n in sizes}
    out: stats.Result = {"scenario": "growth", "pods": pods}
    for n, figures in per_size.items():
        out[f"at_{n}"] = figures
    big, small = per_size[sizes[-1]], per_size[BASE]
    out["deriver_cost_ratio"] = stats.ratio(
        big["deriver_us_per_event"], small["deriver_us_per_event"]
    )
    out["deriver_ops_ratio"] = stats.ratio(
        big["deriver_ops_per_event"], small["deriver_ops_per_event"]
    )
    out["netpol_cost_ratio"] = stats.ratio(
        big["netpol_us_per_pod_event"], small["netpol_us_per_pod_event"]
    )
    return out
