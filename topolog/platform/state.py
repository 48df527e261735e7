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
import random
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
            port = preferred if preferred not in taken and _free(preferred) else _any_free(taken)
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


#: Where ports are chosen when the preferred one is taken: below the kernel's ephemeral
#: range (``ip_local_port_range``, 32768+ by default). A port the kernel hands out for
#: ``bind(0)`` comes from that range, which every outgoing connection draws its local port
#: from too — between choosing it and the service binding it, a busy machine's client
#: connection can take it (seen in CI: etcd's peer port "address already in use").
_CHOSEN_PORTS = range(20000, 32768)


def _ephemeral_start() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def _any_free(exclude: set[int] | frozenset[int] = frozenset()) -> int:
    """A free loopback port outside the ephemeral range and ``exclude`` (any free port if
    none is)."""
    below = _ephemeral_start()
    candidates = [p for p in _CHOSEN_PORTS if p < below and p not in exclude]
    for port in random.sample(candidates, min(len(candidates), 200)):
        if _free(port):
            return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
        return True
    return False
