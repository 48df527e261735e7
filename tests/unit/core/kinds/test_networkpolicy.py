"""networkpolicy: a node with its selector and (inferred) policy types."""

from __future__ import annotations

from typing import Any

import pytest

from topolog.core.kinds import networkpolicy


@pytest.mark.parametrize(
    ("spec", "types"),
    [
        ({"podSelector": {}}, ["Ingress"]),
        ({"podSelector": {}, "egress": []}, ["Ingress", "Egress"]),
        ({"podSelector": {}, "policyTypes": ["Egress"]}, ["Egress"]),
    ],
    ids=["ingress-implied", "egress-section-implies-egress", "declared"],
)
def test_policy_types_are_inferred_when_omitted(spec: dict[str, Any], types: list[str]) -> None:
    obj = {"metadata": {"name": "p", "namespace": "ns"}, "spec": spec}
    assert networkpolicy.metadata(obj)["PolicyTypes"] == types


def test_only_the_namespace_edge_is_declared_here() -> None:
    obj = {"metadata": {"name": "p", "namespace": "ns"}, "spec": {"podSelector": {}}}
    assert [getattr(r, "kind", None) for r in networkpolicy.references(obj)] == ["Namespace"]
