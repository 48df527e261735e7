"""Read-only accessors shared by the kind modules.

Flows in: a (sanitized) Kubernetes object as a JSON-shaped mapping; any field may be
missing or null — manifests carry no ``status``, metadata-only Secrets carry no body.
Flows out: plain values with defaults, never ``None`` where a container is expected, and
the references every kind declares the same way (namespace ownership, ownerReferences).
"""

from __future__ import annotations

import datetime
import functools
from collections.abc import Mapping
from typing import Any

from topolog.core import resources, selectors
from topolog.core.kinds import refs

Obj = Mapping[str, Any]

#: Owner kinds whose owned objects are a dependency of the owner (workload → pods).
WORKLOAD_OWNERS = frozenset(
    {
        "Deployment",
        "ReplicaSet",
        "StatefulSet",
        "DaemonSet",
        "Job",
        "CronJob",
        "ReplicationController",
    }
)

#: Owner kinds an ownerReference is followed to: the watched kinds, except Node (a mirror
#: pod's owner, already linked through ``spec.nodeName``).
OWNER_KINDS = frozenset(r.kind for r in resources.BUILTIN) - {"Node"}


_NOTHING: Mapping[str, Any] = {}


def mapping(value: Any) -> Mapping[str, Any]:
    # ``dict`` and ``None`` (an absent field) first: the ``Mapping`` ABC check is slow and
    # objects are JSON dicts.
    if type(value) is dict:
        return value
    if value is None or not isinstance(value, Mapping):
        return _NOTHING
    return value


def items(value: Any) -> list[Mapping[str, Any]]:
    """The mappings of a list field (skipping anything malformed)."""
    if not isinstance(value, list):
        return []
    return [v for v in value if isinstance(v, (dict, Mapping))]


def strings(value: Any) -> list[str]:
    if not isinstance(value, list):
        return []
    return [str(v) for v in value if v is not None]


def meta(obj: Obj) -> Mapping[str, Any]:
    return mapping(obj.get("metadata"))


def spec(obj: Obj) -> Mapping[str, Any]:
    return mapping(obj.get("spec"))


def status(obj: Obj) -> Mapping[str, Any]:
    return mapping(obj.get("status"))


def name(obj: Obj) -> str:
    return str(meta(obj).get("name") or "")


def namespace(obj: Obj) -> str:
    return str(meta(obj).get("namespace") or "")


def uid(obj: Obj) -> str:
    return str(meta(obj).get("uid") or "")


def labels(obj: Obj) -> dict[str, str]:
    return {str(k): str(v) for k, v in mapping(meta(obj).get("labels")).items()}


def annotations_of(obj: Obj) -> dict[str, str]:
    return {str(k): str(v) for k, v in mapping(meta(obj).get("annotations")).items()}


def integer(value: Any, default: int = 0) -> int:
    if isinstance(value, bool):
        return default
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return default


def timestamp(value: Any) -> float | None:
    """An RFC 3339 time (``2024-05-01T10:00:00Z``) as epoch seconds; ``None`` if absent or bad.

    Pure: parses the text, never reads a clock. A time without a zone is taken as UTC.
    """
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=datetime.UTC)
    return parsed.timestamp()


def condition(obj: Obj, kind: str) -> Mapping[str, Any] | None:
    """The ``status.conditions`` entry of type ``kind``, if any."""
    for cond in items(status(obj).get("conditions")):
        if cond.get("type") == kind:
            return cond
    return None


def condition_is(obj: Obj, kind: str, value: str) -> bool:
    cond = condition(obj, kind)
    return cond is not None and cond.get("status") == value


def reason_of(cond: Mapping[str, Any] | None, default: str) -> str:
    if cond is None:
        return default
    return str(cond.get("reason") or default)


#: The ``Annotations`` of every object without any (containers, placeholders): one shared
#: dict (never modify it: node metadata is read-only once derived).
_NO_ANNOTATIONS: dict[str, str] = {}


