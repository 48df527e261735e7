"""Apache Kafka, single node in KRaft combined mode, run with the machine's Java.

Flows in: the jars listed by ``deploy/local/kafka/pom.xml`` (copied from Maven Central
once per POM version into the per-user cache), ports from the platform state.
Flows out: a broker on 127.0.0.1 whose readiness is proven by a real round trip
(create a topic, produce a record, consume it back).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import shutil
import subprocess
import time
import uuid
from pathlib import Path

from topolog.platform import paths
from topolog.platform.process import PlatformError, ServiceProcess, wait_until
from topolog.platform.state import PlatformState, port_open

HEAP = "-Xmx1g"

_LOG4J2 = """\
status = warn
appender.console.type = Console
appender.console.name = STDOUT
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = info
rootLogger.appenderRef.stdout.ref = STDOUT
logger.kafka.name = kafka
logger.kafka.level = warn
logger.apache.name = org.apache.kafka
logger.apache.level = warn
"""


def jars_dir() -> Path:
    """The cached runtime classpath; fetched with Maven on first use."""
    pom = paths.deploy_dir() / "kafka" / "pom.xml"
    key = hashlib.sha256(pom.read_bytes()).hexdigest()[:16]
    libs = paths.cache_dir() / f"kafka-{key}" / "libs"
    if libs.is_dir() and any(libs.glob("kafka_2.13-*.jar")):
        return libs
    if shutil.which("mvn") is None:
        raise PlatformError("Maven (mvn) is needed to fetch the Kafka jars")
    tmp = libs.with_name("libs.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    result = subprocess.run(
        [
            "mvn",
            "-q",
            "-B",
            "-f",
            str(pom),
            "dependency:copy-dependencies",
            "-DincludeScope=runtime",
            f"-DoutputDirectory={tmp}",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise PlatformError(f"fetching Kafka jars failed:\n{result.stdout}\n{result.stderr}")
    tmp.rename(libs)
    return libs


def process(state: PlatformState) -> ServiceProcess:
    return ServiceProcess("kafka", state.run_dir)


def start(state: PlatformState, *, timeout: float = 90.0) -> None:
    proc = process(state)
    if proc.running() and port_open(state.ports["kafka"]):
        return
    libs = jars_dir()
    home = state.state_dir / "kafka"
    data = home / "data"
    home.mkdir(parents=True, exist_ok=True)
    props = home / "server.properties"
    props.write_text(_properties(state, data))
    (home / "log4j2.properties").write_text(_LOG4J2)
    java = [
        "java",
        HEAP,
        "-XX:+UseG1GC",
        "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={home / 'log4j2.properties'}",
        "-cp",
        f"{libs}/*",
    ]
    if not (data / "meta.properties").exists():
        cluster_id = uuid.uuid4().hex[:22]
        fmt = subprocess.run(
            [
                *java,
                "kafka.tools.StorageTool",
                "format",
                "-t",
                cluster_id,
                "-c",
                str(props),
                "--standalone",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if fmt.returncode != 0:
            raise PlatformError(f"kafka storage format failed:\n{fmt.stdout}\n{fmt.stderr}")
    proc.start([*java, "kafka.Kafka", str(props)])
    wait_until(
        lambda: port_open(state.ports["kafka"]),
        what="Kafka to listen",
        timeout=timeout,
        process=proc,
    )
    bootstrap = state.endpoints.kafka
    wait_until(
        lambda: asyncio.run(round_trip(bootstrap)),
        what="a Kafka round trip",
        timeout=timeout,
        process=proc,
        interval=1.0,
    )


def stop(state: PlatformState) -> None:
    process(state).stop(timeout=30)


async def round_trip(bootstrap: str) -> bool:
    """Create a topic, produce one record and consume it back."""
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic
    from aiokafka.errors import TopicAlreadyExistsError

    topic = "topolog.health"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=5000)
    await admin.start()
    try:
        with contextlib.suppress(TopicAlreadyExistsError):
            await admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])
    finally:
        await admin.close()
    marker = f"ping-{time.time_ns()}".encode()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", request_timeout_ms=5000)
    await producer.start()
    try:
        meta = await producer.send_and_wait(topic, marker)
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        from aiokafka import TopicPartition

        tp = TopicPartition(topic, meta.partition)
        consumer.assign([tp])
        consumer.seek(tp, meta.offset)
        batch = await consumer.getmany(tp, timeout_ms=5000)
        return any(r.value == marker for r in batch.get(tp, []))
    finally:
        await consumer.stop()


def _properties(state: PlatformState, data: Path) -> str:
    port, cport = state.ports["kafka"], state.ports["kafka_controller"]
    return f"""\
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:{cport}
listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{cport}
advertised.listeners=PLAINTEXT://127.0.0.1:{port}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs={data}
num.partitions=4
offsets.topic.replication.factor=1
offsets.topic.num.partitions=8
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=true
log.retention.hours=-1
log.segment.bytes=67108864
message.max.bytes=16777216
"""
