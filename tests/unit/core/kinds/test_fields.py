"""fields: the shared accessors — here, RFC 3339 times read without a clock."""

from __future__ import annotations

from typing import Any

import pytest

from topolog.core.kinds import fields


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-05-01T10:00:00Z", 1714557600.0),
        ("2024-05-01T12:00:00+02:00", 1714557600.0),
        ("2024-05-01T10:00:00.250Z", 1714557600.25),
        ("2024-05-01T10:00:00", 1714557600.0),  # no zone: UTC
        ("", None),
        ("yesterday", None),
        (None, None),
        (1714557600, None),
    ],
)
def test_a_kubernetes_time_is_epoch_seconds_or_none(value: Any, expected: float | None) -> None:
    assert fields.timestamp(value) == expected