def base_k8s(obj: Obj, labels_of_obj: dict[str, str] | None = None) -> dict[str, Any]:
    """``K8s`` fields every kind has: Name, Namespace, Labels, Annotations
    (``labels_of_obj``: ``labels(obj)`` if the caller has it already)."""
    return {
        "Name": name(obj),
        "Namespace": namespace(obj),
        "Labels": labels(obj) if labels_of_obj is None else labels_of_obj,
        "Annotations": annotations_of(obj) or _NO_ANNOTATIONS,
    }


def namespace_owner(obj: Obj) -> list[refs.Reference]:
    """namespace → obj (ownership), for namespaced kinds."""
    ns = namespace(obj)
    if not ns:
        return []
    return [_namespace_owner(ns)]


# References are immutable, and the deriver keeps every object's: the ones many objects
# declare (their namespace, the cluster, a pod's node and service account…) are one
# shared object each, from bounded caches.
@functools.lru_cache(maxsize=4096)
def _namespace_owner(ns: str) -> refs.ByName:
    return refs.ByName(
        kind="Namespace",
        namespace="",
        name=ns,
        relation=refs.Relation.OWNERSHIP,
        declarer=refs.End.CHILD,
    )


_CLUSTER_OWNER = refs.ByName(
    kind=refs.CLUSTER,
    namespace="",
    name="",
    relation=refs.Relation.OWNERSHIP,
    declarer=refs.End.CHILD,
)


def cluster_owner() -> list[refs.Reference]:
    """cluster → obj (ownership), for cluster-scoped kinds."""
    return [_CLUSTER_OWNER]


def owners(obj: Obj) -> list[refs.Reference]:
    """One ``ByUid`` per ownerReference to a kind topolog knows.

    RelationType is the owner's lower-case kind; a workload owner depends on what it
    owns. Owners of unknown kinds (custom resources topolog does not watch) are skipped
    rather than shown as missing.
    """
    out: list[refs.Reference] = []
    for ref in items(meta(obj).get("ownerReferences")):
        kind, owner_uid = ref.get("kind"), ref.get("uid")
        if not isinstance(kind, str) or not isinstance(owner_uid, str) or not owner_uid:
            continue
        if kind not in OWNER_KINDS:
            continue
        out.append(
            refs.ByUid(
                uid=owner_uid,
                kind=kind,
                namespace=namespace(obj),
                name=str(ref.get("name") or ""),
                relation=kind.lower(),
                dependent=refs.End.PARENT if kind in WORKLOAD_OWNERS else None,
            )
        )
    return out


def has_owners(obj: Obj) -> bool:
    return bool(items(meta(obj).get("ownerReferences")))


def data_keys(obj: Obj, *fields: str) -> list[str]:
    """Sorted keys of the data maps (values are dropped upstream; ``dataKeys`` keeps them)."""
    keys: set[str] = set(strings(obj.get("dataKeys")))
    for field in fields:
        keys.update(str(k) for k in mapping(obj.get(field)))
    return sorted(keys)


def pod_selector(
    obj: Obj, relation: str, *, map_selector: bool = False, ownerless_only: bool = False
) -> list[refs.Reference]:
    """``obj`` → the pods in its namespace matched by ``spec.selector`` (a dependency).

    An absent or empty selector selects nothing here (a Service without selector, a
    workload the API server would reject); a selector the API server would reject is
    ignored rather than guessed at.
    """
    raw = spec(obj).get("selector")
    if not isinstance(raw, Mapping) or not raw:
        return []
    try:
        parsed = selectors.parse_map(raw) if map_selector else selectors.parse(raw)
    except (selectors.SelectorError, AttributeError, TypeError):
        return []
    if parsed.is_empty:
        return []
    return [
        refs.BySelector(
            kind="Pod",
            namespace=namespace(obj),
            selector=parsed,
            relation=relation,
            dependent=refs.End.PARENT,
            ownerless_only=ownerless_only,
        )
    ]
