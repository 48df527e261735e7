"""namespace: owned by the cluster, its phase as Status."""

from __future__ import annotations

from topolog.core.graph import State
from topolog.core.kinds import namespace, refs


def test_namespace() -> None:
    obj = {"metadata": {"name": "a"}, "status": {"phase": "Terminating"}}
    assert namespace.metadata(obj) == {"Status": "Terminating"}
    assert namespace.status(obj, 0.0) == (State.UP, "Terminating")
    [owner] = namespace.references(obj)
    assert isinstance(owner, refs.ByName) and owner.kind == refs.CLUSTER
