"""Redis, Debian's ``redis-server``, on a project-owned loopback port.

The projection it holds is disposable (rebuilt from Kafka), so it runs without RDB
snapshots; append-only persistence stays on so a plain restart keeps the projection.
"""

from __future__ import annotations

import shutil

from topolog.platform.process import PlatformError, ServiceProcess, wait_until
from topolog.platform.state import PlatformState


def process(state: PlatformState) -> ServiceProcess:
    return ServiceProcess("redis", state.run_dir)


def start(state: PlatformState, *, timeout: float = 30.0) -> None:
    proc = process(state)
    if proc.running() and ping(state):
        return
    binary = shutil.which("redis-server")
    if binary is None:
        raise PlatformError("redis-server is not installed (deploy/local/bootstrap.sh installs it)")
    data = state.state_dir / "redis"
    data.mkdir(parents=True, exist_ok=True)
    proc.start(
        [
            binary,
            "--bind",
            "127.0.0.1",
            "--port",
            str(state.ports["redis"]),
            "--dir",
            str(data),
            "--save",
            "",
            "--appendonly",
            "yes",
            "--appendfsync",
            "everysec",
            "--protected-mode",
            "yes",
            "--daemonize",
            "no",
        ]
    )
    wait_until(lambda: ping(state), what="Redis PING", timeout=timeout, process=proc)


def stop(state: PlatformState) -> None:
    process(state).stop()


def ping(state: PlatformState) -> bool:
    import redis as redis_client

    client = redis_client.Redis.from_url(state.endpoints.redis, socket_timeout=1)
    try:
        return bool(client.ping())
    finally:
        client.close()
