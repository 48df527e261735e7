"""job: runs pods to completion; DOWN once its Failed condition is True.

Flows in: a Job. Flows out: Skydive's Parallelism/Completions/Active/Succeeded/Failed;
a status from the Failed/Complete conditions; namespace, owner (cronjob → job) and
ownerless-pod selector references.
"""

from __future__ import annotations

from typing import Any

from topolog.core import status as st
from topolog.core.kinds import fields, refs

KIND = "Job"
NAMESPACED = True


def metadata(obj: fields.Obj) -> dict[str, Any]:
    spec, s = fields.spec(obj), fields.status(obj)
    return {
        "Parallelism": fields.integer(spec.get("parallelism"), 1),
        "Completions": fields.integer(spec.get("completions"), 1),
        "Active": fields.integer(s.get("active")),
        "Succeeded": fields.integer(s.get("succeeded")),
        "Failed": fields.integer(s.get("failed")),
    }


def status(obj: fields.Obj, now: float) -> st.Status:
    failed = fields.condition(obj, "Failed")
    if failed is not None and failed.get("status") == "True":
        # BackoffLimitExceeded, DeadlineExceeded, …: the job will not complete.
        return st.down(fields.reason_of(failed, "Failed"))
    if fields.condition_is(obj, "Complete", "True"):
        return st.up("Complete")
    if fields.spec(obj).get("suspend"):
        return st.up("Suspended")
    return st.up("Running")


def references(obj: fields.Obj) -> list[refs.Reference]:
    return [
        *fields.namespace_owner(obj),
        *fields.owners(obj),
        *fields.pod_selector(obj, "job", ownerless_only=True),
    ]
