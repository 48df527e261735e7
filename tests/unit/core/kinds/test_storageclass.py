"""storageclass: provisioner and default flag, owned by the cluster."""

from __future__ import annotations

from topolog.core.graph import State
from topolog.core.kinds import refs, storageclass


def test_storageclass() -> None:
    obj = {
        "metadata": {
            "name": "fast",
            "annotations": {"storageclass.kubernetes.io/is-default-class": "true"},
        },
        "provisioner": "ebs.csi.aws.com",
    }
    assert storageclass.metadata(obj)["Provisioner"] == "ebs.csi.aws.com"
    assert storageclass.metadata(obj)["IsDefault"] is True
    assert storageclass.status(obj, 0.0).state is State.UP
    assert [r.kind for r in storageclass.references(obj)] == [refs.CLUSTER]
