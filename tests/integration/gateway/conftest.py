"""A throwaway redis-server and a gateway served by uvicorn over it (real HTTP, real Redis).

The store's own Redis tests use the same kind of server rather than the whole local
platform (Kafka and the apiserver are not needed to serve the projection).
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio
import redis
import redis.asyncio as aioredis
import uvicorn

from gateway.app import create_app
from gateway.settings import GatewaySettings
from store.keys import Keys
from store.projection import Projection
from topolog import settings as topolog_settings


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    port = _free_port()
    proc = subprocess.Popen(
        [
            binary,
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp_path_factory.mktemp("redis")),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                redis.Redis.from_url(url).ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=10)
        if proc.poll() is None:
            proc.kill()


@pytest.fixture
def gateway_url(redis_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A gateway over ``redis_url`` (flushed first), served on a loopback port."""
    redis.Redis.from_url(redis_url).flushdb()
    monkeypatch.setenv("TOPOLOG_REDIS_URL", redis_url)
    monkeypatch.setenv("TOPOLOG_KAFKA_BOOTSTRAP", "")
    topolog_settings.get_settings.cache_clear()
    port = _free_port()
    conf = GatewaySettings(port=port, feed_block_s=0.2, sse_ping_s=1)
    server = uvicorn.Server(uvicorn.Config(create_app(conf), port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        topolog_settings.get_settings.cache_clear()


@pytest_asyncio.fixture(loop_scope="function")
async def projection(redis_url: str) -> AsyncIterator[Projection]:
    client = aioredis.Redis.from_url(redis_url)
    try:
        yield Projection(client, Keys())
    finally:
        await client.aclose()
