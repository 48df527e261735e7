"""The harness's arithmetic and printing: what the published figures are computed with."""

from __future__ import annotations

import math

import pytest

from bench.scenarios import stats


@pytest.mark.parametrize(
    ("samples", "q", "expected"),
    [
        ([5.0], 50, 5.0),
        ([1.0, 2.0, 3.0, 4.0], 50, 2.5),
        ([1.0, 2.0, 3.0, 4.0], 0, 1.0),
        ([1.0, 2.0, 3.0, 4.0], 100, 4.0),
        ([10.0, 0.0, 30.0, 20.0], 25, 7.5),
        (list(map(float, range(1, 101))), 99, 99.01),
    ],
)
def test_percentile_interpolates_between_closest_ranks_like_numpy(
    samples: list[float], q: float, expected: float
) -> None:
    assert stats.percentile(samples, q) == pytest.approx(expected)


def test_percentile_of_nothing_is_nan_and_out_of_range_is_an_error() -> None:
    assert math.isnan(stats.percentile([], 50))
    with pytest.raises(ValueError):
        stats.percentile([1.0], 101)


def test_a_single_slow_sample_moves_p99_but_not_p50() -> None:
    samples = [0.010] * 99 + [2.0]
    figures = stats.latency_ms(samples, "x")
    assert figures["x_p50_ms"] == 10.0
    assert figures["x_p99_ms"] > 10.0
    assert figures["x_max_ms"] == 2000.0
    assert figures["x_n"] == 100


def test_latency_of_no_samples_is_reported_as_missing_not_zero() -> None:
    figures = stats.latency_ms([], "x")
    assert math.isnan(figures["x_p50_ms"]) and figures["x_n"] == 0


def test_serial_stages_bound_is_the_inverse_of_summed_time_per_event() -> None:
    # 1 event at 1000/s plus 10 writes at 100k/s: 1 ms + 0.1 ms per event.
    assert stats.combined_rate((1000.0, 1.0), (100_000.0, 10.0)) == pytest.approx(909.1)
    assert stats.combined_rate() == 0.0


def test_rate_and_ratio_of_nothing_timed() -> None:
    assert stats.rate(10, 0) == 0.0
    assert math.isnan(stats.ratio(1, 0))
    assert stats.ratio(1, 4) == 0.25


def test_table_has_one_row_per_figure_and_a_section_per_nested_result() -> None:
    text = stats.table(
        {
            "scenario": "all",
            "pods": 10000,
            "limits": {"kafka_raw_consume_events_per_s": 61234.5},
            "results": [{"scenario": "sync", "seconds": 3.5, "lost": math.nan}],
        }
    )
    lines = text.splitlines()
    assert lines[0].split() == ["scenario", "all"]
    assert lines[1].split() == ["pods", "10,000"]
    assert lines[2].split() == ["limits.kafka_raw_consume_events_per_s", "61,234"]
    assert lines[3] == ""
    assert lines[4].split() == ["scenario", "sync"]
    assert lines[5].split() == ["seconds", "3.50"]
    assert lines[6].split() == ["lost", "-"]
