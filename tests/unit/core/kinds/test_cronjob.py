"""cronjob: DOWN when the last scheduled job failed."""

from __future__ import annotations

from typing import Any

import pytest

from topolog.core.graph import State
from topolog.core.kinds import cronjob


def _cron(status: dict[str, Any], suspend: bool = False) -> dict[str, Any]:
    return {
        "metadata": {"name": "c", "namespace": "ns"},
        "spec": {"schedule": "*/5 * * * *", "suspend": suspend},
        "status": status,
    }


T1, T2 = "2024-01-01T00:00:00Z", "2024-01-01T00:05:00Z"


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        (_cron({}), (State.UP, "NeverScheduled")),
        (_cron({"lastScheduleTime": T2, "active": [{"name": "j"}]}), (State.UP, "Active")),
        (_cron({"lastScheduleTime": T2, "lastSuccessfulTime": T2}), (State.UP, "LastJobSucceeded")),
        (_cron({"lastScheduleTime": T2, "lastSuccessfulTime": T1}), (State.DOWN, "LastJobFailed")),
        (_cron({"lastScheduleTime": T2}), (State.DOWN, "LastJobFailed")),
        (_cron({"lastScheduleTime": T2}, suspend=True), (State.UP, "Suspended")),
    ],
    ids=["never", "active", "succeeded", "failed-after-success", "never-succeeded", "suspended"],
)
def test_status(obj: dict[str, Any], expected: tuple[State, str]) -> None:
    assert cronjob.status(obj, 0.0) == expected


def test_metadata_has_schedule_and_suspended() -> None:
    meta = cronjob.metadata(_cron({"active": [{"name": "j"}]}, suspend=True))
    assert (meta["Schedule"], meta["Suspended"], meta["Active"]) == ("*/5 * * * *", True, 1)
