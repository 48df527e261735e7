from __future__ import annotations

from faust.types import TP

from processors import app as processors_app
from processors.deriving import Derivation
from topolog.settings import Settings


def _processor() -> processors_app.Processor:
    options = processors_app.Options(app_id="unit-proc")
    return processors_app.Processor(Settings(), bootstrap="127.0.0.1:1", options=options)


async def test_revoking_a_cluster_partition_forgets_its_derive_state() -> None:
    processor = _processor()
    topic = processors_app.cluster_topic("unit-proc")
    for partition in (0, 1, 2):
        processor._partitions[partition] = processors_app._Partition(Derivation(), 10)
    await processor.app.on_partitions_revoked.send(
        {TP(topic, 1), TP(Settings().topic_resources, 0)}
    )
    assert sorted(processor._partitions) == [0, 2]


def test_the_cluster_topic_is_kept_as_long_as_the_resources_topic() -> None:
    """The derive state is rebuilt from it: it must never lose a record."""
    settings = Settings()
    options = processors_app.Options(app_id="unit-proc")
    specs = {s.name: s for s in processors_app.topic_specs(settings, options)}
    cluster = specs[processors_app.cluster_topic("unit-proc")]
    assert cluster.config["retention.ms"] == "-1"
    assert cluster.config["retention.bytes"] == "-1"
    assert cluster.config["cleanup.policy"] == "delete"
    assert cluster.partitions == options.partitions
    assert {settings.topic_graph, settings.topic_alerts, settings.topic_deadletter} <= set(specs)
