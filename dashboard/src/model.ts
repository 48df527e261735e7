// The graph the browser holds: Skydive-shaped nodes and edges by id, with incidence.
//
// Flows in: elements from `POST /api/topology` / `GET /api/topology` and the SSE stream's
// changes. Flows out: lookups for the aggregation (aggregate.ts), the side panel and the
// root-cause walk. Pure data: no DOM, no network.

export type Metadata = Record<string, unknown>;

export interface GNode {
  ID: string;
  Metadata: Metadata;
  CreatedAt?: number;
  UpdatedAt?: number;
  DeletedAt?: number;
  Revision?: number;
}

export interface GEdge extends GNode {
  Parent: string;
  Child: string;
}

export type Element = GNode | GEdge;

export function isEdge(e: Element): e is GEdge {
  return typeof (e as GEdge).Parent === "string" && typeof (e as GEdge).Child === "string";
}

export class Graph {
  readonly nodes = new Map<string, GNode>();
  readonly edges = new Map<string, GEdge>();
  /** node id → ids of edges where it is the Parent */
  private readonly outgoing = new Map<string, Set<string>>();
  /** node id → ids of edges where it is the Child */
  private readonly incoming = new Map<string, Set<string>>();

  static of(nodes: Iterable<GNode>, edges: Iterable<GEdge>): Graph {
    const g = new Graph();
    for (const n of nodes) g.putNode(n);
    for (const e of edges) g.putEdge(e);
    return g;
  }

  /** Every element of a mixed query answer, sorted into nodes and edges. */
  static ofElements(elements: Iterable<Element>): Graph {
    const g = new Graph();
    for (const e of elements) if (!isEdge(e)) g.putNode(e);
    for (const e of elements) if (isEdge(e)) g.putEdge(e);
    return g;
  }

  clone(): Graph {
    return Graph.of(this.nodes.values(), this.edges.values());
  }

  putNode(n: GNode): void {
    this.nodes.set(n.ID, n);
  }

  putEdge(e: GEdge): void {
    this.dropEdge(e.ID);
    this.edges.set(e.ID, e);
    link(this.outgoing, e.Parent, e.ID);
    link(this.incoming, e.Child, e.ID);
  }

  dropNode(id: string): void {
    this.nodes.delete(id);
    // The store deletes a node's edges with it; stay consistent if an event is missing.
    for (const eid of [...this.edgesOf(id)]) this.dropEdge(eid);
  }

  dropEdge(id: string): void {
    const old = this.edges.get(id);
    if (!old) return;
    this.edges.delete(id);
    this.outgoing.get(old.Parent)?.delete(id);
    this.incoming.get(old.Child)?.delete(id);
  }

  out(id: string): GEdge[] {
    return ids(this.outgoing.get(id), this.edges);
  }

  in(id: string): GEdge[] {
    return ids(this.incoming.get(id), this.edges);
  }

  edgesOf(id: string): string[] {
    return [...(this.outgoing.get(id) ?? []), ...(this.incoming.get(id) ?? [])];
  }
}

function link(index: Map<string, Set<string>>, key: string, id: string): void {
  let set = index.get(key);
  if (!set) index.set(key, (set = new Set()));
  set.add(id);
}

function ids(set: Set<string> | undefined, edges: Map<string, GEdge>): GEdge[] {
  const out: GEdge[] = [];
  for (const id of set ?? []) {
    const e = edges.get(id);
    if (e) out.push(e);
  }
  return out;
}

// -- metadata accessors (Skydive's keys) ---------------------------------------------

export function typeOf(e: Element): string {
  return str(e.Metadata.Type);
}

export function nameOf(e: Element): string {
  return str(e.Metadata.Name) || e.ID.slice(0, 8);
}

export function k8s(e: Element): Record<string, unknown> {
  const v = e.Metadata.K8s;
  return v && typeof v === "object" ? (v as Record<string, unknown>) : {};
}

export function namespaceOf(e: Element): string {
  return str(k8s(e).Namespace);
}

export function labelsOf(e: Element): Record<string, string> {
  const v = k8s(e).Labels;
  if (!v || typeof v !== "object") return {};
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v as Record<string, unknown>)) out[k] = String(val);
  return out;
}

export function isDown(e: Element): boolean {
  return e.Metadata.State === "DOWN";
}

export function relationOf(e: GEdge): string {
  return str(e.Metadata.RelationType);
}

export function rootCauseOf(e: Element): string[] {
  const v = e.Metadata.RootCause;
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : [];
}

function str(v: unknown): string {
  return typeof v === "string" ? v : v === undefined || v === null ? "" : String(v);
}
