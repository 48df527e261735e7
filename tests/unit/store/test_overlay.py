"""The overlay's merges equal the plain set formula: (live - changed) | past, sorted."""

from __future__ import annotations

import random

import pytest

from store import overlay


@pytest.mark.parametrize("seed", range(40))
def test_merge_is_live_without_the_changed_plus_the_past(seed: int) -> None:
    rnd = random.Random(seed)
    universe = [f"id-{i:05d}" for i in range(rnd.choice([0, 5, 200, 3000]))]
    live = sorted(rnd.sample(universe, rnd.randint(0, len(universe))))
    if rnd.random() < 0.3:
        rnd.shuffle(live)  # order of the live answer does not matter
    changed_ids = rnd.sample(universe, min(len(universe), rnd.choice([0, 1, 3, 40, 500])))
    changed_ids.append("not-in-live")
    changed: dict[str, object] = {i: None for i in changed_ids}
    past = [i for i in changed_ids if rnd.random() < 0.5]
    expected = sorted((set(live) - set(changed)) | set(past))
    assert overlay._merge(live, changed, past) == expected
