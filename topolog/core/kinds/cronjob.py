"""cronjob: owns the jobs it schedules; DOWN when its last scheduled job failed.

Flows in: a CronJob. Flows out: Skydive's Schedule/Suspended plus LastScheduleTime/
LastSuccessfulTime/Active; namespace and owner references (its jobs declare
cronjob → job through their ownerReferences).
"""

from __future__ import annotations

from typing import Any

from topolog.core import status as st
from topolog.core.kinds import fields, refs

KIND = "CronJob"
NAMESPACED = True


def metadata(obj: fields.Obj) -> dict[str, Any]:
    spec, s = fields.spec(obj), fields.status(obj)
    return {
        "Schedule": str(spec.get("schedule") or ""),
        "Suspended": bool(spec.get("suspend")),
        "LastScheduleTime": str(s.get("lastScheduleTime") or ""),
        "LastSuccessfulTime": str(s.get("lastSuccessfulTime") or ""),
        "Active": len(fields.items(s.get("active"))),
    }


def status(obj: fields.Obj, now: float) -> st.Status:
    spec, s = fields.spec(obj), fields.status(obj)
    if spec.get("suspend"):
        return st.up("Suspended")
    if fields.items(s.get("active")):
        return st.up("Active")
    scheduled = str(s.get("lastScheduleTime") or "")
    succeeded = str(s.get("lastSuccessfulTime") or "")
    if not scheduled:
        return st.up("NeverScheduled")
    # RFC 3339 UTC timestamps compare as strings. Scheduled, no longer active, and no
    # success since: the last job failed.
    if not succeeded or succeeded < scheduled:
        return st.down("LastJobFailed")
    return st.up("LastJobSucceeded")


def references(obj: fields.Obj) -> list[refs.Reference]:
    return [*fields.namespace_owner(obj), *fields.owners(obj)]
