"""The Redis key layout of the projection (documented in docs/redis-layout.md).

Flows in: a prefix. Flows out: key names used by the Lua scripts, the reader and the
trimmer. The Lua scripts build the per-element names themselves from the same prefix
and the suffixes below; ``keys.LUA_NAMES`` is what they are given, so the layout has one
definition.

Invariants (hold between any two scripts, since every write is one Lua call):
- An element is alive iff it has a field in ``nodes``/``edges``: its current version
  (revision, start, record). A deleted element whose history is retained is in
  ``nodes:dead``/``edges:dead``.
- ``nh:<id>``/``eh:<id>`` hold every retained version (member ``<rev>``) and deletion
  (member ``d<rev>``), scored by their start time in ms, with strictly increasing scores;
  the zset exists iff the element has two members or more, or is deleted: an alive
  element with one version (most of them) has no history key, its history is its
  current version. The records of the versions that are not current are in
  ``nv``/``ev`` under ``<id>/<rev>``.
- An alive node is in the index set of each of its terms; an alive edge is in
  ``out:<Parent>`` and ``in:<Child>``. Deleting a node deletes its edges in the same
  script, so no alive edge has a deleted endpoint.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    """Element kinds; the value is the one-letter key infix."""

    NODE = "n"
    EDGE = "e"


@dataclass(frozen=True, slots=True)
class Keys:
    prefix: str = "topolog:"

    # --- global keys -------------------------------------------------------------------
    @property
    def rev(self) -> str:
        """String: the global revision, +1 per changeset that changed something."""
        return f"{self.prefix}rev"

    @property
    def hwm(self) -> str:
        """Hash ``<topic>:<partition>`` → last applied graph-topic offset."""
        return f"{self.prefix}hwm"

    @property
    def feed(self) -> str:
        """Stream: one entry per revision, id ``<rev>-0``."""
        return f"{self.prefix}feed"

    @property
    def ends(self) -> str:
        """Zset ``<kind>:<id>:<member>`` → end time (ms) of a superseded version or deletion."""
        return f"{self.prefix}ends"

    @property
    def layout(self) -> str:
        """String: the version of this layout (``scripts.LAYOUT``), set with revision 1."""
        return f"{self.prefix}layout"

    @property
    def epoch(self) -> str:
        """String: this projection's identity, a token set with revision 1 (a rebuilt
        projection gets a new one: readers tell it from the one they followed)."""
        return f"{self.prefix}epoch"

    @property
    def horizon(self) -> str:
        """String: ms; history before it has been trimmed (reads before it go cold)."""
        return f"{self.prefix}horizon"

    def alive(self, kind: Kind) -> str:
        """Hash of the elements alive now (``nodes``/``edges``): id → current record."""
        return f"{self.prefix}{'nodes' if kind is Kind.NODE else 'edges'}"

    def dead(self, kind: Kind) -> str:
        """Set of the ids deleted now whose history is still retained (hot window)."""
        return f"{self.prefix}{'nodes' if kind is Kind.NODE else 'edges'}:dead"

    def versions(self, kind: Kind) -> str:
        """Hash ``<id>/<rev>`` → record of a version that is no longer current."""
        return f"{self.prefix}{kind.value}v"

    # --- per-element keys --------------------------------------------------------------
    def history(self, kind: Kind, element_id: str) -> str:
        """Zset of the element's versions and deletions scored by start time (ms); only
        for an element with more than its current version."""
        return f"{self.prefix}{kind.value}h:{element_id}"

    def out_edges(self, node_id: str) -> str:
        """Hash (edge id → '': a listpack while ≤ 512 members) of alive edge ids whose
        Parent is the node."""
        return f"{self.prefix}out:{node_id}"

    def in_edges(self, node_id: str) -> str:
        """Hash (edge id → '') of alive edge ids whose Child is the node."""
        return f"{self.prefix}in:{node_id}"

    def index(self, term: str) -> str:
        """Set of alive node ids having an index term ``<key>=<value>``."""
        return f"{self.prefix}ix:{term}"

    @property
    def pattern(self) -> str:
        """SCAN pattern matching every key of the projection."""
        return f"{_glob_escape(self.prefix)}*"


def _glob_escape(text: str) -> str:
    return "".join(f"\\{c}" if c in "*?[]\\" else c for c in text)
