"""The deriver's look-up tables, so an event touches only what it can affect.

Flows in: registrations from ``engine`` (objects by key and uid, labels, selectors,
referrers). Flows out: small sets of candidate ids; ``lookups`` counts every table
access, so tests can assert that the work of one event does not grow with the cluster.

Invariants: ``key → uid`` holds exactly the live (non-placeholder) objects that have a
key. A selector is registered under one of its ``key=value`` pairs (every match carries
all of them, so one suffices) or, when it has none, under its namespace. A referrer is
registered under every key and uid its references name, resolved or not, so the object
that appears there can find who is waiting for it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple, TypeVar

from topolog.core.kinds import refs

#: (kind, namespace, name); namespace is "" for cluster-scoped kinds.
Key = tuple[str, str, str]


class SelectorKey(NamedTuple):
    """One selector reference of one declaring node."""

    declarer: str
    ref: refs.BySelector


_EMPTY: frozenset[str] = frozenset()
_NO_SELECTORS: frozenset[SelectorKey] = frozenset()


_K = TypeVar("_K")
_V = TypeVar("_V")
#: Where a selector is registered: (kind, namespace, key, value), or with key and value
#: ``None`` for a selector without ``key=value`` pairs.
_Slot = tuple[str, str, str | None, str | None]


def _add(table: dict[_K, set[_V]], key: _K, value: _V) -> None:
    table.setdefault(key, set()).add(value)


def _discard(table: dict[_K, set[_V]], key: _K, value: _V) -> None:
    bucket = table.get(key)
    if bucket is None:
        return
    bucket.discard(value)
    if not bucket:
        del table[key]


class Index:
    def __init__(self) -> None:
        self.lookups = 0
        self._by_key: dict[Key, str] = {}
        self._uids: set[str] = set()
        self._labelled: dict[tuple[str, str, str, str], set[str]] = {}
        self._in_namespace: dict[tuple[str, str], set[str]] = {}
        self._selectors: dict[_Slot, set[SelectorKey]] = {}
        self._referrers_by_key: dict[Key, set[str]] = {}
        self._referrers_by_uid: dict[str, set[str]] = {}

    # -- objects by key and uid -------------------------------------------------------

    def uid_of(self, key: Key) -> str | None:
        self.lookups += 1
        return self._by_key.get(key)

    def has_uid(self, uid: str) -> bool:
        self.lookups += 1
        return uid in self._uids

    def add_object(self, uid: str, key: Key | None) -> None:
        self._uids.add(uid)
        if key is not None:
            self._by_key[key] = uid

    def remove_object(self, uid: str, key: Key | None) -> None:
        self._uids.discard(uid)
        if key is not None and self._by_key.get(key) == uid:
            del self._by_key[key]

    # -- labels -------------------------------------------------------------------------

    def add_labels(self, kind: str, namespace: str, uid: str, labels: Mapping[str, str]) -> None:
        _add(self._in_namespace, (kind, namespace), uid)
        for k, v in labels.items():
            _add(self._labelled, (kind, namespace, k, v), uid)

    def remove_labels(self, kind: str, namespace: str, uid: str, labels: Mapping[str, str]) -> None:
        _discard(self._in_namespace, (kind, namespace), uid)
        for k, v in labels.items():
            _discard(self._labelled, (kind, namespace, k, v), uid)

    def candidates(self, ref: refs.BySelector) -> frozenset[str] | set[str]:
        """Objects that may match ``ref`` (a superset; the caller checks each)."""
        pairs = ref.selector.equality_pairs()
        if not pairs:
            self.lookups += 1
            return self._in_namespace.get((ref.kind, ref.namespace), _EMPTY)
        best: set[str] | frozenset[str] | None = None
        for k, v in pairs:
            self.lookups += 1
            found = self._labelled.get((ref.kind, ref.namespace, k, v), _EMPTY)
            if best is None or len(found) < len(best):
                best = found
        return best if best is not None else _EMPTY

    # -- selectors ----------------------------------------------------------------------

    @staticmethod
    def _slot(sk: SelectorKey) -> _Slot:
        pairs = sk.ref.selector.equality_pairs()
        if pairs:
            k, v = min(pairs)
            return (sk.ref.kind, sk.ref.namespace, k, v)
        return (sk.ref.kind, sk.ref.namespace, None, None)

    def add_selector(self, sk: SelectorKey) -> None:
        _add(self._selectors, self._slot(sk), sk)

    def remove_selector(self, sk: SelectorKey) -> None:
        _discard(self._selectors, self._slot(sk), sk)

    def selectors_for(
        self, kind: str, namespace: str, labels: Mapping[str, str]
    ) -> set[SelectorKey]:
        """Selectors that may match an object with ``labels`` (a superset)."""
        self.lookups += 1
        out = set(self._selectors.get((kind, namespace, None, None), _NO_SELECTORS))
        for k, v in labels.items():
            self.lookups += 1
            out |= self._selectors.get((kind, namespace, k, v), _NO_SELECTORS)
        return out

    # -- referrers ----------------------------------------------------------------------

    def add_referrer(self, declarer: str, *, key: Key | None = None, uid: str = "") -> None:
        if key is not None:
            _add(self._referrers_by_key, key, declarer)
        if uid:
            _add(self._referrers_by_uid, uid, declarer)

    def remove_referrer(self, declarer: str, *, key: Key | None = None, uid: str = "") -> None:
        if key is not None:
            _discard(self._referrers_by_key, key, declarer)
        if uid:
            _discard(self._referrers_by_uid, uid, declarer)

    def referrers(self, *, key: Key | None, uid: str) -> set[str]:
        """Nodes whose references name ``key`` or ``uid``."""
        out: set[str] = set()
        if key is not None:
            self.lookups += 1
            out |= self._referrers_by_key.get(key, _EMPTY)
        if uid:
            self.lookups += 1
            out |= self._referrers_by_uid.get(uid, _EMPTY)
        return out
