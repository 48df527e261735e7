"""The relations a kind declares: what ``references(obj)`` returns.

Flows in: nothing (pure types).
Flows out: ``ByName``/``ByUid``/``BySelector`` values; the deriver
(``topolog.core.derive``) resolves them against what it has seen and turns each into a
graph edge.

Every reference is declared by one object and points at a target. ``declarer`` says
which end of the edge the declaring object is (a pod declares ``node→pod`` with
``declarer=CHILD``); ``dependent`` says which end depends on the other for status
(root cause), or ``None`` when the edge is not a dependency (ownership by a namespace).

A ``required`` name reference whose target does not exist stays visible as a DOWN
"Missing" placeholder node; an optional one (``optional: true`` volumes, a storage
class name, the implicit ``default`` service account) makes an edge only once the
target exists.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from topolog.core import selectors


class End(enum.Enum):
    """One end of an edge."""

    PARENT = "parent"
    CHILD = "child"


class Relation(enum.StrEnum):
    """``Metadata.RelationType`` values (Skydive names: ownership, else the parent's kind)."""

    OWNERSHIP = "ownership"
    POD = "pod"
    SERVICE = "service"
    INGRESS = "ingress"
    NODE = "node"
    PERSISTENTVOLUMECLAIM = "persistentvolumeclaim"
    STORAGECLASS = "storageclass"
    HORIZONTALPODAUTOSCALER = "horizontalpodautoscaler"


#: The kind of the derived cluster node; a reference to it always resolves.
CLUSTER = "Cluster"


@dataclass(frozen=True, slots=True)
class ByName:
    """A reference to ``kind``/``namespace``/``name`` (namespace ``""``: cluster-scoped)."""

    kind: str
    namespace: str
    name: str
    relation: str
    declarer: End = End.PARENT
    dependent: End | None = None
    required: bool = True

    # Hashed on its strings only (equal references have equal strings): the generated
    # hash is interpreted code, and hashing an ``End`` calls ``Enum.__hash__`` in Python.
    def __hash__(self) -> int:
        return hash((self.kind, self.namespace, self.name, self.relation))


@dataclass(frozen=True, slots=True)
class ByUid:
    """An ownerReference: the owner is the parent, the declaring object the child.

    ``kind``/``name`` (and the declarer's namespace) name the placeholder shown while
    the owner is unknown.
    """

    uid: str
    kind: str
    namespace: str
    name: str
    relation: str
    dependent: End | None = None

    # Hashed on its strings only (equal references have equal strings): the generated
    # hash is interpreted code, and hashing an ``End`` calls ``Enum.__hash__`` in Python.
    def __hash__(self) -> int:
        return hash((self.uid, self.kind, self.name, self.relation))


@dataclass(frozen=True, slots=True)
class BySelector:
    """Every ``kind`` object in ``namespace`` whose labels match ``selector``.

    The declaring object is the parent. With ``ownerless_only`` only objects without
    ownerReferences match (workload selectors: ownerReferences win where they exist).
    """

    kind: str
    namespace: str
    selector: selectors.Selector
    relation: str
    dependent: End | None = None
    ownerless_only: bool = False


Reference = ByName | ByUid | BySelector
