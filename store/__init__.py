"""The Redis projection of the graph topic, with history, a change feed and rebuild.

Flows in: ``graph.ChangeSet`` records from the graph topic (written by processors/).
Flows out: Redis keys (layout in ``store.keys`` and docs/redis-layout.md) read by
``store.reader.GraphReader`` and tailed through ``store.feed`` by the gateway.

Modules: ``keys`` (layout) → ``encoding`` (canonical bodies, index terms) → ``scripts``
(Lua) → ``scriptargs`` (a changeset as the script's arguments) → ``projection`` (apply one
changeset atomically) → ``projector`` (the Kafka loop); ``feedrecords`` (feed entries from
Redis's replies, pure) under ``feed``;
``history`` (the same semantics in memory: cold time travel and the reference for tests),
``snapshot`` (an in-memory graph at one time), ``reader``, ``feed``, ``trimmer``,
``rebuild``, ``cold``.
"""

import topolog  # noqa: F401  (first: it serves this package's compiled modules, topolog.compiled)
