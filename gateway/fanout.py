"""Which subscriber groups one revision's transitions concern, each node judged once.

Flows in: the hub's group visibilities (in group order) and, per revision, the node
objects the mirror and the renderings ask about. Flows out: per node, the set of groups
with a node filter that see it (a bit mask, computed once per node object and revision);
whether some group needs a node's neighbourhood (``Mirror.apply``'s question); per
group, the transitions that can make events for it and its node visibility for
``events.render``.

Why: with many distinct filters open, judging every changed element and every edge's
ends once per filter and rendering every transition once per filter was the hub's cost
(~500 µs per change with 100 filters at 10k pods). A node filter that requires one of
some strings (``ElementFilter.required``: a namespace, a label value, an id) is asked
only about the nodes that have one of them — one look-up per node for all such filters.

Exact: a group with a node filter sees an edge only when it sees both ends, and a node
transition makes events for it only when it sees the node before or after — so the
transitions left out would have rendered nothing for it.
"""

from __future__ import annotations

from collections.abc import Sequence

from gateway import events
from gateway.mirror import Element, Transition
from store.keys import Kind
from topolog.core.query import Kind as QueryKind
from topolog.core.query import matching


class Fanout:
    """For one list of visibilities (rebuild it when the groups change)."""

    def __init__(self, visibilities: Sequence[events.Visibility]) -> None:
        self._vis = list(visibilities)
        #: Bits of the groups whose node filter decides what they see.
        self._filtered = 0
        #: Of those, the ones that need neighbourhoods (not alerts-only).
        self._neighbourly = 0
        #: The other groups (no filter, or an edge filter): judged by ``events`` itself.
        self._others: list[events.Visibility] = []
        #: Filtered groups without required strings: asked about every node.
        self._unindexed = 0
        #: key → (its resolver, required string → bits of the groups requiring it).
        self._index: dict[str, tuple[matching.Resolver, dict[str, int]]] = {}
        for i, vis in enumerate(self._vis):
            flt = vis.filter
            if flt is None or flt.kind is not QueryKind.NODES:
                self._others.append(vis)
                continue
            bit = 1 << i
            self._filtered |= bit
            if not vis.alerts_only:
                self._neighbourly |= bit
            required = flt.required()
            if required is None:
                self._unindexed |= bit
                continue
            key, strings = required
            _, table = self._index.setdefault(key, (matching.resolver(key), {}))
            for text in strings:
                table[text] = table.get(text, 0) | bit
        #: id(node) → (node, mask): keeps the nodes asked about alive, so ids stay unique.
        self._memo: dict[int, tuple[Element, int]] = {}

    def next_revision(self) -> None:
        """Forget the nodes judged so far (they may be gone from the mirror)."""
        self._memo = {}

    def mask(self, node: Element | None) -> int:
        """Bits of the filtered groups that see ``node``."""
        if node is None:
            return 0
        found = self._memo.get(id(node))
        if found is not None:
            return found[1]
        candidates = self._unindexed
        for values, table in self._index.values():
            for text in matching.string_values(values(node)):
                candidates |= table.get(text, 0)
        seen = 0
        while candidates:
            low = candidates & -candidates
            candidates ^= low
            if self._vis[low.bit_length() - 1].node(node):
                seen |= low
        self._memo[id(node)] = (node, seen)
        return seen

    def needs(self, before: Element | None, after: Element | None) -> bool:
        """Whether some group needs a node's neighbourhood for this change
        (``events.needs_neighbourhood`` of any group)."""
        if (self.mask(before) ^ self.mask(after)) & self._neighbourly:
            return True
        return any(events.needs_neighbourhood(v, before, after) for v in self._others)

    def filtered(self, index: int) -> bool:
        """Whether group ``index`` has a node filter (``concerning`` answers for it)."""
        return bool(self._filtered >> index & 1)

    def concerning(self, transitions: list[Transition]) -> list[list[Transition]]:
        """Per group (in order), the transitions that can make events for it: for a
        filtered group those touching a node it sees, for the others all of them."""
        out: list[list[Transition]] = [
            [] if self._filtered >> i & 1 else transitions for i in range(len(self._vis))
        ]
        mask = self.mask
        for tr in transitions:
            if tr.kind is Kind.EDGE:
                pb, cb = tr.ends_before
                pa, ca = tr.ends_after
                bits = (mask(pb) & mask(cb)) | (mask(pa) & mask(ca))
            else:
                bits = mask(tr.before) | mask(tr.after)
            while bits:
                low = bits & -bits
                bits ^= low
                out[low.bit_length() - 1].append(tr)
        return out

    def node_visible(self, index: int) -> events.NodeVisible:
        """``Visibility.node`` of filtered group ``index``, from the masks."""
        bit = 1 << index
        mask = self.mask
        return lambda node: bool(mask(node) & bit)
