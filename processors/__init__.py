"""Processors: derive the graph from the resources topic (faust-streaming).

Two stages in one faust app (``processors.app``):

1. ``route`` — resource records in (one envelope each, keyed by object), validated;
   malformed ones go to the dead-letter topic (``deadletter``), the rest are packed into
   per-cluster batches (``batches``) on the app's cluster topic, keyed by cluster.
2. ``derive`` — cluster batches in; one ``topolog.core.derive.engine.Deriver`` per
   cluster (``deriving``) turns them into ``graph.ChangeSet`` records on the graph topic
   (keyed by cluster) and alerts on the alerts topic. Its in-memory state is rebuilt on
   start by replaying its partitions (``replaying``).

``pipeline`` chains both stages in memory (what one worker does, without Kafka).
See docs/processors.md for why the derivation is partitioned by cluster.
"""

import topolog  # noqa: F401  (first: it serves this package's compiled modules, topolog.compiled)
