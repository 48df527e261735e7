"""``GraphReader.current``: the live graph read from the alive hashes equals the snapshot."""

from __future__ import annotations

import pytest
import redis.asyncio as aioredis

from store import feed
from store.keys import Keys
from store.projection import Projection
from store.reader import GraphReader
from tests.integration.store.builders import random_changesets

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("seed", range(4))
async def test_current_equals_the_snapshot_of_now_element_for_element(
    client: aioredis.Redis, keys: Keys, seed: int
) -> None:
    projection, reader = Projection(client, keys), GraphReader(client, keys)
    for i, cs in enumerate(random_changesets(seed, 60)):
        await projection.apply(cs)
        if i % 20 != 19:
            continue
        revision, nodes, edges, epoch = await reader.current()
        snap = await reader.snapshot()
        assert revision == snap.revision == await reader.revision()
        node_ids, edge_ids = sorted(snap.all_node_ids()), sorted(snap.all_edge_ids())
        # Same elements (times, revisions, bodies), in id order.
        assert list(nodes) == node_ids and list(edges) == edge_ids
        assert list(nodes.values()) == snap.nodes(node_ids)
        assert list(edges.values()) == snap.edges(edge_ids)
        assert nodes and edges
        assert epoch == await feed.epoch(client, keys) != ""


async def test_current_of_an_empty_store(client: aioredis.Redis, keys: Keys) -> None:
    assert await GraphReader(client, keys).current() == (0, {}, {}, "")
