"""storageclass: provisions volumes (storageclass → pvc/pv, declared by those).

Flows in: a StorageClass. Flows out: Skydive's Provisioner plus ReclaimPolicy/
VolumeBindingMode/IsDefault; always UP.
"""

from __future__ import annotations

from typing import Any

from topolog.core import status as st
from topolog.core.kinds import fields, refs

KIND = "StorageClass"
NAMESPACED = False

DEFAULT_ANNOTATION = "storageclass.kubernetes.io/is-default-class"


def metadata(obj: fields.Obj) -> dict[str, Any]:
    return {
        "Provisioner": str(obj.get("provisioner") or ""),
        "ReclaimPolicy": str(obj.get("reclaimPolicy") or "Delete"),
        "VolumeBindingMode": str(obj.get("volumeBindingMode") or "Immediate"),
        "IsDefault": fields.annotations_of(obj).get(DEFAULT_ANNOTATION) == "true",
    }


def status(obj: fields.Obj, now: float) -> st.Status:
    return st.up()


def references(obj: fields.Obj) -> list[refs.Reference]:
    return fields.cluster_owner()
