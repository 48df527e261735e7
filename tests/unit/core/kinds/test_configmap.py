"""configmap: keys only."""

from __future__ import annotations

from topolog.core.graph import State
from topolog.core.kinds import configmap


def test_data_is_the_sorted_keys_from_sanitized_or_raw_objects() -> None:
    sanitized = {"metadata": {"name": "c", "namespace": "ns"}, "dataKeys": ["b", "a"]}
    raw = {"metadata": {"name": "c"}, "data": {"x": "1"}, "binaryData": {"y": "AA=="}}
    assert configmap.metadata(sanitized) == {"Data": ["a", "b"]}
    assert configmap.metadata(raw) == {"Data": ["x", "y"]}
    assert configmap.status(raw, 0.0).state is State.UP
