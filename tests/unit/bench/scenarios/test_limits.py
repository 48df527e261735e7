"""Reading the raw tools' output: Kafka's perf tools and redis-benchmark."""

from __future__ import annotations

import pytest

from bench.scenarios import limits


def test_producer_rate_is_the_summary_line_not_the_progress_lines() -> None:
    out = (
        "64936 records sent, 12987.2 records/sec (15.08 MB/sec), 1200.1 ms avg latency.\n"
        "200000 records sent, 19585.3 records/sec (22.75 MB/sec), 1049.33 ms avg latency, "
        "1817.00 ms max latency, 1039 ms 50th, 1700 ms 95th, 1790 ms 99th, 1815 ms 99.9th.\n"
    )
    assert limits.parse_producer(out) == 19585.3


def test_producer_output_without_summary_is_an_error() -> None:
    with pytest.raises(ValueError):
        limits.parse_producer("WARN something\n")


def test_consumer_rate_is_the_fetch_messages_per_second_column() -> None:
    out = (
        "start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, "
        "rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec\n"
        "2026-11-26 07:10:01:000, 2026-11-26 07:10:05:000, 58.1, 14.5, 50000, 12500.0, "
        "3200, 800, 72.6, 62500.0\n"
    )
    assert limits.parse_consumer(out) == 62500.0


def test_redis_csv_is_keyed_by_command_name_including_custom_commands() -> None:
    out = (
        '"test","rps","avg_latency_ms"\n'
        '"SET","833333.31","0.817"\n'
        '"ZADD","540540.56","1.288"\n'
        '"XADD bench:feed * f v","243902.44","2.855"\n'
    )
    assert limits.parse_redis_csv(out) == {"set": 833333.31, "zadd": 540540.56, "xadd": 243902.44}
