"""job: DOWN on its Failed condition; owned by its cronjob."""

from __future__ import annotations

from typing import Any

import pytest

from topolog.core.graph import State
from topolog.core.kinds import job, refs


def _job(conditions: list[dict[str, Any]] | None = None, **spec: Any) -> dict[str, Any]:
    return {
        "metadata": {
            "name": "j",
            "namespace": "ns",
            "ownerReferences": [{"kind": "CronJob", "name": "c", "uid": "cron"}],
        },
        "spec": spec,
        "status": {"conditions": conditions or [], "active": 1, "failed": 2},
    }


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        (
            _job([{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded"}]),
            (State.DOWN, "BackoffLimitExceeded"),
        ),
        (_job([{"type": "Complete", "status": "True"}]), (State.UP, "Complete")),
        (_job([{"type": "Failed", "status": "False"}]), (State.UP, "Running")),
        (_job(suspend=True), (State.UP, "Suspended")),
    ],
    ids=["failed", "complete", "not-failed", "suspended"],
)
def test_status(obj: dict[str, Any], expected: tuple[State, str]) -> None:
    assert job.status(obj, 0.0) == expected


def test_metadata_and_owner() -> None:
    obj = _job(parallelism=2, completions=4)
    assert job.metadata(obj) == {
        "Parallelism": 2,
        "Completions": 4,
        "Active": 1,
        "Succeeded": 0,
        "Failed": 2,
    }
    [owner] = [r for r in job.references(obj) if isinstance(r, refs.ByUid)]
    assert (owner.uid, owner.relation, owner.dependent) == ("cron", "cronjob", refs.End.PARENT)
