from __future__ import annotations

import dataclasses

import orjson
import pytest

from processors import batches, routing
from processors.deadletter import Reason
from tests.unit.processors import scenario
from topolog.core import envelope, graph


def _raw(value: bytes, offset: int = 0) -> routing.Record:
    return routing.Record(b"k", value, graph.Source("resources", 0, offset))


def _env(kind: str = "ConfigMap", *, cluster: str = "east", name: str = "cm") -> envelope.Envelope:
    return envelope.Envelope(
        cluster=cluster,
        api_version="v1",
        kind=kind,
        namespace="default",
        name=name,
        uid=f"uid-{cluster}-{name}",
        type=envelope.EventType.ADDED,
        resource_version="1",
        observed_at=scenario.T0,
        object={"metadata": {"name": name, "namespace": "default", "uid": f"uid-{cluster}-{name}"}},
    )


def test_envelopes_are_packed_per_cluster_keeping_their_sources_in_order() -> None:
    envs = [_env(cluster=c, name=f"cm{i}") for i in range(6) for c in ("west", "east")]
    recs = [_raw(e.to_json(), offset=i) for i, e in enumerate(envs)]
    routed = routing.route(recs)
    assert routed.deadletters == [] and routed.forwarded == len(envs)
    decoded = {c: batches.decode(v) for c, v in routed.batches}
    assert sorted(decoded) == ["east", "west"]
    for cluster, batch in decoded.items():
        assert batch.cluster == cluster
        assert [e.envelope for e in batch.entries] == [e for e in envs if e.cluster == cluster]
        offsets = [e.source.offset for e in batch.entries]
        assert offsets == sorted(offsets)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (b"\x00\xffnot json", Reason.UNDECODABLE),
        (b"[1, 2]", Reason.UNDECODABLE),
        (orjson.dumps({"v": 1, "kind": "Pod"}), Reason.UNDECODABLE),
        (orjson.dumps({**orjson.loads(_env().to_json()), "v": 2}), Reason.SCHEMA_VERSION),
        (_env(kind="Widget").to_json(), Reason.UNKNOWN_KIND),
        (_env(kind="Container").to_json(), Reason.UNKNOWN_KIND),
    ],
)
def test_malformed_record_is_dead_lettered_with_its_reason_and_bytes(
    value: bytes, reason: Reason
) -> None:
    good = _env(name="good").to_json()
    routed = routing.route([_raw(value, 0), _raw(good, 1)])
    [dead] = routed.deadletters
    assert dead.reason is reason
    assert dead.value == value and dead.source.offset == 0
    headers = dict(dead.headers())
    assert headers["topolog-reason"] == reason.value.encode()
    assert headers["topolog-source-offset"] == b"0"
    # The pipeline keeps going: the record after it is routed.
    assert routed.forwarded == 1


def test_tombstone_is_dead_lettered() -> None:
    routed = routing.route([routing.Record(b"k", None, graph.Source("resources", 0, 0))])
    assert [d.reason for d in routed.deadletters] == [Reason.UNDECODABLE]


def test_synced_markers_are_dropped_not_forwarded() -> None:
    marker = envelope.synced_marker(
        cluster="east", api_version="v1", kind="Pod", resource_version="9", observed_at=1.0
    )
    routed = routing.route([_raw(marker.to_json())])
    assert routed.batches == [] and routed.deadletters == [] and routed.skipped == 1


def test_a_large_input_is_split_into_batches_under_the_size_limit() -> None:
    envs = scenario.cluster("east", seed=1, pods=60, churn=0)
    recs = scenario.records(envs)
    routed = routing.route(recs, max_bytes=20_000)
    assert len(routed.batches) > 1
    assert all(len(v) < 20_000 + max(len(r.value or b"") for r in recs) for _, v in routed.batches)
    entries = [e for _, v in routed.batches for e in batches.decode(v).entries]
    assert [e.envelope for e in entries] == envs


def test_a_record_larger_than_any_kubernetes_object_is_dead_lettered_and_the_rest_routed() -> None:
    env = _env(name="huge")
    huge = dataclasses.replace(
        env, object={**env.object, "data": {"blob": "x" * routing.MAX_ENVELOPE_BYTES}}
    )
    good = _env(name="good").to_json()
    routed = routing.route([_raw(huge.to_json(), 0), _raw(good, 1)])
    [dead] = routed.deadletters
    assert dead.reason is Reason.TOO_LARGE
    assert dead.source.offset == 0
    assert routed.forwarded == 1


def test_an_object_just_under_the_limit_is_routed() -> None:
    env = _env(name="big")
    padding = routing.MAX_ENVELOPE_BYTES - len(env.to_json()) - 64
    big = dataclasses.replace(env, object={**env.object, "data": {"blob": "x" * padding}})
    assert len(big.to_json()) <= routing.MAX_ENVELOPE_BYTES
    routed = routing.route([_raw(big.to_json(), 0)])
    assert routed.deadletters == [] and routed.forwarded == 1


def test_records_are_cut_into_runs_of_consecutive_offsets_of_one_partition() -> None:
    def rec(partition: int, offset: int, topic: str = "clusters") -> routing.Record:
        return routing.Record(b"k", b"v", graph.Source(topic, partition, offset))

    records = [
        rec(0, 5),
        rec(0, 6),
        rec(0, 7),
        rec(3, 1),
        rec(3, 2),
        rec(0, 8),  # partition 0 again, after another partition: a new run
        rec(0, 10),  # a gap in the offsets: a new run
        rec(0, 11, topic="other"),
    ]
    runs = routing.runs(records)
    assert [[(r.source.partition, r.source.offset) for r in run] for run in runs] == [
        [(0, 5), (0, 6), (0, 7)],
        [(3, 1), (3, 2)],
        [(0, 8)],
        [(0, 10)],
        [(0, 11)],
    ]
    assert [r for run in runs for r in run] == records
    assert routing.runs([]) == []


def test_a_clusters_synced_marker_goes_on_with_the_clusters_envelopes() -> None:
    """It closes the cluster's initial list in the deriver; a kind's marker is dropped."""
    marker = envelope.cluster_synced_marker(cluster="east", observed_at=scenario.T0)
    kind_marker = envelope.synced_marker(
        cluster="east", api_version="v1", kind="Pod", resource_version="9", observed_at=1.0
    )
    records = [_raw(e.to_json(), offset=i) for i, e in enumerate([_env(), kind_marker, marker])]
    routed = routing.route(records)
    assert routed.deadletters == [] and routed.skipped == 1 and routed.forwarded == 2
    [(cluster, value)] = routed.batches
    assert cluster == "east"
    assert [e.envelope for e in batches.decode(value).entries] == [_env(), marker]
