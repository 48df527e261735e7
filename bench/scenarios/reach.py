"""Scenario ``reach``: the full reachability matrix and single answers, in-process.

Flows in: a size (pods; the issue's figure is 1k) and a number of policies (100).
Flows out: seconds for ``netpol.reach.matrix`` over every pod pair, the number of open
pairs, and p50/p99 of single ``reach.allowed`` answers for random pod pairs. The
cluster is the simulator's (pods, namespaces, its per-app ingress policies: three
quarters of ``policies``) plus a quarter of "global" policies (an ipBlock egress rule or
a peer-less ingress rule), the shape that makes policy evaluation cluster-wide.
"""

from __future__ import annotations

import random
import time
from typing import Any

from bench.scenarios import stats
from topolog.core import simulate
from topolog.core.netpol import policy as np
from topolog.core.netpol import reach


def extra_policy(i: int, namespace: str, app: str) -> dict[str, Any]:
    """The ``i``-th synthetic "global" policy: an ipBlock egress rule (even ``i``) or a
    peer-less ingress rule (odd ``i``)."""
    spec: dict[str, Any] = {"podSelector": {"matchLabels": {"app": app}}}
    if i % 2 == 0:
        spec["policyTypes"] = ["Egress"]
        spec["egress"] = [
            {
                "to": [{"ipBlock": {"cidr": "10.244.0.0/16", "except": ["10.244.128.0/17"]}}],
                "ports": [{"protocol": "TCP", "port": 443}],
            }
        ]
    else:
        spec["policyTypes"] = ["Ingress"]
        spec["ingress"] = [{"ports": [{"protocol": "TCP", "port": 9090}]}]
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": f"bench-{i}", "namespace": namespace, "uid": f"bench-policy-{i}"},
        "spec": spec,
    }


Objs = list[dict[str, Any]]


def objects(pods: int, policies: int | None = None) -> tuple[Objs, Objs, Objs]:
    """(namespaces, pods, policies) of the simulator, policies cut or topped up to
    ``policies`` (None: the simulator's own)."""
    sim = simulate.Simulator(seed=7, pods=pods, now=time.time())
    objs = [e.object for e in sim.initial()]
    namespaces = [o for o in objs if o["kind"] == "Namespace"]
    pod_objs = [o for o in objs if o["kind"] == "Pod"]
    policy_objs = [o for o in objs if o["kind"] == "NetworkPolicy"]
    if policies is None:
        return namespaces, pod_objs, policy_objs
    policy_objs = policy_objs[: policies - policies // 4]
    rng = random.Random(7)
    i = 0
    while len(policy_objs) < policies:
        pod = rng.choice(pod_objs)
        meta = pod["metadata"]
        policy_objs.append(extra_policy(i, meta["namespace"], meta["labels"]["app"]))
        i += 1
    return namespaces, pod_objs, policy_objs


def cluster(pods: int, policies: int) -> np.Cluster:
    namespaces, pod_objs, policy_objs = objects(pods, policies)
    return np.Cluster(
        pods=[np.parse_pod(p) for p in pod_objs],
        policies=[np.parse_policy(p) for p in policy_objs],
        namespaces={n.name: n for n in (np.parse_namespace(o) for o in namespaces)},
    )


def run(pods: int, *, policies: int = 100, answers: int = 500) -> stats.Result:
    snapshot = cluster(pods, policies)
    began = time.perf_counter()
    pairs = reach.matrix(snapshot)
    matrix_s = time.perf_counter() - began
    rng = random.Random(11)
    samples: list[float] = []
    allowed = 0
    for _ in range(answers):
        src, dst = rng.sample(list(snapshot.pods), 2)
        began = time.perf_counter()
        verdict = reach.allowed(src, dst, 8080, cluster=snapshot)
        samples.append(time.perf_counter() - began)
        allowed += verdict.allowed
    return {
        "scenario": "reach",
        "pods": len(snapshot.pods),
        "policies": len(snapshot.policies),
        "global_policies": sum(
            1
            for p in snapshot.policies
            if any(
                r.peers is None or any(x.ip_block for x in r.peers)
                for d in np.DIRECTIONS
                for r in p.rules(d)
            )
        ),
        "matrix_seconds": round(matrix_s, 3),
        "pairs_total": len(snapshot.pods) * (len(snapshot.pods) - 1),
        "pairs_open": len(pairs),
        "answers_allowed": allowed,
        **stats.latency_ms(samples, "answer"),
    }
