"""Port choice of the local platform's state directory."""

from __future__ import annotations

import socket
from pathlib import Path

from topolog.platform import state


def test_a_chosen_port_is_free_below_the_ephemeral_range_and_not_excluded() -> None:
    # Ports from the ephemeral range can be taken by any outgoing connection between
    # choosing them and the service binding them.
    start = state._ephemeral_start()
    chosen: set[int] = set()
    for _ in range(50):
        port = state._any_free(chosen)
        assert port < start and port not in chosen
        chosen.add(port)
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", port))


def test_taken_preferred_ports_are_replaced_by_distinct_ports_and_kept(tmp_path: Path) -> None:
    holders = []
    try:
        for port in state.PREFERRED_PORTS.values():
            sock = socket.socket()
            if state._free(port):
                sock.bind(("127.0.0.1", port))
                sock.listen()
            holders.append(sock)
        first = state.load_or_allocate(tmp_path)
    finally:
        for sock in holders:
            sock.close()
    ports = first.ports
    assert set(ports) == set(state.PREFERRED_PORTS)
    assert len(set(ports.values())) == len(ports)
    assert not set(ports.values()) & set(state.PREFERRED_PORTS.values())
    assert all(port < state._ephemeral_start() for port in ports.values())
    assert state.load_or_allocate(tmp_path).ports == ports
