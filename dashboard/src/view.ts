// The drawing: a Cytoscape.js canvas kept in step with a RenderModel.
//
// Flows in: a RenderModel (aggregate.ts) and decorations (classes per drawn id: highlight,
// root cause, selection, diff). Flows out: taps (drawn id, node or edge) to the caller.
// Each render changes only what differs from the last one; the layout (fcose, which
// handles compound boxes) runs only when nodes come, go or move to another box, starting
// from the current positions so a live change does not reshuffle the picture.

import cytoscape, {
  type Core,
  type ElementDefinition,
  type EventObject,
  type StylesheetJson,
} from "cytoscape";
import fcose from "cytoscape-fcose";

import type { REdge, RNode, RenderModel } from "./aggregate";
import { icon } from "./icons";

cytoscape.use(fcose);

export interface Taps {
  onTap(id: string, group: "nodes" | "edges"): void;
  onDoubleTap(id: string): void;
  onBackground(): void;
}

/** Extra classes per drawn id (space separated names). */
export type Decorations = Map<string, string[]>;

const STYLE: StylesheetJson = [
  {
    selector: "node",
    style: {
      shape: "round-rectangle",
      width: 52,
      height: 30,
      "background-color": "#ffffff",
      "background-image": "data(icon)",
      "background-fit": "none",
      "background-clip": "none",
      "border-width": 1.5,
      "border-color": "#78909c",
      label: "data(label)",
      "font-family": "DejaVu Sans, Arial, sans-serif",
      "font-size": 11,
      color: "#1c2833",
      "text-valign": "bottom",
      "text-margin-y": 4,
      "text-wrap": "ellipsis",
      "text-max-width": "130px",
      "text-background-color": "#ffffff",
      "text-background-opacity": 0.75,
      "text-background-padding": "1px",
    },
  },
  { selector: "node.down", style: { "background-color": "#e53935", "border-color": "#b71c1c", color: "#b71c1c" } },
  {
    selector: "node.group.folded, node.aggregate.folded",
    style: {
      width: 150,
      height: 46,
      "background-color": "#e8eef7",
      "background-image": "none",
      "border-color": "#5c7fa8",
      "border-width": 2,
      "text-valign": "center",
      "text-halign": "center",
      "text-margin-y": 0,
      "text-wrap": "wrap",
      "text-max-width": "140px",
      "text-background-opacity": 0,
      "font-size": 11,
      "font-weight": "bold",
      color: "#1c2833",
    },
  },
  { selector: "node.aggregate.folded", style: { "border-style": "double", "border-width": 4, "background-color": "#f4f1fa", "border-color": "#7e57c2" } },
  { selector: "node.folded.has-down", style: { "border-color": "#e53935", "border-width": 4, color: "#b71c1c" } },
  { selector: "node.folded.all-down", style: { "background-color": "#ffcdd2" } },
  {
    selector: "node:parent",
    style: {
      shape: "round-rectangle",
      "background-color": "#f5f7fa",
      "background-opacity": 0.9,
      "background-image": "none",
      "border-color": "#90a4ae",
      "border-style": "dashed",
      "border-width": 1.5,
      "text-valign": "top",
      "text-halign": "center",
      "text-margin-y": -4,
      "font-weight": "bold",
      "font-size": 12,
      padding: "16px",
    },
  },
  { selector: "node.group.t-cluster:parent", style: { "background-color": "#fbfcfd", "border-style": "solid" } },
  { selector: "node.aggregate:parent", style: { "background-color": "#f7f4fb", "border-color": "#7e57c2" } },
  {
    selector: "edge",
    style: {
      width: 1.5,
      "line-color": "#9aa7b0",
      "curve-style": "bezier",
      "target-arrow-shape": "triangle",
      "target-arrow-color": "#9aa7b0",
      "arrow-scale": 0.8,
      label: "data(label)",
      "font-size": 9,
      color: "#455a64",
      "text-background-color": "#ffffff",
      "text-background-opacity": 0.8,
    },
  },
  { selector: "edge.r-ownership", style: { "line-color": "#c5ccd1", "target-arrow-color": "#c5ccd1" } },
  { selector: "edge.r-networkpolicy", style: { "line-color": "#2e7d32", "target-arrow-color": "#2e7d32", width: 2 } },
  { selector: "edge.deny", style: { "line-color": "#c62828", "target-arrow-color": "#c62828", "line-style": "dashed" } },
  { selector: "edge.r-service", style: { "line-color": "#1565c0", "target-arrow-color": "#1565c0" } },
  { selector: "edge.r-node", style: { opacity: 0.18 } },
  { selector: "edge.r-pod", style: { "line-color": "#6d4c41", "target-arrow-color": "#6d4c41" } },
  {
    selector: ".highlight",
    style: { "underlay-color": "#ffb300", "underlay-opacity": 0.55, "underlay-padding": 7 },
  },
  { selector: "node.highlight", style: { "border-color": "#ff8f00", "border-width": 3 } },
  { selector: "edge.highlight", style: { "line-color": "#ff8f00", "target-arrow-color": "#ff8f00", width: 3 } },
  {
    selector: ".rootcause",
    style: { "underlay-color": "#b71c1c", "underlay-opacity": 0.35, "underlay-padding": 8 },
  },
  { selector: "node.rootcause", style: { "border-color": "#7f0000", "border-width": 4 } },
  { selector: "edge.rootcause", style: { "line-color": "#b71c1c", "target-arrow-color": "#b71c1c", width: 4 } },
  { selector: ".selected", style: { "overlay-color": "#1e88e5", "overlay-opacity": 0.18, "overlay-padding": 6 } },
  { selector: "node.selected", style: { "border-color": "#1e88e5", "border-width": 3 } },
  { selector: "node:parent.selected", style: { "overlay-opacity": 0.05 } },
  { selector: ".diff-added", style: { "underlay-color": "#2e7d32", "underlay-opacity": 0.5, "underlay-padding": 7 } },
  { selector: "node.diff-added", style: { "border-color": "#2e7d32", "border-width": 3 } },
  { selector: ".diff-removed", style: { opacity: 0.45, "border-style": "dashed", "line-style": "dashed" } },
  { selector: ".diff-changed", style: { "underlay-color": "#ef6c00", "underlay-opacity": 0.5, "underlay-padding": 7 } },
  { selector: "node.diff-changed", style: { "border-color": "#ef6c00", "border-width": 3 } },
  { selector: ".faded", style: { opacity: 0.25 } },
];

