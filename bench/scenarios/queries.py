"""Scenario ``queries``: Gremlin over the gateway's Skydive API, p50/p99 per query.

Flows in: a loaded stack and the envelopes it was loaded with (to name existing objects).
Flows out: per query kind, p50/p99/max milliseconds over ``repeat`` sequential calls of
``POST /api/topology`` (HTTP, JSON encoding and the Redis reads included) and the size
of the answer; first, how long the gateway's hub took to reach the projection's
revision after the sync (the queries are timed from then on).
"""

from __future__ import annotations

import asyncio
import time

import httpx
import orjson

from bench.scenarios import stack as stacks
from bench.scenarios import stats
from bench.scenarios.sync import Loaded


def _pick(loaded: Loaded, kind: str) -> dict[str, str]:
    envs = [e for e in loaded.envelopes if e.kind == kind]
    env = envs[len(envs) // 2]
    return {"name": env.name, "app": str(env.object["metadata"].get("labels", {}).get("app"))}


def queries(loaded: Loaded, at: float) -> dict[str, tuple[str, int]]:
    """Query kind → (Gremlin, repetitions)."""
    pod = _pick(loaded, "Pod")
    deployment = _pick(loaded, "Deployment")
    return {
        "indexed_has": (f"G.V().Has('Type', 'pod', 'Name', '{pod['name']}')", 200),
        "label_filter": (f"G.V().Has('K8s.Labels.app', '{pod['app']}')", 200),
        "two_hop": (
            f"G.V().Has('Type', 'deployment', 'Name', '{deployment['name']}').Out().Out()",
            200,
        ),
        "count_pods": ("G.V().Has('Type', 'pod').Count()", 20),
        "point_in_time_whole_graph": (f"G.At({at:.3f}).V().Count()", 5),
    }


async def _settled(stack: stacks.Stack, client: httpx.AsyncClient, limit_s: float = 900) -> float:
    """Seconds until the gateway's hub stood at the projection's revision: measured from
    then on, the queries do not compete with the gateway still following the sync."""
    began = time.monotonic()
    assert stack.redis is not None
    target = int(await stack.redis.get(stack.keys.rev) or 0)
    while time.monotonic() - began < limit_s:
        ready = orjson.loads((await client.get("/readyz")).content)
        if int(ready.get("revision") or 0) >= target:
            break
        await asyncio.sleep(0.2)
    return round(time.monotonic() - began, 2)


async def run(stack: stacks.Stack, loaded: Loaded) -> stats.Result:
    out: stats.Result = {"scenario": "queries"}
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=120) as client:
        out["gateway_settled_after_s"] = await _settled(stack, client)
        for name, (gremlin, repeat) in queries(loaded, loaded.synced_at).items():
            samples: list[float] = []
            size = 0
            for _ in range(repeat):
                began = time.perf_counter()
                resp = await client.post("/api/topology", json={"GremlinQuery": gremlin})
                samples.append(time.perf_counter() - began)
                resp.raise_for_status()
                size = len(resp.content)
            answer = orjson.loads(resp.content)
            out[name] = {
                "query": gremlin,
                **stats.latency_ms(samples, "latency"),
                "answer": answer if isinstance(answer, int) else f"{len(answer)} items",
                "answer_bytes": size,
            }
    return out
