"""Creating topolog's topics explicitly, with their settings (see docs/topics.md).

Flows in: the topic names from ``topolog.settings`` and a Kafka bootstrap address.
Flows out: the topics exist (missing ones are created; existing ones are left as they
are — their settings are the operator's from then on).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from topolog.settings import Settings

log = logging.getLogger(__name__)

_TOPIC_ALREADY_EXISTS = 36
_DAY_MS = 24 * 3600 * 1000


class TopicError(RuntimeError):
    """The broker refused to create a topic."""


@dataclass(frozen=True, slots=True)
class TopicSpec:
    name: str
    partitions: int
    config: dict[str, str] = field(default_factory=dict)


def specs(settings: Settings, *, partitions: int = 8) -> list[TopicSpec]:
    """topolog's topics. Keys are per object, so ``partitions`` bounds consumer parallelism."""
    return [
        # The source of truth: every change ever observed; replayable from any time.
        TopicSpec(
            settings.topic_resources,
            partitions,
            {
                "cleanup.policy": "delete",
                "retention.ms": "-1",
                "retention.bytes": "-1",
                "max.message.bytes": str(8 * 1024 * 1024),
                "compression.type": "producer",
                "min.insync.replicas": "1",
            },
        ),
        # Derived: recomputable from the resources topic, so finite retention.
        TopicSpec(
            settings.topic_graph,
            partitions,
            {
                "cleanup.policy": "delete",
                "retention.ms": str(7 * _DAY_MS),
                "max.message.bytes": str(8 * 1024 * 1024),
                "compression.type": "producer",
            },
        ),
        TopicSpec(
            settings.topic_alerts,
            1,
            {"cleanup.policy": "delete", "retention.ms": str(7 * _DAY_MS)},
        ),
        TopicSpec(
            settings.topic_deadletter,
            1,
            {
                "cleanup.policy": "delete",
                "retention.ms": str(30 * _DAY_MS),
                "max.message.bytes": str(8 * 1024 * 1024),
            },
        ),
    ]


async def ensure(
    bootstrap: str, topics: list[TopicSpec], *, replication_factor: int = 1
) -> list[str]:
    """Create the missing ``topics``; returns the names created."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="topolog-topics")
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in topics if t.name not in existing]
        if not missing:
            return []
        response = await admin.create_topics(
            [
                NewTopic(
                    name=t.name,
                    num_partitions=t.partitions,
                    replication_factor=replication_factor,
                    topic_configs=dict(t.config),
                )
                for t in missing
            ]
        )
        for name, code, *rest in response.topic_errors:
            if code not in (0, _TOPIC_ALREADY_EXISTS):
                raise TopicError(f"cannot create topic {name}: error {code} {rest}")
        created = [t.name for t in missing]
        log.info("created topics %s", created)
        return created
    finally:
        await admin.close()
