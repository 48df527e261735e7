"""Worker GC tuning: rarer collections, and a switch to measure without it."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from topolog import tuning


@pytest.fixture
def restored_gc() -> Iterator[None]:
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


def test_tuning_makes_young_collections_rarer_and_freezes_start_up_objects(
    restored_gc: None,
) -> None:
    tuning.tune_gc()
    tuning.tune_gc()
    assert gc.get_threshold() == tuning.THRESHOLDS
    assert gc.get_freeze_count() > 0  # start-up objects leave every future collection


def test_tuning_can_be_turned_off_to_measure_it(
    restored_gc: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TOPOLOG_GC_TUNING", "0")
    before = gc.get_threshold()
    tuning.tune_gc()
    assert gc.get_threshold() == before


def test_the_gateway_collects_young_objects_more_rarely_than_the_other_workers(
    restored_gc: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A feed read's resolved entries are alive together: the gateway's young collections
    must not walk them every 50,000 allocations."""
    import uvicorn

    from topolog.cli import gateway

    served: list[object] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **_options: served.append(app))
    gateway.gateway_command(host=None, port=None, log_level="warning")
    assert served
    assert gc.get_threshold() == (gateway.GATEWAY_YOUNG_GC, *tuning.THRESHOLDS[1:])
    assert tuning.THRESHOLDS[0] < gateway.GATEWAY_YOUNG_GC
