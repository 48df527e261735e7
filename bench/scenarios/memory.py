"""Scenario ``memory``: Redis bytes per node and per edge (history included), stage RSS.

Flows in: a loaded stack, and when it is measured (``after-sync``: one version per
element; ``after-churn``: with the history of updated and deleted elements).
Flows out: the projection's bytes (sum of ``MEMORY USAGE <key> SAMPLES 0`` over its
keys) split by key family into node keys (``nh:``, ``nv``, ``ix:``, ``nodes``,
``nodes:dead``) and edge keys (``eh:``, ``ev``, ``out:``, ``in:``, ``edges``,
``edges:dead``); the shared keys (feed, ``ends``, marks) are shared in proportion to
element counts. Per node, per edge and per element
figures, ``used_memory`` of the server, versions kept, and the RSS of each stage process.
"""

from __future__ import annotations

from bench.scenarios import stack as stacks
from bench.scenarios import stats

_NODE = ("nh:", "nv", "ix:", "nodes")
_EDGE = ("eh:", "ev", "out:", "in:", "edges")


def family(name: str) -> str:
    """``node``, ``edge`` or ``shared`` for a key name without the prefix."""
    if name.startswith(_EDGE):
        return "edge"
    if name.startswith(_NODE):
        return "node"
    return "shared"


async def run(stack: stacks.Stack, *, when: str) -> stats.Result:
    client = stack.redis
    assert client is not None
    prefix = stack.keys.prefix
    sizes = {"node": 0, "edge": 0, "shared": 0}
    keys = 0
    batch: list[bytes] = []

    async def measure() -> None:
        pipe = client.pipeline(transaction=False)
        for key in batch:
            pipe.memory_usage(key, samples=0)
        for key, used in zip(batch, await pipe.execute(), strict=True):
            sizes[family(key.decode()[len(prefix) :])] += int(used or 0)
        batch.clear()

    async for key in client.scan_iter(match=f"{prefix}*", count=2000):
        batch.append(key)
        keys += 1
        if len(batch) >= 2000:
            await measure()
    await measure()
    nodes, edges = await stack.counts()
    # Past versions are in ``nv``/``ev``, the current one of each alive element in its
    # ``nodes``/``edges`` field.
    node_versions = int(await client.hlen(f"{prefix}nv")) + nodes
    edge_versions = int(await client.hlen(f"{prefix}ev")) + edges
    info = await client.info("memory")
    share = sizes["shared"] / max(nodes + edges, 1)
    total = sum(sizes.values())
    return {
        "scenario": "memory",
        "when": when,
        "nodes": nodes,
        "edges": edges,
        "node_versions": node_versions,
        "edge_versions": edge_versions,
        "keys": keys,
        "bytes_total": total,
        "bytes_per_node": round(sizes["node"] / max(nodes, 1) + share),
        "bytes_per_edge": round(sizes["edge"] / max(edges, 1) + share),
        "bytes_per_element": round(total / max(nodes + edges, 1)),
        "bytes_per_version": round(total / max(node_versions + edge_versions, 1)),
        "redis_used_memory": int(info["used_memory"]),
        **{f"rss_{name}_bytes": rss for name, rss in stack.rss().items()},
    }
