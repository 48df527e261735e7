// The root-cause chain of a DOWN node, for highlighting.
//
// Flows in: the Graph and a node id. Flows out: the nodes and edges on the shortest paths
// from the node to each of its root causes (`Metadata.RootCause`), walking only through
// DOWN nodes that share one of those root causes — the cascade the processors computed
// (a pod DOWN because its claim is, the claim because of itself or its volume).
// A DOWN node with no root cause is its own; an UP node has no chain.

import { type Graph, isDown, relationOf, rootCauseOf, typeOf } from "./model";

export interface Chain {
  nodes: Set<string>;
  edges: Set<string>;
  roots: string[];
}

export function rootCauseChain(g: Graph, id: string): Chain {
  const start = g.nodes.get(id);
  const empty: Chain = { nodes: new Set(), edges: new Set(), roots: [] };
  if (!start || !isDown(start)) return empty;
  const roots = rootCauseOf(start).filter((r) => g.nodes.has(r));
  if (roots.length === 0) return { nodes: new Set([id]), edges: new Set(), roots: [id] };
  const wanted = new Set(roots);
  const onPath = (nid: string): boolean => {
    const n = g.nodes.get(nid);
    if (!n || !isDown(n)) return false;
    if (wanted.has(nid)) return true;
    return rootCauseOf(n).some((r) => wanted.has(r));
  };
  // Breadth first, so each root is reached by a shortest path.
  const via = new Map<string, { from: string; edge: string }>();
  const seen = new Set([id]);
  let frontier = [id];
  while (frontier.length > 0) {
    const next: string[] = [];
    for (const cur of frontier) {
      for (const e of [...g.out(cur), ...g.in(cur)]) {
        const other = e.Parent === cur ? e.Child : e.Parent;
        if (seen.has(other) || !onPath(other)) continue;
        const o = g.nodes.get(other);
        // Namespace ownership is structure, not a dependency.
        if (relationOf(e) === "ownership" && o && ["namespace", "cluster"].includes(typeOf(o))) continue;
        seen.add(other);
        via.set(other, { from: cur, edge: e.ID });
        if (!wanted.has(other)) next.push(other);
      }
    }
    frontier = next;
  }
  const chain: Chain = { nodes: new Set([id]), edges: new Set(), roots };
  for (const root of roots) {
    for (let cur = root; cur !== id; ) {
      const step = via.get(cur);
      if (!step) break;
      chain.nodes.add(cur);
      chain.edges.add(step.edge);
      cur = step.from;
    }
    chain.nodes.add(root);
  }
  return chain;
}
