"""Worker GC tuning: rarer collections, survivors frozen on a clock, a switch to measure
without."""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from topolog import tuning


@pytest.fixture
def restored_gc() -> Iterator[None]:
    thresholds = gc.get_threshold()
    yield
    tuning.stop_clock()
    gc.unfreeze()
    gc.set_threshold(*thresholds)
    gc.enable()


def _clocks() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "gc-survivors"]


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
    tuning.tune_gc(freeze_survivors=True)
    assert gc.get_threshold() == before


def test_churn_that_frees_what_it_allocates_keeps_the_young_generation_small(
    restored_gc: None,
) -> None:
    tuning.tune_gc(freeze_survivors=True)
    tuning.tune_gc(freeze_survivors=True)
    assert len(_clocks()) == 1 and _clocks()[0].daemon  # one clock, not one per call
    state = [{"i": i} for i in range(20_000)]
    gc.collect()
    gc.freeze()
    # Replacing state allocates as much as it frees: CPython's allocation count stays
    # under its threshold, so only the clock collects (and freezes) the new objects.
    for step in range(100):  # every object replaced once over ~10 clock intervals
        for i in range(step * 200, (step + 1) * 200):
            state[i] = {"i": -i}
        time.sleep(tuning.SURVIVORS_INTERVAL_S / 10)
    assert gc.get_count()[0] < tuning.THRESHOLDS[0]  # CPython itself would not have run
    # Without the clock all 20,000 would be young; with it, about the last interval's.
    assert len(gc.get_objects(0)) < 10_000, "the young generation kept every new object"
    assert len(gc.get_objects(1)) + len(gc.get_objects(2)) < 10_000  # survivors frozen


def test_survivors_are_frozen_garbage_is_freed_and_nothing_runs_while_disabled(
    restored_gc: None,
) -> None:
    class Cycle:
        def __init__(self) -> None:
            self.me = self

    gc.collect()
    kept = [{"k": i} for i in range(1000)]
    Cycle()  # unreachable at once: collected, not frozen
    frozen = gc.get_freeze_count()
    assert tuning.freeze_young_survivors()
    assert gc.get_freeze_count() >= frozen + len(kept)
    assert not any(isinstance(o, Cycle) for o in gc.get_objects())
    gc.disable()  # e.g. while processors.deriving derives a large batch
    assert not tuning.freeze_young_survivors()


def test_the_clock_stops(restored_gc: None) -> None:
    tuning.tune_gc(freeze_survivors=True)
    assert _clocks()
    tuning.stop_clock()
    assert not _clocks()


