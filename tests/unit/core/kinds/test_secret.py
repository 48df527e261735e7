"""secret: type and keys, never values."""

from __future__ import annotations

import orjson

from topolog.core.kinds import secret


def test_metadata_never_carries_values() -> None:
    obj = {
        "metadata": {"name": "mysql-pass", "namespace": "ns"},
        "type": "Opaque",
        "data": {"password": "YWJjMTIz"},
    }
    meta = secret.metadata(obj)
    assert meta == {"Type": "Opaque", "Data": ["password"]}
    assert b"YWJjMTIz" not in orjson.dumps(meta)


def test_a_metadata_only_secret_has_no_type() -> None:
    assert secret.metadata({"metadata": {"name": "s"}}) == {"Type": "", "Data": []}
