// What is drawn: the graph folded into cluster → namespaces → resources, with aggregates.
//
// Flows in: the browser's Graph, the set of expanded groups, the filter's node ids.
// Flows out: a RenderModel — the nodes and edges to draw (compound parents included) and,
// for every visible graph node, the drawn node that stands for it (`repOf`).
//
// Folding rules, so thousands of pods never render as one hairball:
// - a cluster or namespace is one node until it is expanded (then a compound box);
// - inside an expanded namespace, the pods of one workload (the top of their
//   ownerReferences chain: deployment, statefulset, daemonset, cronjob...) are one
//   aggregate node when there are more than `groupMax` of them, until it is expanded;
// - then any type with more than `typeMax` individually drawn objects in one box is one
//   aggregate node ("120 × configmap"), until it is expanded; and while a box would still
//   draw more than its share of `budget` (split evenly over the expanded boxes, at least
//   `boxMin`), its most numerous remaining type is folded too.
// Edges between folded objects are merged: one drawn edge per (source, target, relation),
// which keeps the ids of the graph edges it stands for; scheduling edges (node → pod)
// are drawn only between a node and a pod both drawn on their own.

import {
  type GEdge,
  type GNode,
  type Graph,
  isDown,
  nameOf,
  namespaceOf,
  relationOf,
  typeOf,
} from "./model";

/** Edge relations that point from an owner to what it owns (ownerReferences). */
export const OWNER_RELATIONS: ReadonlySet<string> = new Set([
  "deployment",
  "replicaset",
  "statefulset",
  "daemonset",
  "job",
  "cronjob",
  "replicationcontroller",
]);

export interface ViewOptions {
  /** ids of expanded groups: cluster and namespace node ids, aggregate ids */
  expanded: ReadonlySet<string>;
  /** graph node ids the filter keeps; null = no filter */
  visible: ReadonlySet<string> | null;
  showContainers: boolean;
  groupMax: number;
  typeMax: number;
  budget: number;
  boxMin: number;
}

export const DEFAULTS = { groupMax: 6, typeMax: 60, budget: 200, boxMin: 30 } as const;

/** Most objects of one kind drawn one by one in a cluster box. */
const CLUSTER_TYPE_MAX = 12;

/** Relations drawn only between objects drawn one by one (merged, they are noise). */
const ONLY_SINGLE: ReadonlySet<string> = new Set(["node"]);

/** A type with fewer objects than this is never folded to save room. */
const FOLD_MIN = 3;

export type RKind = "element" | "group" | "aggregate";

export interface RNode {
  id: string;
  parent: string | null;
  kind: RKind;
  /** drawn as a box holding its members */
  compound: boolean;
  type: string;
  label: string;
  /** graph node ids this drawn node stands for (itself for an element) */
  members: string[];
  down: number;
}

export interface REdge {
  id: string;
  source: string;
  target: string;
  relation: string;
  /** ids of the graph edges this drawn edge stands for */
  members: string[];
}

export interface RenderModel {
  nodes: Map<string, RNode>;
  edges: Map<string, REdge>;
  /** graph node id → id of the drawn node that stands for it */
  repOf: Map<string, string>;
}

export const VIRTUAL_CLUSTER = "cluster:";

export function aggregateId(scope: "wl" | "type", home: string, key: string): string {
  return `agg:${scope}:${home}:${key}`;
}

/** The top owner of a pod (deployment over replicaset), or null for a bare pod. */
export function workloadOf(g: Graph, id: string): GNode | null {
  let current = id;
  let top: GNode | null = null;
  const seen = new Set<string>([id]);
  for (;;) {
    const owner = g.in(current).find((e) => OWNER_RELATIONS.has(relationOf(e)));
    if (!owner || seen.has(owner.Parent)) return top;
    const node = g.nodes.get(owner.Parent);
    if (!node) return top;
    seen.add(owner.Parent);
    top = node;
    current = owner.Parent;
  }
}

interface Group {
  id: string;
  node: GNode | null; // null: a namespace or cluster we only know by name
  type: string;
  name: string;
  parent: string | null;
}