def test_the_gateway_freezes_young_survivors_on_a_clock_and_reclaims_them(
    restored_gc: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The hub's mirror is replaced piece by piece in a churn, like the deriver's state:
    without the clock one young collection a minute walked all of it (a pause every
    stream waited for); streams leave cyclic garbage, so the clock also reclaims."""
    import uvicorn

    from topolog.cli import gateway

    tuned: list[dict[str, object]] = []
    real = tuning.tune_gc

    def spy(*args: Any, **kwargs: Any) -> None:
        tuned.append(kwargs)
        real(*args, **kwargs)

    served: list[object] = []
    monkeypatch.setattr(tuning, "tune_gc", spy)
    monkeypatch.setattr(uvicorn, "run", lambda app, **_options: served.append(app))
    gateway.gateway_command(host=None, port=None, log_level="warning")
    assert served
    assert tuned == [{"freeze_survivors": True, "reclaim": True, "quiet": True}]
    assert gc.get_threshold() == tuning.THRESHOLDS
    assert len(_clocks()) == 1


class _Cycle:
    def __init__(self) -> None:
        self.me = self


def test_cyclic_garbage_frozen_alive_is_reclaimed_once_the_frozen_objects_grew(
    restored_gc: None,
) -> None:
    def streams_opened_and_closed(reclaimer: tuning.Reclaimer) -> int:
        """A stream's objects in cycles, alive at a freeze and dead after: no young
        collection sees them again. Returns how many died."""
        streams = [_Cycle() for _ in range(gc.get_freeze_count() // 2)]
        assert reclaimer.freeze_young_survivors()
        dead = len(streams)
        del streams
        gc.collect()
        assert not any(isinstance(o, _Cycle) for o in gc.get_objects())  # frozen: unseen
        return dead

    gc.collect()
    gc.freeze()
    patient = tuning.Reclaimer(interval_s=3600)
    streams_opened_and_closed(patient)
    assert not patient.due()  # grown by more than a quarter, but too soon
    eager = tuning.Reclaimer(interval_s=0)
    assert not eager.due()
    dead = streams_opened_and_closed(eager)
    assert eager.due()
    assert eager.reclaim() >= dead
    gc.unfreeze()
    assert not any(isinstance(o, _Cycle) for o in gc.get_objects())
    gc.freeze()
    assert not eager.due()
    eager.tick()  # froze the young survivors: nothing to reclaim
    assert not eager.due()
    gc.disable()
    assert eager.reclaim() == 0  # nothing while the collector is disabled
    assert not eager.freeze_young_survivors()


def test_a_quiet_clock_stops_collecting_while_collections_find_nothing(
    restored_gc: None,
) -> None:
    """The processor's young collections found no garbage in a churn: walking each
    tick's new objects was pure cost. Quiet, the clock freezes them without walking and
    still collects every few ticks, so garbage that appears makes it collect again."""
    gc.collect()
    gc.set_threshold(1_000_000)  # only the clock collects here
    clock = tuning.QuietClock(quiet_after=3, probe_every=4)
    collected = [clock.tick() for _ in range(3)]
    assert collected == [True, True, True] and clock.quiet  # three found nothing
    stats_before = gc.get_stats()[0]["collections"]
    frozen = gc.get_freeze_count()
    kept = [[i] for i in range(1000)]  # lists: always tracked by the collector
    collected = [clock.tick() for _ in range(3)]  # ticks 4 (a probe), 5, 6
    assert collected == [True, False, False]
    assert gc.get_stats()[0]["collections"] == stats_before + 1
    assert gc.get_freeze_count() >= frozen + len(kept)  # frozen all the same

    _Cycle()  # dead before a freezing tick: frozen with the rest, never freed (the price)
    assert clock.tick() is False  # tick 7
    _Cycle()  # a steady source of cyclic garbage: the next probe (tick 8) finds it
    assert clock.tick() is True
    assert not clock.quiet
    assert not any(isinstance(o, _Cycle) for o in gc.get_objects())
    assert clock.tick() is True  # collecting every tick again until it is quiet again

    gc.disable()  # e.g. while processors.deriving derives a large batch
    assert clock.tick() is None


def test_the_processor_freezes_on_a_quiet_clock(
    restored_gc: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import faust
    from typer.testing import CliRunner

    from processors import app as processors_app
    from topolog.cli import main
    from topolog.cli import processor as processor_cli
    from topolog.settings import Settings

    tuned: list[dict[str, object]] = []
    settings = Settings(kafka_bootstrap="127.0.0.1:1", state_dir=tmp_path)
    monkeypatch.setattr(processor_cli, "get_settings", lambda: settings)
    monkeypatch.setattr(processors_app, "ensure_topics", _no_topics)
    monkeypatch.setattr(tuning, "tune_gc", lambda *a, **kw: tuned.append(kw))
    monkeypatch.setattr(faust.Worker, "execute_from_commandline", lambda self: None)
    result = CliRunner().invoke(main.app, ["processor", "--log-level", "warning"])
    assert result.exit_code == 0, result.output
    assert tuned == [{"freeze_survivors": True, "quiet": True}]


async def _no_topics(*_args: Any, **_kwargs: Any) -> None:
    return None


def test_a_quiet_reclaimer_still_counts_what_it_freezes(
    restored_gc: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The gateway's clock is quiet and reclaims: the objects it freezes without a
    collection still count towards the next reclaim."""
    monkeypatch.setattr(tuning, "QUIET_AFTER", 2)
    gc.collect()
    gc.freeze()  # what start-up left: the frozen objects a reclaim is measured against
    gc.set_threshold(1_000_000)  # only the clock collects here
    reclaimer = tuning.Reclaimer(growth=500 / gc.get_freeze_count(), interval_s=0, quiet=True)
    assert reclaimer.freeze_young_survivors() and reclaimer.freeze_young_survivors()
    assert reclaimer.quiet and not reclaimer.due()
    kept = [[i] for i in range(1000)]  # frozen by a tick that does not collect
    assert reclaimer.freeze_young_survivors()
    assert reclaimer.due()
    assert reclaimer.reclaim() >= 0 and not reclaimer.due()
    assert kept


def test_the_collector_is_paused_inside_and_restored_after(restored_gc: None) -> None:
    gc.enable()
    with tuning.collector_paused():
        assert not gc.isenabled()
        kept = [[i] for i in range(100_000)]  # past any threshold: no collection runs
        assert not gc.isenabled()
    assert gc.isenabled() and len(kept) == 100_000
    with pytest.raises(RuntimeError), tuning.collector_paused():
        raise RuntimeError("a batch that does not decode")
    assert gc.isenabled()
    gc.disable()  # paused already (a large batch is derived): stays paused after
    with tuning.collector_paused():
        pass
    assert not gc.isenabled()
