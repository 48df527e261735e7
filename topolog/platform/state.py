"""The local platform's state directory: chosen ports and endpoints, shared by every command.

Layout (``Settings.state_dir``, gitignored)::

    state.json        ports and endpoints (written by ``up``, read by everyone)
    run/<svc>.pid     pid files;   run/<svc>.log   logs
    kafka/ redis/ etcd/ kube/      data and generated config

Ports are chosen once per state directory (the preferred port when free, else any free
loopback port) and then kept, so endpoints stay stable across ``down``/``up``.
"""

from __future__ import annotations

import contextlib
import socket
from dataclasses import asdict, dataclass
from pathlib import Path

import orjson

PREFERRED_PORTS = {
    "kafka": 19092,
    "kafka_controller": 19093,
    "redis": 16379,
    "etcd_client": 12379,
    "etcd_peer": 12380,
    "apiserver": 16443,
    "controller_manager": 20257,
    "scheduler": 20259,
    "kwok": 20260,
}


@dataclass(frozen=True, slots=True)
class Endpoints:
    """Where the platform's services are reached (``topolog dev status --json``)."""

    kafka: str
    redis: str
    kubeconfig: str
    etcd: str


@dataclass(slots=True)
class PlatformState:
    state_dir: Path
    ports: dict[str, int]

    @property
    def run_dir(self) -> Path:
        return self.state_dir / "run"

    @property
    def file(self) -> Path:
        return self.state_dir / "state.json"

    @property
    def endpoints(self) -> Endpoints:
        return Endpoints(
            kafka=f"127.0.0.1:{self.ports['kafka']}",
            redis=f"redis://127.0.0.1:{self.ports['redis']}/0",
            kubeconfig=str((self.state_dir / "kube" / "kubeconfig").resolve()),
            etcd=f"http://127.0.0.1:{self.ports['etcd_client']}",
        )

    def save(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        payload = {"ports": self.ports, "endpoints": asdict(self.endpoints)}
        self.file.write_bytes(orjson.dumps(payload, option=orjson.OPT_INDENT_2))


def load(state_dir: Path) -> PlatformState | None:
    """The saved state, or None when ``up`` never ran for this directory."""
    path = state_dir / "state.json"
    try:
        data = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None
    return PlatformState(state_dir=state_dir, ports={k: int(v) for k, v in data["ports"].items()})


def load_or_allocate(state_dir: Path) -> PlatformState:
    state = load(state_dir)
    ports = dict(state.ports) if state else {}
    taken = set(ports.values())
    for name, preferred in PREFERRED_PORTS.items():
        if name not in ports:
            port = preferred if preferred not in taken and _free(preferred) else _any_free()
            ports[name] = port
            taken.add(port)
    new = PlatformState(state_dir=state_dir, ports=ports)
    new.save()
    return new


def _free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _any_free() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
        return True
    return False
