"""Protocols and sets of port ranges: the algebra behind "which ports are open".

Flows in: single ports, ranges, protocols.
Flows out: ``PortSet`` values, closed under union and intersection; ``reach`` combines the
egress and ingress sides with them, the CLI prints them.

Invariant: a ``PortSet`` holds, per protocol, sorted disjoint inclusive ranges with no two
ranges touching (``[1, 5], [6, 9]`` is stored as ``[1, 9]``), so equal sets compare equal.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

MIN_PORT = 1
MAX_PORT = 65535

Range = tuple[int, int]
Ranges = tuple[Range, ...]


class Protocol(enum.StrEnum):
    """The protocols a NetworkPolicy port can name (TCP when omitted)."""

    TCP = "TCP"
    UDP = "UDP"
    SCTP = "SCTP"


#: Every protocol, in the order output lists them.
PROTOCOLS: tuple[Protocol, ...] = (Protocol.TCP, Protocol.UDP, Protocol.SCTP)

_FULL: Ranges = ((MIN_PORT, MAX_PORT),)


def normalize(ranges: Iterable[Range]) -> Ranges:
    """Sort and merge overlapping or adjacent inclusive ranges; drop empty ones."""
    out: list[Range] = []
    for lo, hi in sorted(r for r in ranges if r[0] <= r[1]):
        if out and lo <= out[-1][1] + 1:
            if hi > out[-1][1]:
                out[-1] = (out[-1][0], hi)
        else:
            out.append((lo, hi))
    return tuple(out)


def _intersect(a: Ranges, b: Ranges) -> Ranges:
    out: list[Range] = []
    i = j = 0
    while i < len(a) and j < len(b):
        lo = max(a[i][0], b[j][0])
        hi = min(a[i][1], b[j][1])
        if lo <= hi:
            out.append((lo, hi))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return tuple(out)


@dataclass(frozen=True, slots=True)
class PortSet:
    """Open ports per protocol; build with ``PortSet.of``/``ALL``/``NONE``, never by hand."""

    tcp: Ranges = ()
    udp: Ranges = ()
    sctp: Ranges = ()

    @classmethod
    def of(cls, ranges: Mapping[Protocol, Iterable[Range]]) -> PortSet:
        return cls(
            tcp=normalize(ranges.get(Protocol.TCP, ())),
            udp=normalize(ranges.get(Protocol.UDP, ())),
            sctp=normalize(ranges.get(Protocol.SCTP, ())),
        )

    @classmethod
    def single(cls, protocol: Protocol, lo: int, hi: int | None = None) -> PortSet:
        return cls.of({protocol: [(lo, lo if hi is None else hi)]})

    @classmethod
    def whole(cls, protocol: Protocol) -> PortSet:
        """Every port of one protocol (a policy port with a protocol but no port)."""
        return cls.of({protocol: _FULL})

    def get(self, protocol: Protocol) -> Ranges:
        if protocol is Protocol.TCP:
            return self.tcp
        if protocol is Protocol.UDP:
            return self.udp
        return self.sctp

    def union(self, other: PortSet) -> PortSet:
        if other is self or not other:
            return self
        if not self:
            return other
        return PortSet(
            tcp=normalize(self.tcp + other.tcp),
            udp=normalize(self.udp + other.udp),
            sctp=normalize(self.sctp + other.sctp),
        )

    def intersect(self, other: PortSet) -> PortSet:
        if other is self or other == ALL:
            return self
        if self == ALL:
            return other
        return PortSet(
            tcp=_intersect(self.tcp, other.tcp),
            udp=_intersect(self.udp, other.udp),
            sctp=_intersect(self.sctp, other.sctp),
        )

    def contains(self, protocol: Protocol, port: int) -> bool:
        return any(lo <= port <= hi for lo, hi in self.get(protocol))

    def __bool__(self) -> bool:
        return bool(self.tcp or self.udp or self.sctp)

    def to_lists(self) -> dict[str, list[list[int]]]:
        """The JSON shape of ``reach --json``: every protocol, ranges as ``[lo, hi]``."""
        return {p.value: [[lo, hi] for lo, hi in self.get(p)] for p in PROTOCOLS}


ALL = PortSet(tcp=_FULL, udp=_FULL, sctp=_FULL)
NONE = PortSet()


def union_all(sets: Iterable[PortSet]) -> PortSet:
    out = NONE
    for s in sets:
        out = out.union(s)
        if out == ALL:
            return ALL
    return out


def format_ranges(ranges: Ranges) -> str:
    """``80, 8000-8080`` (human form used by the CLI table); ``-`` when empty."""
    if not ranges:
        return "-"
    return ", ".join(str(lo) if lo == hi else f"{lo}-{hi}" for lo, hi in ranges)
