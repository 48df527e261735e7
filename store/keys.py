"""The Redis key layout of the projection (documented in docs/redis-layout.md).

Flows in: a prefix. Flows out: key names used by the Lua scripts, the reader and the
trimmer. The Lua scripts build the per-element names themselves from the same prefix
and the suffixes below; ``keys.LUA_NAMES`` is what they are given, so the layout has one
definition.

Invariants (hold between any two scripts, since every write is one Lua call):
- ``n:<id>`` exists iff node <id> is alive now; then it is in ``nodes`` and in the index
  set of each of its terms, and its latest history member is a live version.
- ``e:<id>`` exists iff edge <id> is alive now; then it is in ``edges``, ``out:<Parent>``
  and ``in:<Child>``. An alive edge's Parent and Child are alive nodes whenever the
  processors sent them (deleting a node deletes its edges in the same script).
- ``nh:<id>``/``eh:<id>`` hold every retained version (member ``<rev>``) and deletion
  (member ``d<rev>``), scored by their start time in ms, with strictly increasing scores.
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
    def horizon(self) -> str:
        """String: ms; history before it has been trimmed (reads before it go cold)."""
        return f"{self.prefix}horizon"

    def alive(self, kind: Kind) -> str:
        """Set of the ids alive now (``nodes``/``edges``)."""
        return f"{self.prefix}{'nodes' if kind is Kind.NODE else 'edges'}"

    def known(self, kind: Kind) -> str:
        """Set of the ids with retained history (alive now or in the hot window)."""
        return f"{self.prefix}{'nodes' if kind is Kind.NODE else 'edges'}:h"

    def versions(self, kind: Kind) -> str:
        """Hash ``<id>/<rev>`` → version record ``{"c": CreatedAt, "s": source, "b": body}``."""
        return f"{self.prefix}{kind.value}v"

    # --- per-element keys --------------------------------------------------------------
    def current(self, kind: Kind, element_id: str) -> str:
        """Hash of an alive element: r (Revision), c (CreatedAt), u (UpdatedAt), x/p/h."""
        return f"{self.prefix}{kind.value}:{element_id}"

    def history(self, kind: Kind, element_id: str) -> str:
        """Zset of the element's versions scored by start time (ms)."""
        return f"{self.prefix}{kind.value}h:{element_id}"

    def out_edges(self, node_id: str) -> str:
        """Set of alive edge ids whose Parent is the node."""
        return f"{self.prefix}out:{node_id}"

    def in_edges(self, node_id: str) -> str:
        """Set of alive edge ids whose Child is the node."""
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
