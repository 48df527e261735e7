"""Cold time travel: the graph at a time before the hot window, rebuilt from Kafka.

Flows in: the graph topic (replayed from its beginning to its current end) and a time or
a slice in epoch ms. Flows out: a ``Snapshot`` equal to what the Redis projection would
answer for that time had it kept the history (``store.history`` applies the projection's
rules in memory). The whole topic is read: a version's start depends on the element's
earlier versions (clock skew), so stopping at ``t`` could give another answer.
"""

from __future__ import annotations

from store import replay
from store.history import History
from store.snapshot import Snapshot


async def load(bootstrap: str, topic: str) -> History:
    history = History()
    async for batch in replay.replay(bootstrap, topic):
        for changeset, position in batch:
            history.apply(changeset, position)
    return history


async def graph_at(bootstrap: str, topic: str, at: int) -> Snapshot:
    return (await load(bootstrap, topic)).at(at)


async def graph_between(bootstrap: str, topic: str, since: int, until: int) -> Snapshot:
    history = await load(bootstrap, topic)
    return history.at(until) if since == until else history.between(since, until)
