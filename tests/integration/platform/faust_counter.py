"""A minimal faust app for the platform test: an agent summing values per key in a table.

Every update is echoed to the output topic as ``key=total`` so the test can see the
table's value; after a worker restart the first echo proves the table was recovered
from its changelog (in-memory store, so recovery must come from Kafka).
"""

from __future__ import annotations

import os

import faust

app = faust.App(
    os.environ["COUNTER_APP_ID"],
    broker=f"kafka://{os.environ['COUNTER_KAFKA']}",
    store="memory://",
    datadir=os.environ["COUNTER_DATADIR"],
    web_enabled=False,
    topic_partitions=1,
    producer_acks=-1,
    # A restarted worker must not wait out faust's 60-s default session of the one it
    # replaces before the group rebalances (the test's reads have 90 s).
    broker_session_timeout=10.0,
    broker_heartbeat_interval=2.5,
)
inputs = app.topic(os.environ["COUNTER_IN"], key_type=str, value_type=int)
outputs = app.topic(os.environ["COUNTER_OUT"], key_type=str, value_type=str)
totals = app.Table("totals", default=int, partitions=1)


@app.agent(inputs)
async def count(stream: faust.StreamT[int]) -> None:
    async for key, value in stream.items():
        totals[key] += value
        await outputs.send(key=key, value=f"{key}={totals[key]}")


if __name__ == "__main__":
    app.main()
