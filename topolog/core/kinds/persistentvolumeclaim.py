"""persistentvolumeclaim: mounted by pods, bound to a volume (pvc → pv); UP when Bound.

Flows in: a PersistentVolumeClaim. Flows out: Skydive's AccessModes/VolumeName/
StorageClassName/VolumeMode/Status plus Capacity/Request; references to its namespace,
owner (ephemeral volumes), the volume it names (a dependency) and its storage class
(storageclass → pvc; optional: a class may be only a name for static binding).
"""

from __future__ import annotations

from typing import Any

from topolog.core import status as st
from topolog.core.kinds import fields, refs

KIND = "PersistentVolumeClaim"
NAMESPACED = True


def metadata(obj: fields.Obj) -> dict[str, Any]:
    spec, s = fields.spec(obj), fields.status(obj)
    request = fields.mapping(fields.mapping(spec.get("resources")).get("requests"))
    return {
        "AccessModes": fields.strings(spec.get("accessModes")),
        "VolumeName": str(spec.get("volumeName") or ""),
        "StorageClassName": str(spec.get("storageClassName") or ""),
        "VolumeMode": str(spec.get("volumeMode") or "Filesystem"),
        "Status": str(s.get("phase") or "Pending"),
        "Request": str(request.get("storage") or ""),
        "Capacity": str(fields.mapping(s.get("capacity")).get("storage") or ""),
    }


def status(obj: fields.Obj, now: float) -> st.Status:
    phase = str(fields.status(obj).get("phase") or "Pending")
    if phase == "Bound":
        return st.up("Bound")
    # Pending (not bound yet) or Lost (its volume is gone).
    return st.down(phase)


def references(obj: fields.Obj) -> list[refs.Reference]:
    spec = fields.spec(obj)
    out: list[refs.Reference] = [*fields.namespace_owner(obj), *fields.owners(obj)]
    volume = spec.get("volumeName")
    if isinstance(volume, str) and volume:
        out.append(
            refs.ByName(
                kind="PersistentVolume",
                namespace="",
                name=volume,
                relation=refs.Relation.PERSISTENTVOLUMECLAIM,
                dependent=refs.End.PARENT,
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
