"""End-of-run checks: every difference is a lost, duplicated or wrong element.

Flows in: the resources and graph topics, the final cluster states (the control plane's
objects, the simulator's objects), the live Redis projection and the SSE watcher's mirror.
Flows out: one ``Diff`` per check —

- ``log``: the resources topic's latest record per object vs the cluster's objects
  (``producers.reconciling.reconcile`` of the final list against the log: an ADDED is a
  lost object, a tombstone a deleted object still alive in the log (counted duplicated),
  a MODIFIED a wrong version); the same object version published twice in a row by the
  producer is duplicated.
- ``graph``: the Redis graph vs the graph a clean, uninterrupted in-memory run of the
  processors over the whole resources topic ends in (``processors.pipeline`` +
  ``processors.folding.fold``).
- ``history``: the live projection vs one rebuilt from the graph topic under another
  prefix (``store.rebuild``), key by key, field by field: every version, deletion,
  index, feed entry and high-water mark (the graph topic has one partition, so even
  revision numbers must agree; only ``horizon``, a clock reading, is skipped).
- ``sse``: the watcher's mirror vs the Redis graph (plus its own gap/duplicate counts).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis
from aiokafka import AIOKafkaConsumer, TopicPartition

from processors import folding, pipeline, routing
from processors.deriving import Derivation
from producers import kube, reconciling
from store import dump, rebuild, replay
from store.keys import Keys
from store.reader import GraphReader
from topolog.core import envelope, graph, resources

Element = dict[str, Any]


@dataclass(slots=True)
class Diff:
    lost: int = 0
    duplicated: int = 0
    wrong: int = 0
    examples: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.lost + self.duplicated + self.wrong

    def note(self, what: str, text: str) -> None:
        setattr(self, what, getattr(self, what) + 1)
        if len(self.examples) < 20:
            self.examples.append(f"{what}: {text}")

    def as_dict(self) -> dict[str, Any]:
        return {
            "lost": self.lost,
            "duplicated": self.duplicated,
            "wrong": self.wrong,
            "examples": self.examples,
        }


# --- reading the log ---------------------------------------------------------------------


async def read_topic(bootstrap: str, topic: str) -> list[routing.Record]:
    """Every record of ``topic`` up to its current end, partition by partition."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        group_id=None,
        fetch_max_bytes=64 * 1024 * 1024,
        max_partition_fetch_bytes=16 * 1024 * 1024,
    )
    partitions = await replay.partitions(bootstrap, topic)
    await consumer.start()
    out: list[routing.Record] = []
    try:
        assigned = [TopicPartition(topic, p) for p in sorted(partitions)]
        consumer.assign(assigned)
        await consumer.seek_to_beginning(*assigned)
        ends = await consumer.end_offsets(assigned)
        remaining = {tp for tp in assigned if ends[tp] > 0}
        while remaining:
            batch = await consumer.getmany(*remaining, timeout_ms=1000, max_records=10000)
            for tp, messages in batch.items():
                for message in messages:
                    if message.offset < ends[tp]:
                        source = graph.Source(topic, tp.partition, message.offset)
                        out.append(routing.Record(message.key, message.value, source))
                if await consumer.position(tp) >= ends[tp]:
                    remaining.discard(tp)
    finally:
        await consumer.stop()
    return out


def envelopes(records: Iterable[routing.Record]) -> list[envelope.Envelope]:
    out = []
    for record in records:
        with contextlib.suppress(envelope.EnvelopeError):
            out.append(envelope.Envelope.from_json(record.value or b""))
    return out


# --- the log vs the cluster --------------------------------------------------------------


async def list_cluster(kubeconfig: Path) -> dict[str, list[Mapping[str, Any]]]:
    """Every object of every built-in kind the producer watches, by kind."""
    out: dict[str, list[Mapping[str, Any]]] = {}
    async with kube.connect(kubeconfig) as client:
        for kind in resources.BUILTIN:
            body = await client.get(kind.path)
            out[kind.kind] = list(body.get("items") or [])
    return out


def log_vs_objects(
    events: Sequence[envelope.Envelope],
    *,
    cluster: str,
    listed: Mapping[str, Sequence[Mapping[str, Any]]],
    count_repeats: bool,
) -> Diff:
    """Differences between the log's latest state of ``cluster`` and its ``listed`` objects."""
    diff = Diff()
    memory = reconciling.fold_history(events, cluster=cluster)
    for kind in sorted(set(memory) | set(listed)):
        changes = reconciling.reconcile(
            cluster=cluster, kind=kind, published=memory.get(kind, {}), listed=listed.get(kind, [])
        )
        for change in changes:
            obj = change.object
            if isinstance(obj, reconciling.DeletedFinalStateUnknown):
                where = f"{kind} {obj.namespace}/{obj.name}"
                diff.note("duplicated", f"{where} deleted but alive in log")
                continue
            ns, name, uid, rv = reconciling.identity(obj)
            if change.type is envelope.EventType.ADDED:
                diff.note("lost", f"{kind} {ns}/{name} ({uid}@{rv}) missing from the log")
            else:
                diff.note("wrong", f"{kind} {ns}/{name}: the log has another version than {rv}")
    if count_repeats:
        last: dict[str, tuple[str, str, str]] = {}
        for env in events:
            if env.cluster != cluster or env.type is envelope.EventType.SYNCED:
                continue
            seen = (env.type.value, env.uid, env.resource_version)
            if last.get(env.key) == seen:
                diff.note("duplicated", f"{env.key} {seen} published twice in a row")
            last[env.key] = seen
    return diff


