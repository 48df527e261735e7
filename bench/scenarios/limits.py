"""The machine's own limits, measured in the same run: raw Kafka and raw Redis.

Flows in: the Kafka bootstrap, a Redis port, a record size and count.
Flows out: records/s of ``org.apache.kafka.tools.ProducerPerformance`` and
``ConsumerPerformance`` (the perf tools in the platform's Kafka jars, run with
``java -cp "<jars>/*"``) on a fresh 8-partition topic, and requests/s of
``redis-benchmark`` for the write commands the projection's Lua scripts issue (SET,
HSET, SADD, ZADD, XADD), pipelined 16 deep (the projector pipelines its round trips).
"""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
import uuid

from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from bench.scenarios import stats
from topolog.platform import kafka as platform_kafka

REDIS_TESTS = ("set", "hset", "sadd", "zadd", "xadd")


def _java(tool: str, *args: str, timeout: float = 300) -> str:
    classpath = f"{platform_kafka.jars_dir()}/*"
    done = subprocess.run(
        ["java", "-Xmx512m", "-cp", classpath, f"org.apache.kafka.tools.{tool}", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=True,
    )
    return done.stdout


def parse_producer(out: str) -> float:
    """records/s from ProducerPerformance's summary line."""
    found = re.findall(r"(\d+) records sent, ([\d.]+) records/sec", out)
    if not found:
        raise ValueError(f"no summary in ProducerPerformance output: {out[-500:]!r}")
    return float(found[-1][1])


def parse_consumer(out: str) -> float:
    """records/s (``fetch.nMsg.sec``) from ConsumerPerformance's CSV line."""
    lines = [line for line in out.splitlines() if line.strip()]
    header = [h.strip() for h in lines[0].split(",")]
    values = [v.strip() for v in lines[-1].split(",")]
    return float(values[header.index("fetch.nMsg.sec")])


def parse_redis_csv(out: str) -> dict[str, float]:
    """test → requests/s from ``redis-benchmark --csv``."""
    rates: dict[str, float] = {}
    for line in out.splitlines():
        cells = [c.strip('"') for c in line.split(",")]
        if len(cells) >= 2 and cells[0] != "test":
            rates[cells[0].split()[0].lower()] = float(cells[1])
    return rates


async def kafka_limits(bootstrap: str, *, records: int, record_bytes: int) -> stats.Result:
    topic = f"bench-raw-{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=8, replication_factor=1)])
    finally:
        await admin.close()
    produce = await asyncio.to_thread(
        _java,
        "ProducerPerformance",
        *("--topic", topic, "--num-records", str(records)),
        *("--record-size", str(record_bytes), "--throughput", "-1"),
        *("--producer-props", f"bootstrap.servers={bootstrap}", "acks=all"),
        "compression.type=lz4",
        "linger.ms=20",
    )
    consume = await asyncio.to_thread(
        _java,
        "ConsumerPerformance",
        *("--bootstrap-server", bootstrap, "--topic", topic),
        *("--messages", str(records), "--timeout", "60000"),
    )
    from bench.scenarios import stack

    await stack.delete_topics(bootstrap, [topic])
    return {
        "kafka_raw_produce_events_per_s": parse_producer(produce),
        "kafka_raw_consume_events_per_s": parse_consumer(consume),
        "kafka_raw_record_bytes": record_bytes,
        "kafka_raw_records": records,
    }


def _redis_benchmark(port: int, requests: int, *args: str) -> dict[str, float]:
    out = subprocess.run(
        [
            shutil.which("redis-benchmark") or "/usr/bin/redis-benchmark",
            *("-h", "127.0.0.1", "-p", str(port), "-n", str(requests), "-P", "16"),
            *("-r", "100000", "--csv", *args),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    ).stdout
    return parse_redis_csv(out)


def redis_limits(port: int, *, requests: int = 200_000) -> stats.Result:
    rates = _redis_benchmark(port, requests, "-t", "set,hset,sadd,zadd")
    # XADD has no built-in test in redis-benchmark 7.0: run it as a command.
    rates |= _redis_benchmark(port, requests, "XADD", "bench:feed", "*", "f", "v")
    writes = [rates[t] for t in REDIS_TESTS if t in rates]
    return {
        **{f"redis_raw_{t}_per_s": rates.get(t, 0.0) for t in REDIS_TESTS},
        "redis_raw_write_ops_per_s": round(sum(writes) / len(writes), 1) if writes else 0.0,
    }