function nodeClasses(n: RNode): string[] {
  const out = [n.kind, `t-${n.type}`];
  if (n.kind !== "element" && !n.compound) out.push("folded");
  if (n.kind === "element" && n.down > 0) out.push("down");
  if (n.kind !== "element" && !n.compound) {
    if (n.down > 0) out.push("has-down");
    if (n.kind === "aggregate" && n.down > 0 && n.down === n.members.length) out.push("all-down");
  }
  if (n.kind === "group" && n.compound && n.down > 0) out.push("down-self");
  return out;
}

function edgeLabel(e: REdge): string {
  return e.members.length > 1 ? `×${e.members.length}` : "";
}

export class GraphCanvas {
  readonly cy: Core;
  private layoutRunning = false;
  private pendingFit = false;
  /** Bumped after each finished layout (tests wait on it). */
  layouts = 0;

  constructor(container: HTMLElement, taps: Taps) {
    this.cy = cytoscape({
      container,
      style: STYLE,
      minZoom: 0.05,
      maxZoom: 4,
      wheelSensitivity: 0.3,
      boxSelectionEnabled: false,
      autoungrabify: false,
    });
    this.cy.on("tap", "node, edge", (ev: EventObject) => {
      taps.onTap(ev.target.id() as string, ev.target.isNode() ? "nodes" : "edges");
    });
    this.cy.on("dbltap", "node", (ev: EventObject) => taps.onDoubleTap(ev.target.id() as string));
    this.cy.on("tap", (ev: EventObject) => {
      if (ev.target === this.cy) taps.onBackground();
    });
  }

