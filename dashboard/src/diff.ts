// What changed between two graphs (two times), to draw on one picture.
//
// Flows in: the graph at t0 and the graph at t1. Flows out: their union (elements in
// their t1 state, removed ones in their t0 state) and each element's status: added,
// removed or changed (another revision, or other metadata or ends). Unchanged
// elements have no entry.

import { type Element, type GEdge, type GNode, Graph } from "./model";

export type DiffStatus = "added" | "removed" | "changed";

export interface GraphDiff {
  union: Graph;
  status: Map<string, DiffStatus>;
  counts: Record<DiffStatus, number>;
}

function same(a: Element, b: Element): boolean {
  if (a.Revision !== undefined && b.Revision !== undefined && a.Revision !== b.Revision) return false;
  const ea = a as GEdge;
  const eb = b as GEdge;
  return ea.Parent === eb.Parent && ea.Child === eb.Child && stable(a.Metadata) === stable(b.Metadata);
}

/** JSON with sorted keys, so metadata compares by content. */
export function stable(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stable).join(",")}]`;
  if (v && typeof v === "object") {
    const entries = Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${stable(x)}`).join(",")}}`;
  }
  return JSON.stringify(v);
}

export function diffGraphs(before: Graph, after: Graph): GraphDiff {
  const status = new Map<string, DiffStatus>();
  const counts: Record<DiffStatus, number> = { added: 0, removed: 0, changed: 0 };
  const mark = (id: string, s: DiffStatus): void => {
    status.set(id, s);
    counts[s] += 1;
  };
  const nodes: GNode[] = [];
  const edges: GEdge[] = [];
  const compare = <T extends Element>(b: Map<string, T>, a: Map<string, T>, out: T[]): void => {
    for (const [id, now] of a) {
      const was = b.get(id);
      if (!was) mark(id, "added");
      else if (!same(was, now)) mark(id, "changed");
      out.push(now);
    }
    for (const [id, was] of b) {
      if (a.has(id)) continue;
      mark(id, "removed");
      out.push(was);
    }
  };
  compare(before.nodes, after.nodes, nodes);
  compare(before.edges, after.edges, edges);
  return { union: Graph.of(nodes, edges), status, counts };
}