export function aggregate(g: Graph, opt: ViewOptions): RenderModel {
  const shown = (n: GNode): boolean => {
    const t = typeOf(n);
    if (t === "container" && !opt.showContainers) return false;
    return opt.visible === null || opt.visible.has(n.ID);
  };

  // 1. The group tree: clusters, and namespaces inside them.
  const groups = new Map<string, Group>();
  const clusterByName = new Map<string, string>();
  let firstCluster: string | null = null;
  for (const n of g.nodes.values()) {
    if (typeOf(n) !== "cluster") continue;
    groups.set(n.ID, { id: n.ID, node: n, type: "cluster", name: nameOf(n), parent: null });
    clusterByName.set(nameOf(n), n.ID);
    firstCluster ??= n.ID;
  }
  const clusterOf = (n: GNode): string => {
    const byName = clusterByName.get(String(n.Metadata.ClusterName ?? ""));
    if (byName) return byName;
    if (firstCluster) return firstCluster;
    if (!groups.has(VIRTUAL_CLUSTER)) {
      groups.set(VIRTUAL_CLUSTER, {
        id: VIRTUAL_CLUSTER,
        node: null,
        type: "cluster",
        name: "",
        parent: null,
      });
    }
    return VIRTUAL_CLUSTER;
  };
  const namespaceGroup = new Map<string, string>(); // cluster id + ns name → group id
  for (const n of g.nodes.values()) {
    if (typeOf(n) !== "namespace") continue;
    const parent = clusterOf(n);
    groups.set(n.ID, { id: n.ID, node: n, type: "namespace", name: nameOf(n), parent });
    namespaceGroup.set(`${parent}/${nameOf(n)}`, n.ID);
  }
  const homeOf = (n: GNode): string => {
    const cluster = clusterOf(n);
    const ns = namespaceOf(n);
    if (!ns) return cluster;
    const key = `${cluster}/${ns}`;
    let id = namespaceGroup.get(key);
    if (!id) {
      id = `ns:${key}`;
      groups.set(id, { id, node: null, type: "namespace", name: ns, parent: cluster });
      namespaceGroup.set(key, id);
    }
    return id;
  };

  // 2. Resources per home (groups are not resources).
  const byHome = new Map<string, GNode[]>();
  for (const n of g.nodes.values()) {
    const t = typeOf(n);
    if (t === "cluster" || t === "namespace" || !shown(n)) continue;
    const home = homeOf(n);
    let list = byHome.get(home);
    if (!list) byHome.set(home, (list = []));
    list.push(n);
  }

  // A group is drawn when the filter keeps it or anything inside it.
  const groupShown = new Set<string>();
  const markUp = (id: string | null): void => {
    for (let cur = id; cur && !groupShown.has(cur); cur = groups.get(cur)?.parent ?? null) {
      groupShown.add(cur);
    }
  };
  for (const home of byHome.keys()) markUp(home);
  for (const grp of groups.values()) if (grp.node && shown(grp.node)) markUp(grp.id);

  // The topmost collapsed group at or above `id` (null = every one of them is expanded).
  const foldedAt = (id: string): string | null => {
    const chain: string[] = [];
    for (let cur: string | null = id; cur; cur = groups.get(cur)?.parent ?? null) chain.push(cur);
    for (let i = chain.length - 1; i >= 0; i--) {
      if (!opt.expanded.has(chain[i])) return chain[i];
    }
    return null;
  };

  const nodes = new Map<string, RNode>();
  const repOf = new Map<string, string>();
  const downIn = new Map<string, number>();
  const countIn = new Map<string, number>();
  const bump = (m: Map<string, number>, k: string): void => {
    m.set(k, (m.get(k) ?? 0) + 1);
  };

  // 3. Groups: boxes when expanded (and their parents are), single nodes when folded.
  for (const grp of groups.values()) {
    if (!groupShown.has(grp.id)) continue;
    const folded = foldedAt(grp.id);
    if (folded !== null && folded !== grp.id) {
      if (grp.node) repOf.set(grp.node.ID, folded);
      continue;
    }
    if (grp.node) repOf.set(grp.node.ID, grp.id);
    nodes.set(grp.id, {
      id: grp.id,
      parent: grp.parent,
      kind: "group",
      compound: folded === null,
      type: grp.type,
      label: `${grp.type} ${grp.name}`.trim(),
      members: grp.node ? [grp.node.ID] : [],
      down: grp.node && isDown(grp.node) ? 1 : 0,
    });
  }

  // 4. Resources: inside a folded group, in a workload or type aggregate, or on their own.
  const aggregates = new Map<string, { home: string; label: string; type: string }>();
  const place = (n: GNode, parent: string): void => {
    repOf.set(n.ID, n.ID);
    nodes.set(n.ID, {
      id: n.ID,
      parent,
      kind: "element",
      compound: false,
      type: typeOf(n),
      label: nameOf(n),
      members: [n.ID],
      down: isDown(n) ? 1 : 0,
    });
  };
  const fold = (n: GNode, agg: string): void => {
    if (opt.expanded.has(agg)) place(n, agg);
    else repOf.set(n.ID, agg);
  };
  const open = [...byHome.keys()].filter((home) => foldedAt(home) === null).length;
  const boxMax = Math.max(opt.boxMin, Math.floor(opt.budget / Math.max(1, open)));
  for (const [home, list] of byHome) {
    const folded = foldedAt(home);
    if (folded !== null) {
      for (const n of list) {
        repOf.set(n.ID, folded);
        bump(countIn, folded);
        if (isDown(n)) bump(downIn, folded);
      }
      continue;
    }
    // Pods by workload.
    const byWorkload = new Map<string, GNode[]>();
    const single: GNode[] = [];
    for (const n of list) {
      const wl = typeOf(n) === "pod" ? workloadOf(g, n.ID) : null;
      if (!wl) {
        single.push(n);
        continue;
      }
      let pods = byWorkload.get(wl.ID);
      if (!pods) byWorkload.set(wl.ID, (pods = []));
      pods.push(n);
    }
    for (const [wl, pods] of byWorkload) {
      if (pods.length <= opt.groupMax) {
        single.push(...pods);
        continue;
      }
      const owner = g.nodes.get(wl);
      const agg = aggregateId("wl", home, wl);
      const ownerName = owner ? `${typeOf(owner)} ${nameOf(owner)}` : "a workload";
      aggregates.set(agg, { home, label: `${pods.length} pods of ${ownerName}`, type: "pod" });
      for (const p of pods) fold(p, agg);
    }
    // Then crowded types.
    const byType = new Map<string, GNode[]>();
    for (const n of single) {
      let same = byType.get(typeOf(n));
      if (!same) byType.set(typeOf(n), (same = []));
      same.push(n);
    }
    const foldTypes = new Set<string>();
    let drawn = 0;
    // Cluster-scoped kinds (nodes, volumes) crowd the top box quickly: fold them sooner.
    const typeMax = groups.get(home)?.type === "cluster" ? Math.min(opt.typeMax, CLUSTER_TYPE_MAX) : opt.typeMax;
    for (const [type, same] of byType) {
      if (same.length > typeMax) foldTypes.add(type);
      else drawn += same.length;
    }
    const largest = [...byType].filter(([t, same]) => !foldTypes.has(t) && same.length >= FOLD_MIN);
    largest.sort(([ta, a], [tb, b]) => b.length - a.length || (ta < tb ? -1 : 1));
    for (const [type, same] of largest) {
      if (drawn <= boxMax) break;
      foldTypes.add(type);
      drawn -= same.length - 1;
    }
    for (const [type, same] of byType) {
      if (!foldTypes.has(type)) {
        for (const n of same) place(n, home);
        continue;
      }
      const agg = aggregateId("type", home, type);
      aggregates.set(agg, { home, label: `${same.length} × ${type}`, type });
      for (const n of same) fold(n, agg);
    }
  }
  for (const [id, a] of aggregates) {
    const members: string[] = [];
    nodes.set(id, {
      id,
      parent: a.home,
      kind: "aggregate",
      compound: opt.expanded.has(id),
      type: a.type,
      label: a.label,
      members,
      down: 0,
    });
  }

  // Members and DOWN counts of folded nodes.
  for (const [gid, rep] of repOf) {
    const r = nodes.get(rep);
    if (!r || rep === gid) continue;
    const n = g.nodes.get(gid);
    if (r.kind === "aggregate" || (r.kind === "group" && !r.compound)) {
      r.members.push(gid);
      if (n && isDown(n) && r.kind === "aggregate") r.down += 1;
    }
  }
  for (const r of nodes.values()) {
    if (r.kind === "group" && !r.compound) r.down += downIn.get(r.id) ?? 0;
  }

  // 5. Edges, merged between drawn nodes; structure (ownership by a group) is the boxes.
  const isAncestor = (a: string, b: string): boolean => {
    for (let cur = nodes.get(b)?.parent ?? null; cur; cur = nodes.get(cur)?.parent ?? null) {
      if (cur === a) return true;
    }
    return false;
  };
  const edges = new Map<string, REdge>();
  const sorted = [...g.edges.values()].sort((a, b) => (a.ID < b.ID ? -1 : 1));
  for (const e of sorted) {
    const parent = g.nodes.get(e.Parent);
    const child = g.nodes.get(e.Child);
    if (!parent || !child) continue;
    if (relationOf(e) === "ownership" && (typeOf(parent) === "cluster" || typeOf(parent) === "namespace")) {
      continue;
    }
    const source = repOf.get(e.Parent);
    const target = repOf.get(e.Child);
    if (!source || !target || source === target) continue;
    if (isAncestor(source, target) || isAncestor(target, source)) continue;
    if (ONLY_SINGLE.has(relationOf(e)) && (source !== e.Parent || target !== e.Child)) continue;
    const key = `${source}|${target}|${relationOf(e)}`;
    const merged = edges.get(key);
    if (merged) merged.members.push(e.ID);
    else edges.set(key, { id: "", source, target, relation: relationOf(e), members: [e.ID] });
  }
  const out = new Map<string, REdge>();
  for (const [key, e] of edges) {
    // A drawn edge between the very nodes of one graph edge keeps that edge's id.
    const only = e.members.length === 1 ? g.edges.get(e.members[0]) : undefined;
    const real = only !== undefined && only.Parent === e.source && only.Child === e.target;
    e.id = real ? only.ID : `agg:e:${key}`;
    out.set(e.id, e);
  }
  for (const r of nodes.values()) {
    if (r.kind === "group" && !r.compound) {
      const total = countIn.get(r.id) ?? 0;
      r.label = labelFolded(r, total);
    }
  }
  return { nodes, edges: out, repOf };
}

function labelFolded(r: RNode, total: number): string {
  const down = r.down > 0 ? ` · ${r.down} down` : "";
  return total > 0 ? `${r.label}\n${total} objects${down}` : r.label;
}

/** The graph edge ids a drawn edge stands for, as graph edges. */
export function membersOf(g: Graph, e: REdge): GEdge[] {
  return e.members.map((id) => g.edges.get(id)).filter((x): x is GEdge => x !== undefined);
}
