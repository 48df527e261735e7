"""What the end-to-end tests share: ``topolog run`` on isolated topics, and waiting.

``isolated_env`` names topics, consumer groups and a Redis key prefix of the run's own,
so several pipelines share one platform without seeing each other; ``running`` starts
the whole pipeline as a user would (``topolog run``), waits for the gateway, and stops
it with Ctrl-C (SIGINT) afterwards, printing its log tail when something failed.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx

from topolog.platform.state import Endpoints


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def eventually(check: Callable[[], Any], *, what: str, timeout: float = 90) -> Any:
    """Poll ``check`` until it returns something truthy; HTTP errors count as "not yet"."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except (httpx.HTTPError, KeyError, IndexError) as exc:
            last = exc
        else:
            if last:
                return last
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}; last: {last!r}")


def isolated_env(platform: Endpoints, *, run: str, cluster: str) -> dict[str, str]:
    return {
        "TOPOLOG_KAFKA_BOOTSTRAP": platform.kafka,
        "TOPOLOG_REDIS_URL": platform.redis,
        "TOPOLOG_KUBECONFIG": platform.kubeconfig,
        "TOPOLOG_CLUSTER_NAME": cluster,
        "TOPOLOG_TOPIC_RESOURCES": f"{run}.resources",
        "TOPOLOG_TOPIC_GRAPH": f"{run}.graph",
        "TOPOLOG_TOPIC_ALERTS": f"{run}.alerts",
        "TOPOLOG_TOPIC_DEADLETTER": f"{run}.deadletter",
        "TOPOLOG_PROCESSOR_APP_ID": run,
        "TOPOLOG_STORE_GROUP_ID": f"{run}-projector",
        "TOPOLOG_STORE_PREFIX": f"{run}:",
    }


@contextlib.contextmanager
def running(env: dict[str, str], log: Path, *, ready_timeout: float = 120) -> Iterator[str]:
    """``topolog run`` with ``env``; yields the gateway URL once it is ready."""
    port = free_port()
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "topolog.cli.main", "run", "--port", str(port)],
            env={**os.environ, **env, "COLUMNS": "200"},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        eventually(
            lambda: httpx.get(f"{url}/readyz", timeout=2).status_code == 200,
            what="the gateway to be ready",
            timeout=ready_timeout,
        )
        yield url
    except BaseException:
        print(log.read_text(errors="replace")[-8000:])
        raise
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()


def query(url: str, gremlin: str) -> Any:
    resp = httpx.post(f"{url}/api/topology", json={"GremlinQuery": gremlin}, timeout=10)
    resp.raise_for_status()
    return resp.json()
