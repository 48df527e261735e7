"""Both stages chained in memory: what one worker does to a batch, without Kafka.

Flows in: resource records (``routing.Record``) and the ``deriving.Derivation`` to apply
them to.
Flows out: one ``deriving.Output`` — changesets, alerts and the dead letters of both
stages. Tests and ``topolog`` tooling use it; ``processors.app`` runs the same two
functions with a Kafka topic between them.
"""

from __future__ import annotations

from collections.abc import Sequence

from processors import batches, routing
from processors.deriving import Derivation, Output


def process(derivation: Derivation, records: Sequence[routing.Record]) -> Output:
    routed = routing.route(records)
    out = Output(deadletters=list(routed.deadletters))
    for _, value in routed.batches:
        out.extend(derivation.apply(batches.decode(value)))
    return out
