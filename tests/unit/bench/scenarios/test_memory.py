"""Which projection keys count for nodes, which for edges (docs/redis-layout.md)."""

from __future__ import annotations

import pytest

from bench.scenarios import memory


@pytest.mark.parametrize(
    ("key", "family"),
    [
        ("nh:uid-1", "node"),
        ("nv", "node"),
        ("ix:Type=pod", "node"),
        ("nodes", "node"),
        ("nodes:dead", "node"),
        ("eh:abc", "edge"),
        ("ev", "edge"),
        ("out:uid-1", "edge"),
        ("in:uid-1", "edge"),
        ("edges", "edge"),
        ("edges:dead", "edge"),
        ("feed", "shared"),
        ("ends", "shared"),
        ("hwm", "shared"),
        ("rev", "shared"),
    ],
)
def test_every_key_of_the_layout_belongs_to_one_family(key: str, family: str) -> None:
    assert memory.family(key) == family
