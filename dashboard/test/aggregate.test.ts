// The folding rules, on small graphs built here (names, not ids, in the assertions).
import assert from "node:assert/strict";
import { test } from "node:test";

import { DEFAULTS, type ViewOptions, aggregate, aggregateId } from "../src/aggregate";
import { diffGraphs } from "../src/diff";
import { type GEdge, type GNode, Graph } from "../src/model";
import { rootCauseChain } from "../src/rootcause";

function node(id: string, type: string, name: string, ns = "", extra: Record<string, unknown> = {}): GNode {
  return { ID: id, Metadata: { Type: type, Name: name, K8s: ns ? { Namespace: ns } : {}, ...extra } };
}

function edge(parent: string, child: string, relation: string): GEdge {
  return { ID: `${parent}>${child}`, Parent: parent, Child: child, Metadata: { RelationType: relation } };
}

/** A cluster, namespace `ns`, a deployment → replicaset → `pods` pods, and a service. */
function workload(pods: number): Graph {
  const nodes = [
    node("c", "cluster", "demo"),
    node("ns", "namespace", "ns"),
    node("d", "deployment", "web", "ns"),
    node("rs", "replicaset", "web-1", "ns"),
    node("svc", "service", "web", "ns"),
  ];
  const edges = [edge("c", "ns", "ownership"), edge("d", "rs", "deployment")];
  for (let i = 0; i < pods; i++) {
    nodes.push(node(`p${i}`, "pod", `web-1-${i}`, "ns"));
    edges.push(edge("rs", `p${i}`, "replicaset"), edge("svc", `p${i}`, "service"), edge("ns", `p${i}`, "ownership"));
  }
  return Graph.of(nodes, edges);
}

function opts(expanded: string[], extra: Partial<ViewOptions> = {}): ViewOptions {
  return { expanded: new Set(expanded), visible: null, showContainers: false, ...DEFAULTS, ...extra };
}

test("a folded namespace stands for everything in it", () => {
  const m = aggregate(workload(3), opts(["c"]));
  assert.deepEqual([...m.nodes.keys()].sort(), ["c", "ns"]);
  assert.equal(m.repOf.get("p0"), "ns");
  assert.match(m.nodes.get("ns")!.label, /6 objects/);
  assert.equal(m.edges.size, 0);
});

test("an expanded namespace draws its objects inside it, ownership by the box", () => {
  const m = aggregate(workload(3), opts(["c", "ns"]));
  assert.equal(m.nodes.get("p0")!.parent, "ns");
  assert.ok(m.nodes.get("ns")!.compound);
  assert.ok(![...m.edges.values()].some((e) => e.relation === "ownership"));
  assert.ok(m.edges.has("svc>p1"));
});

test("many pods of one workload are one aggregate until it is expanded", () => {
  const g = workload(DEFAULTS.groupMax + 1);
  const agg = aggregateId("wl", "ns", "d");
  const folded = aggregate(g, opts(["c", "ns"]));
  assert.equal(folded.repOf.get("p0"), agg);
  assert.equal(folded.nodes.get(agg)!.members.length, DEFAULTS.groupMax + 1);
  // The service's edges to the pods merge into one, which keeps their ids.
  const merged = [...folded.edges.values()].find((e) => e.source === "svc");
  assert.equal(merged!.target, agg);
  assert.equal(merged!.members.length, DEFAULTS.groupMax + 1);
  const open = aggregate(g, opts(["c", "ns", agg]));
  assert.equal(open.nodes.get("p0")!.parent, agg);
});

test("a box over its share of the draw budget folds its most numerous kind", () => {
  const nodes = [node("c", "cluster", "demo"), node("ns", "namespace", "ns")];
  for (let i = 0; i < 50; i++) nodes.push(node(`cm${i}`, "configmap", `cm${i}`, "ns"));
  for (let i = 0; i < 5; i++) nodes.push(node(`s${i}`, "secret", `s${i}`, "ns"));
  const m = aggregate(Graph.of(nodes, []), opts(["c", "ns"], { budget: 20, boxMin: 10 }));
  assert.equal(m.repOf.get("cm0"), aggregateId("type", "ns", "configmap"));
  assert.equal(m.repOf.get("s0"), "s0");
});

test("the filter keeps matching objects and the boxes that hold them", () => {
  const m = aggregate(workload(3), opts(["c", "ns"], { visible: new Set(["p1"]) }));
  assert.deepEqual([...m.nodes.keys()].sort(), ["c", "ns", "p1"]);
});

test("a DOWN pod's chain runs through its DOWN claim to the root cause", () => {
  const down = (id: string, type: string, name: string, root: string[]): GNode =>
    node(id, type, name, "ns", { State: "DOWN", RootCause: root });
  const g = Graph.of(
    [
      down("pod", "pod", "task-pv-pod", ["claim"]),
      down("claim", "persistentvolumeclaim", "task-pv-claim", []),
      node("pv", "persistentvolume", "task-pv-volume", "", { State: "UP" }),
      down("other", "pod", "unrelated", []),
    ],
    [edge("pod", "claim", "pod"), edge("claim", "pv", "persistentvolumeclaim"), edge("other", "claim", "pod")],
  );
  const chain = rootCauseChain(g, "pod");
  assert.deepEqual([...chain.nodes].sort(), ["claim", "pod"]);
  assert.deepEqual([...chain.edges], ["pod>claim"]);
});

test("a diff tells added, removed and changed apart", () => {
  const before = Graph.of([node("a", "pod", "a"), node("b", "pod", "b")], []);
  const after = Graph.of([node("b", "pod", "b", "", { State: "DOWN" }), node("c", "pod", "c")], []);
  const d = diffGraphs(before, after);
  assert.equal(d.status.get("a"), "removed");
  assert.equal(d.status.get("b"), "changed");
  assert.equal(d.status.get("c"), "added");
  assert.equal(d.union.nodes.size, 3);
});
