"""The local platform as one unit: ``up``, ``down`` and ``status`` over its services.

Flows in: a state directory (``Settings.state_dir`` unless given).
Flows out: running Kafka, Redis and Kubernetes control plane, and their ``Endpoints``
(the same ones ``topolog dev status --json`` prints and every command falls back to).
``up`` is idempotent: what runs and answers is left alone.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from topolog.platform import kafka, kube, redis, state
from topolog.platform.process import PlatformError
from topolog.settings import get_settings

SERVICES = ("redis", "kafka", "kube")


@dataclass(frozen=True, slots=True)
class Step:
    service: str
    seconds: float


def state_dir() -> Path:
    return get_settings().state_dir


def up(
    services: Iterable[str] = SERVICES,
    *,
    directory: Path | None = None,
    on_start: Callable[[str], None] | None = None,
    on_done: Callable[[Step], None] | None = None,
) -> state.PlatformState:
    wanted = list(services)
    unknown = set(wanted) - set(SERVICES)
    if unknown:
        raise PlatformError(f"unknown services: {', '.join(sorted(unknown))}")
    st = state.load_or_allocate(directory or state_dir())
    starters: dict[str, Callable[[state.PlatformState], None]] = {
        "redis": redis.start,
        "kafka": kafka.start,
        "kube": kube.start,
    }
    for name in SERVICES:
        if name not in wanted:
            continue
        if on_start:
            on_start(name)
        began = time.monotonic()
        starters[name](st)
        if on_done:
            on_done(Step(name, time.monotonic() - began))
    return st


def down(*, directory: Path | None = None) -> None:
    st = state.load(directory or state_dir())
    if st is None:
        return
    kube.stop(st)
    kafka.stop(st)
    redis.stop(st)


def endpoints(directory: Path | None = None) -> state.Endpoints | None:
    st = state.load(directory or state_dir())
    return st.endpoints if st else None


def status(directory: Path | None = None) -> dict[str, object]:
    """Endpoints plus whether each service answers (``ok`` false when any is down)."""
    st = state.load(directory or state_dir())
    if st is None:
        return {"ok": False, "error": "the local platform was never started (topolog dev up)"}
    health = {
        "redis": _safe(lambda: redis.ping(st)),
        "kafka": kafka.process(st).running() and state.port_open(st.ports["kafka"]),
        "kube": kube.apiserver_ready(st) and all(kube.running(st).values()),
    }
    eps = st.endpoints
    return {
        "ok": all(health.values()),
        "kafka": eps.kafka,
        "redis": eps.redis,
        "kubeconfig": eps.kubeconfig,
        "etcd": eps.etcd,
        "services": health,
        "state_dir": str(st.state_dir),
    }


def _safe(check: Callable[[], bool]) -> bool:
    try:
        return check()
    except Exception:
        return False