  /**
   * Makes the canvas show `model` with `deco`; `extraEdge(e)` adds classes per edge
   * (network-policy allow/deny). `fit`: zoom to the whole picture after the layout.
   */
  render(
    model: RenderModel,
    deco: Decorations,
    extraEdge: (e: REdge) => string[],
    opts: { fit: boolean; relayout?: boolean },
  ): void {
    const cy = this.cy;
    let structural = opts.relayout ?? false;
    let added = 0;
    const wanted = new Set<string>([...model.nodes.keys(), ...model.edges.keys()]);
    cy.batch(() => {
      // Remove what is gone (edges first: removing a node removes its edges anyway).
      cy.elements().forEach((ele) => {
        if (!wanted.has(ele.id())) {
          if (ele.isNode()) structural = true;
          ele.remove();
        }
      });
      // Nodes, parents before children.
      const order = orderParentsFirst(model);
      const adds: ElementDefinition[] = [];
      for (const n of order) {
        const data = {
          id: n.id,
          parent: n.parent ?? undefined,
          label: n.label,
          icon: n.kind === "element" ? icon(n.type, n.down > 0) : "none",
          kind: n.kind,
          type: n.type,
          members: n.members.length,
          down: n.down,
        };
        const classes = [...nodeClasses(n), ...(deco.get(n.id) ?? [])].join(" ");
        const existing = cy.getElementById(n.id);
        if (existing.nonempty()) {
          const parent = existing.parent();
          const currentParent = parent.nonempty() ? (parent[0].id() as string) : null;
          if ((n.parent ?? null) !== currentParent) {
            existing.move({ parent: n.parent ?? null });
            structural = true;
          }
          existing.data({ label: data.label, icon: data.icon, members: data.members, down: data.down });
          existing.classes(classes);
        } else {
          structural = true;
          added += 1;
          const near = n.parent ? cy.getElementById(n.parent) : null;
          const pos = near && near.nonempty() ? near.position() : { x: 0, y: 0 };
          cy.add({
            group: "nodes",
            data,
            classes,
            position: { x: pos.x + (Math.random() - 0.5) * 40, y: pos.y + (Math.random() - 0.5) * 40 },
          });
        }
      }
      for (const e of model.edges.values()) {
        const classes = [`r-${e.relation}`, ...extraEdge(e), ...(deco.get(e.id) ?? [])].join(" ");
        const existing = cy.getElementById(e.id);
        if (existing.nonempty()) {
          existing.data({ label: edgeLabel(e) });
          existing.classes(classes);
        } else {
          adds.push({
            group: "edges",
            data: { id: e.id, source: e.source, target: e.target, relation: e.relation, label: edgeLabel(e) },
            classes,
          });
        }
      }
      if (adds.length) cy.add(adds);
    });
    // What the user asked for (expand, fold, filter: `fit`) or a picture mostly new is laid
    // out from scratch; a live change starts from where things are, so nothing jumps.
    if (structural) this.layout(opts.fit, opts.fit || added * 3 > cy.nodes().length);
    else if (opts.fit) this.fit();
  }

  layout(fit: boolean, randomize = true): void {
    if (this.layoutRunning) {
      this.pendingFit ||= fit;
      return;
    }
    const nodes = this.cy.nodes().length;
    if (nodes === 0) {
      this.layouts += 1;
      return;
    }
    this.layoutRunning = true;
    const layout = this.cy.layout({
      name: "fcose",
      // "draft" only from scratch: fcose's draft mode fails on incremental layouts.
      quality: nodes > 600 && randomize ? "draft" : "default",
      randomize,
      animate: false,
      fit: false,
      nodeDimensionsIncludeLabels: true,
      packComponents: true,
      tile: true,
      nodeRepulsion: () => 9000,
      idealEdgeLength: () => 70,
      edgeElasticity: () => 0.45,
      nestingFactor: 0.1,
      gravity: 0.3,
      numIter: 2500,
    } as cytoscape.LayoutOptions);
    layout.one("layoutstop", () => {
      this.layoutRunning = false;
      if (fit || this.pendingFit) this.fit();
      this.pendingFit = false;
      this.layouts += 1;
    });
    layout.run();
  }

  fit(): void {
    this.cy.fit(undefined, 30);
    if (this.cy.zoom() > 1.6) {
      this.cy.zoom(1.6);
      this.cy.center();
    }
  }

  /** Where a drawn node is on the page (for tests and for scrolling it into view). */
  pagePosition(id: string): { x: number; y: number } | null {
    const n = this.cy.getElementById(id);
    if (n.empty()) return null;
    const box = this.cy.container()!.getBoundingClientRect();
    const p = n.renderedPosition();
    return { x: box.left + p.x, y: box.top + p.y };
  }
}

function orderParentsFirst(model: RenderModel): RNode[] {
  const out: RNode[] = [];
  const done = new Set<string>();
  const visit = (n: RNode): void => {
    if (done.has(n.id)) return;
    done.add(n.id);
    const p = n.parent ? model.nodes.get(n.parent) : undefined;
    if (p) visit(p);
    out.push(n);
  };
  for (const n of model.nodes.values()) visit(n);
  return out;
}