# --- the Redis graph vs a clean replay -----------------------------------------------------


def reference_graph(records: Sequence[routing.Record]) -> folding.Graph:
    """The graph one uninterrupted in-memory run of the processors ends in."""
    derivation = Derivation()
    out = pipeline.process(derivation, records)
    return folding.fold(cs for _, cs in out.changesets)


def _shape(element: Mapping[str, Any]) -> dict[str, Any]:
    return {k: element[k] for k in ("ID", "Metadata", "Parent", "Child") if k in element}


def compare_elements(
    diff: Diff, what: str, want: Mapping[str, Element], got: Mapping[str, Element]
) -> None:
    for element_id in sorted(set(want) | set(got)):
        if element_id not in got:
            diff.note("lost", f"{what} {element_id}")
        elif element_id not in want:
            diff.note("duplicated", f"{what} {element_id} should not exist")
        elif want[element_id] != got[element_id]:
            diff.note("wrong", f"{what} {element_id}")


async def redis_graph(
    client: aioredis.Redis, keys: Keys
) -> tuple[dict[str, Element], dict[str, Element]]:
    snap = await GraphReader(client, keys).snapshot()
    topo = snap.topology()
    return ({n["ID"]: n for n in topo["Nodes"]}, {e["ID"]: e for e in topo["Edges"]})


def graph_vs_reference(
    reference: folding.Graph, nodes: Mapping[str, Element], edges: Mapping[str, Element]
) -> Diff:
    diff = Diff()
    ref_nodes, ref_edges = reference
    compare_elements(
        diff,
        "node",
        {i: _shape(n.to_dict()) for i, n in ref_nodes.items()},
        {i: _shape(n) for i, n in nodes.items()},
    )
    compare_elements(
        diff,
        "edge",
        {i: _shape(e.to_dict()) for i, e in ref_edges.items()},
        {i: _shape(e) for i, e in edges.items()},
    )
    return diff


# --- the history vs the log ----------------------------------------------------------------

#: Keys whose value is a clock reading, not a function of the log.
_CLOCK_KEYS = frozenset({"horizon"})


async def history_vs_log(
    client: aioredis.Redis,
    live: Keys,
    scratch: Keys,
    *,
    bootstrap: str,
    topic: str,
    window_ms: int,
    now: int,
    attempts: int = 5,
) -> Diff:
    """Rebuild the projection from the graph topic under ``scratch`` and compare with ``live``.

    The rebuild stops where the live projection's high-water marks were when it started,
    and the comparison counts only when the live projection did not move meanwhile: the
    cluster's controllers may still change objects after the run's churn stops, and a
    record the live projector applies after the rebuild's end is not a difference
    (``attempts`` rebuilds at most; the last one is compared as it is).
    """
    want: dict[str, Any] = {}
    got: dict[str, Any] = {}
    for _ in range(attempts):
        ends = await rebuild.applied_ends(client, live, topic)
        try:
            await rebuild.rebuild(
                client,
                scratch,
                bootstrap=bootstrap,
                topic=topic,
                window_ms=window_ms,
                now=now,
                until=ends,
            )
            want = await dump.dump(client, scratch)
            got = await dump.dump(client, live)
        finally:
            await dump.drop(client, scratch)
        if await rebuild.applied_ends(client, live, topic) == ends:
            break
    diff = Diff()
    for key in sorted(set(want) | set(got)):
        if key in _CLOCK_KEYS:
            continue
        if key not in got:
            diff.note("lost", f"key {key}")
        elif key not in want:
            diff.note("duplicated", f"key {key}")
        else:
            _compare_values(diff, key, want[key], got[key])
    return diff


def _as_mapping(value: Any) -> dict[Any, Any] | None:
    if isinstance(value, dict):
        return value
    if isinstance(value, set):
        return {member: True for member in value}
    if isinstance(value, list):  # zset (member, score) or stream (id, fields)
        return {item[0]: item[1] for item in value}
    return None


def _compare_values(diff: Diff, key: str, want: Any, got: Any) -> None:
    want_map, got_map = _as_mapping(want), _as_mapping(got)
    if want_map is None or got_map is None:
        if want != got:
            diff.note("wrong", f"key {key}")
        return
    for member in want_map.keys() | got_map.keys():
        if member not in got_map:
            diff.note("lost", f"{key} {member!r}")
        elif member not in want_map:
            diff.note("duplicated", f"{key} {member!r}")
        elif want_map[member] != got_map[member]:
            diff.note("wrong", f"{key} {member!r}")


# --- the SSE mirror vs Redis ---------------------------------------------------------------


def sse_vs_redis(
    mirror_nodes: Mapping[str, Element],
    mirror_edges: Mapping[str, Element],
    nodes: Mapping[str, Element],
    edges: Mapping[str, Element],
) -> Diff:
    diff = Diff()
    compare_elements(diff, "sse node", nodes, mirror_nodes)
    compare_elements(diff, "sse edge", edges, mirror_edges)
    return diff
