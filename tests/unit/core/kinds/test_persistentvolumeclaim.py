"""persistentvolumeclaim: UP when Bound; depends on its volume, hangs from its class."""

from __future__ import annotations

from typing import Any

import pytest

from topolog.core.graph import State
from topolog.core.kinds import persistentvolumeclaim, refs


def _pvc(phase: str | None, **spec: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": "claim", "namespace": "ns"},
        "spec": {"accessModes": ["ReadWriteOnce"], **spec},
        "status": {"phase": phase} if phase else {},
    }


@pytest.mark.parametrize(
    ("phase", "expected"),
    [
        ("Bound", (State.UP, "Bound")),
        ("Pending", (State.DOWN, "Pending")),
        ("Lost", (State.DOWN, "Lost")),
        (None, (State.DOWN, "Pending")),
    ],
)
def test_claim_status(phase: str | None, expected: tuple[State, str]) -> None:
    assert persistentvolumeclaim.status(_pvc(phase), 0.0) == expected


def test_claim_depends_on_its_volume_and_hangs_from_its_class() -> None:
    declared = persistentvolumeclaim.references(
        _pvc("Bound", volumeName="vol", storageClassName="fast")
    )
    assert (
        refs.ByName(
            kind="PersistentVolume",
            namespace="",
            name="vol",
            relation="persistentvolumeclaim",
            dependent=refs.End.PARENT,
        )
        in declared
    )
    assert (
        refs.ByName(
            kind="StorageClass",
            namespace="",
            name="fast",
            relation="storageclass",
            declarer=refs.End.CHILD,
            required=False,
        )
        in declared
    )


def test_claim_metadata() -> None:
    meta = persistentvolumeclaim.metadata(
        _pvc(
            "Bound",
            volumeName="vol",
            storageClassName="fast",
            resources={"requests": {"storage": "1Gi"}},
        )
    )
    assert meta == {
        "AccessModes": ["ReadWriteOnce"],
        "VolumeName": "vol",
        "StorageClassName": "fast",
        "VolumeMode": "Filesystem",
        "Status": "Bound",
        "Request": "1Gi",
        "Capacity": "",
    }
