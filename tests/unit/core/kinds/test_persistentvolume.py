"""persistentvolume: DOWN only when Failed; its claimRef is the claim's edge."""

from __future__ import annotations

from typing import Any

import pytest

from topolog.core.graph import State
from topolog.core.kinds import persistentvolume, refs


def _pv(phase: str | None, **spec: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": "vol"},
        "spec": {"capacity": {"storage": "10Gi"}, **spec},
        "status": {"phase": phase} if phase else {},
    }


@pytest.mark.parametrize(
    ("phase", "expected"),
    [
        ("Available", (State.UP, "Available")),
        ("Bound", (State.UP, "Bound")),
        ("Released", (State.UP, "Released")),
        ("Failed", (State.DOWN, "Failed")),
    ],
)
def test_volume_is_down_only_when_failed(phase: str, expected: tuple[State, str]) -> None:
    assert persistentvolume.status(_pv(phase), 0.0) == expected


def test_volume_claim_ref_is_the_same_edge_as_the_claims_volume_name() -> None:
    declared = persistentvolume.references(
        _pv("Bound", claimRef={"namespace": "ns", "name": "claim"}, storageClassName="fast")
    )
    [claim] = [
        r for r in declared if isinstance(r, refs.ByName) and r.kind == "PersistentVolumeClaim"
    ]
    # Declared from the child side, the claim is still the parent and the dependent.
    assert (claim.declarer, claim.dependent, claim.relation, claim.required) == (
        refs.End.CHILD,
        refs.End.PARENT,
        "persistentvolumeclaim",
        False,
    )
    assert declared[0].kind == refs.CLUSTER


def test_volume_metadata() -> None:
    meta = persistentvolume.metadata(
        _pv("Bound", claimRef={"namespace": "ns", "name": "claim"}, accessModes=["ReadWriteOnce"])
    )
    assert (meta["Capacity"], meta["ClaimRef"], meta["Status"]) == ("10Gi", "ns/claim", "Bound")
