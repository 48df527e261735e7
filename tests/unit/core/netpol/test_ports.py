from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from topolog.core.netpol import ports
from topolog.core.netpol.ports import PortSet, Protocol

TCP = Protocol.TCP
UDP = Protocol.UDP


@pytest.mark.parametrize(
    ("ranges", "merged"),
    [
        ([(80, 80), (81, 81)], ((80, 81),)),  # adjacent ranges merge
        ([(1, 10), (5, 20), (30, 40)], ((1, 20), (30, 40))),
        ([(30, 40), (1, 2)], ((1, 2), (30, 40))),  # sorted
        ([(5, 4)], ()),  # empty range dropped
        ([(1, 65535), (80, 80)], ((1, 65535),)),
    ],
)
def test_ranges_are_merged_sorted_and_disjoint(
    ranges: list[tuple[int, int]], merged: ports.Ranges
) -> None:
    assert ports.normalize(ranges) == merged


def test_intersection_keeps_only_common_ports_per_protocol() -> None:
    a = PortSet.of({TCP: [(1, 100)], UDP: [(53, 53)]})
    b = PortSet.of({TCP: [(50, 60), (90, 200)], Protocol.SCTP: [(1, 5)]})
    assert a.intersect(b) == PortSet.of({TCP: [(50, 60), (90, 100)]})


def test_all_is_every_port_of_every_protocol() -> None:
    assert ports.ALL.to_lists() == {p.value: [[1, 65535]] for p in ports.PROTOCOLS}
    assert not ports.NONE
    assert ports.ALL.intersect(PortSet.single(UDP, 53)) == PortSet.single(UDP, 53)


def test_json_shape_lists_every_protocol_even_when_closed() -> None:
    assert PortSet.single(TCP, 80, 81).to_lists() == {"TCP": [[80, 81]], "UDP": [], "SCTP": []}


def test_format_ranges_reads_as_a_list() -> None:
    assert ports.format_ranges(((80, 80), (8000, 8080))) == "80, 8000-8080"
    assert ports.format_ranges(()) == "-"


_range = st.tuples(st.integers(1, 200), st.integers(1, 200))


@given(st.lists(_range, max_size=6), st.lists(_range, max_size=6), st.integers(1, 200))
def test_set_algebra_agrees_with_membership(
    a: list[tuple[int, int]], b: list[tuple[int, int]], port: int
) -> None:
    pa, pb = PortSet.of({TCP: a}), PortSet.of({TCP: b})
    in_a = any(lo <= port <= hi for lo, hi in a)
    in_b = any(lo <= port <= hi for lo, hi in b)
    assert pa.contains(TCP, port) == in_a
    assert pa.union(pb).contains(TCP, port) == (in_a or in_b)
    assert pa.intersect(pb).contains(TCP, port) == (in_a and in_b)
    assert not pa.contains(UDP, port)
