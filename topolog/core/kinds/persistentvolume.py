"""persistentvolume: storage a claim binds (pvc → pv); DOWN only when Failed.

Flows in: a PersistentVolume. Flows out: Skydive's Capacity/VolumeMode/
StorageClassName/Status/AccessModes/ClaimRef plus ReclaimPolicy; references to the
cluster, its claim (``claimRef``: the same pvc → pv edge the claim declares; optional,
a Released volume's claim is gone) and its storage class (optional).
"""

from __future__ import annotations

from typing import Any

from topolog.core import status as st
from topolog.core.kinds import fields, refs

KIND = "PersistentVolume"
NAMESPACED = False


def metadata(obj: fields.Obj) -> dict[str, Any]:
    spec, s = fields.spec(obj), fields.status(obj)
    claim = fields.mapping(spec.get("claimRef"))
    return {
        "Capacity": str(fields.mapping(spec.get("capacity")).get("storage") or ""),
        "VolumeMode": str(spec.get("volumeMode") or "Filesystem"),
        "StorageClassName": str(spec.get("storageClassName") or ""),
        "Status": str(s.get("phase") or "Available"),
        "AccessModes": fields.strings(spec.get("accessModes")),
        "ClaimRef": f"{claim.get('namespace')}/{claim.get('name')}" if claim else "",
        "ReclaimPolicy": str(spec.get("persistentVolumeReclaimPolicy") or ""),
    }


def status(obj: fields.Obj, now: float) -> st.Status:
    s = fields.status(obj)
    phase = str(s.get("phase") or "Available")
    if phase == "Failed":
        return st.down(str(s.get("reason") or "Failed"))
    # Available, Bound, Released, Pending: the volume itself is fine.
    return st.up(phase)


def references(obj: fields.Obj) -> list[refs.Reference]:
    spec = fields.spec(obj)
    out: list[refs.Reference] = fields.cluster_owner()
    claim = fields.mapping(spec.get("claimRef"))
    if claim.get("name") and claim.get("namespace"):
        out.append(
            refs.ByName(
                kind="PersistentVolumeClaim",
                namespace=str(claim["namespace"]),
                name=str(claim["name"]),
                relation=refs.Relation.PERSISTENTVOLUMECLAIM,
                declarer=refs.End.CHILD,
                dependent=refs.End.PARENT,
                required=False,
            )
        )
    klass = spec.get("storageClassName")
    if isinstance(klass, str) and klass:
        out.append(
            refs.ByName(
                kind="StorageClass",
                namespace="",
                name=klass,
                relation=refs.Relation.STORAGECLASS,
                declarer=refs.End.CHILD,
                required=False,
            )
        )
    return out
