// The dashboard: wires the live stream, the queries, time travel and the side panel to
// the canvas.
//
// Flows in: the gateway (SSE stream, Gremlin queries, reachability) and the user's
// clicks and inputs; the page address (`#filter=…&highlight=…&at=…&expand=all`).
// Flows out: the drawing (view.ts) and the side panel. `window.topolog` is this App,
// for the browser tests and for poking at it from the console.

import { DEFAULTS, type REdge, type RenderModel, VIRTUAL_CLUSTER, aggregate, membersOf } from "./aggregate";
import * as api from "./api";
import { type GraphDiff, diffGraphs } from "./diff";
import { $, fmtTime, fromLocalInput, h, input, toLocalInput } from "./dom";
import {
  type GEdge,
  type GNode,
  Graph,
  isDown,
  k8s,
  labelsOf,
  nameOf,
  namespaceOf,
  relationOf,
  rootCauseOf,
  typeOf,
} from "./model";
import { type Chain, rootCauseChain } from "./rootcause";
import { LiveStream, type StreamStatus } from "./stream";
import { type Decorations, GraphCanvas } from "./view";

type Mode =
  | { kind: "live" }
  | { kind: "at"; t: number }
  | { kind: "replay"; t0: number; t1: number; t: number }
  | { kind: "diff"; t0: number; t1: number };

/** Presets the Filter and Highlight boxes accept by name (Skydive's names). */
export const PRESETS: Record<string, string[]> = {
  "k8s network": [
    "G.V().Has('Type', 'networkpolicy')",
    "G.V().Has('Type', 'networkpolicy').Both().Has('Type', 'pod')",
  ],
  "k8s storage": [
    "G.V().Has('Type', Within('persistentvolumeclaim', 'persistentvolume', 'storageclass'))",
    "G.V().Has('Type', 'persistentvolumeclaim').In().Has('Type', 'pod')",
  ],
};

const AUTO_EXPAND_MAX = 300;

class App {
  mode: Mode = { kind: "live" };
  graph = new Graph();
  readonly live: LiveStream;
  readonly canvas: GraphCanvas;
  expanded = new Set<string>();
  filterText = "";
  filterIds: Set<string> | null = null;
  highlightText = "";
  highlightIds = new Set<string>();
  reachIds = new Set<string>();
  selected: string | null = null;
  chain: Chain | null = null;
  diff: GraphDiff | null = null;
  showContainers = false;
  model: RenderModel = { nodes: new Map(), edges: new Map(), repOf: new Map() };
  synced = false;
  renders = 0;
  /** The folding limits (aggregate.ts), readable by tests. */
  readonly limits = DEFAULTS;
  private renderTimer: number | undefined;
  private queryTimer: number | undefined;
  private replayToken = 0;

  constructor() {
    this.canvas = new GraphCanvas($("cy"), {
      onTap: (id, group) => this.tap(id, group),
      onDoubleTap: (id) => this.fold(id),
      onBackground: () => this.select(null),
    });
    this.live = new LiveStream({
      onSync: (g) => this.liveSynced(g),
      onChange: () => this.liveChanged(),
      onStatus: (s) => this.streamStatus(s),
    });
    this.wire();
  }

  // -- startup ----------------------------------------------------------------------

  start(): void {
    const hash = new URLSearchParams(location.hash.slice(1));
    const token = hash.get("token");
    if (token) {
      api.setToken(token);
      hash.delete("token");
      history.replaceState(null, "", `#${hash}`);
    }
    this.filterText = hash.get("filter") ?? "";
    this.highlightText = hash.get("highlight") ?? "";
    input("filter").value = this.filterText;
    input("highlight").value = this.highlightText;
    this.pendingHash = hash;
    this.live.start();
    // A gateway without the stream (or a proxy that buffers it) still shows the graph.
    window.setTimeout(() => {
      if (!this.synced) void api.topology().then((g) => this.liveSynced(g), (e) => this.fail(e));
    }, 4000);
    window.setInterval(() => this.tick(), 1000);
    this.tick();
  }

  private pendingHash: URLSearchParams | null = null;

  private liveSynced(g: Graph): void {
    const first = !this.synced;
    this.synced = true;
    if (this.mode.kind === "live") this.graph = g;
    if (first) {
      for (const n of g.nodes.values()) if (typeOf(n) === "cluster") this.expanded.add(n.ID);
      this.expanded.add(VIRTUAL_CLUSTER);
      void this.applyHash();
      return;
    }
    if (this.mode.kind === "live") {
      this.scheduleQueries();
      this.render({ fit: false });
    }
  }

  private async applyHash(): Promise<void> {
    const hash = this.pendingHash ?? new URLSearchParams();
    this.pendingHash = null;
    if (hash.get("expand") === "all") this.expandAll(false);
    if (hash.get("containers") === "1") {
      this.showContainers = true;
      input("containers").checked = true;
    }
    const at = Number(hash.get("at"));
    if (hash.get("at") && Number.isFinite(at)) {
      await this.goAt(at);
    } else {
      await this.refreshQueries(true);
      this.render({ fit: true });
    }
    const sel = hash.get("select");
    if (sel) this.selectGraphNode(this.findByRef(sel) ?? sel);
  }

  // -- live -------------------------------------------------------------------------

  private liveChanged(): void {
    if (this.mode.kind !== "live") return;
    this.graph = this.live.current;
    this.scheduleQueries();
    window.clearTimeout(this.renderTimer);
    this.renderTimer = window.setTimeout(() => this.render({ fit: false }), 60);
  }

  private streamStatus(s: StreamStatus): void {
    document.body.dataset.stream = s;
    $("conn").textContent = `● ${s}`;
  }

  private scheduleQueries(): void {
    if (!this.filterText && !this.highlightText) return;
    window.clearTimeout(this.queryTimer);
    this.queryTimer = window.setTimeout(() => {
      void this.refreshQueries(false).then(() => this.render({ fit: false }));
    }, 250);
  }

  // -- queries ----------------------------------------------------------------------

  /** The ids a Filter/Highlight text selects (nodes, and the ends of edges it returns). */
  async select_ids(text: string): Promise<Set<string>> {
    const queries = PRESETS[text.trim().toLowerCase()] ?? [text];
    const times: (number | null)[] =
      this.mode.kind === "live"
        ? [null]
        : this.mode.kind === "diff"
          ? [this.mode.t0, this.mode.t1]
          : [this.mode.t];
    const out = new Set<string>();
    const answers = await Promise.all(
      queries.flatMap((q) => times.map((t) => api.elements(api.travel(q, t)))),
    );
    for (const elements of answers) {
      for (const e of elements) {
        out.add(e.ID);
        const edge = e as GEdge;
        if (typeof edge.Parent === "string") {
          out.add(edge.Parent);
          out.add(edge.Child);
        }
      }
    }
    return out;
  }

  /** Re-runs Filter and Highlight against the current mode's graph. */
  async refreshQueries(expand: boolean): Promise<void> {
    try {
      this.filterIds = this.filterText ? await this.select_ids(this.filterText) : null;
      this.highlightIds = this.highlightText ? await this.select_ids(this.highlightText) : new Set();
      this.clearError();
    } catch (e) {
      this.fail(e);
    }
    if (expand && this.filterIds && this.filterIds.size <= AUTO_EXPAND_MAX) {
      this.revealGroups(this.filterIds);
    }
  }

  async applyFilter(text: string): Promise<void> {
    this.filterText = text.trim();
    this.saveHash();
    await this.refreshQueries(true);
    this.render({ fit: true });
  }

  async applyHighlight(text: string): Promise<void> {
    this.highlightText = text.trim();
    this.saveHash();
    await this.refreshQueries(false);
    this.render({ fit: false });
  }

  // -- time travel ------------------------------------------------------------------

  async goAt(t: number): Promise<void> {
    this.stopReplay();
    this.mode = { kind: "at", t };
    this.diff = null;
    try {
      this.graph = await api.topologyAt(t);
      this.clearError();
    } catch (e) {
      this.fail(e);
    }
    await this.refreshQueries(false);
    this.saveHash();
    this.tick();
    this.render({ fit: true });
  }

  goLive(): void {
    this.stopReplay();
    this.mode = { kind: "live" };
    this.diff = null;
    this.graph = this.live.current;
    this.saveHash();
    this.tick();
    void this.refreshQueries(false).then(() => this.render({ fit: true }));
  }

  async replay(t0: number, t1: number, frames = 30): Promise<void> {
    const token = ++this.replayToken;
    $("replay").textContent = "⏸ Pause";
    this.diff = null;
    for (let i = 0; i <= frames && token === this.replayToken; i++) {
      const t = t0 + ((t1 - t0) * i) / frames;
      this.mode = { kind: "replay", t0, t1, t };
      try {
        const g = await api.topologyAt(t);
        if (token !== this.replayToken) break;
        this.graph = g;
        await this.refreshQueries(false);
      } catch (e) {
        this.fail(e);
        break;
      }
      this.tick();
      this.render({ fit: i === 0 });
      await new Promise((r) => window.setTimeout(r, Number((input("speed") as unknown as HTMLSelectElement).value)));
    }
    if (token === this.replayToken) {
      $("replay").textContent = "▶ Replay";
      if (this.mode.kind === "replay") this.mode = { kind: "at", t: this.mode.t };
      this.tick();
    }
  }

  stopReplay(): void {
    this.replayToken += 1;
    $("replay").textContent = "▶ Replay";
  }

  async showDiff(t0: number, t1: number): Promise<void> {
    this.stopReplay();
    try {
      const [before, after] = await Promise.all([api.topologyAt(t0), api.topologyAt(t1)]);
      this.diff = diffGraphs(before, after);
      this.mode = { kind: "diff", t0, t1 };
      this.graph = this.diff.union;
      this.clearError();
    } catch (e) {
      this.fail(e);
      return;
    }
    await this.refreshQueries(false);
    const changed = [...this.diff.status.keys()].filter((id) => this.graph.nodes.has(id));
    if (changed.length <= AUTO_EXPAND_MAX) this.revealGroups(new Set(changed));
    this.tick();
    this.render({ fit: true });
    this.showDiffSummary();
  }

  private tick(): void {
    const now = Date.now() / 1000;
    const clock = $("clock");
    const slider = input("slider");
    const lo = this.earliest(now);
    slider.min = String(Math.floor(lo));
    slider.max = String(Math.ceil(now));
    const m = this.mode;
    document.body.dataset.mode = m.kind;
    $("live").classList.toggle("on", m.kind === "live");
    if (m.kind === "live") {
      clock.textContent = `live · ${fmtTime(now * 1000)}`;
      slider.value = slider.max;
    } else if (m.kind === "diff") {
      clock.textContent = `diff ${fmtTime(m.t0 * 1000)} → ${fmtTime(m.t1 * 1000)}`;
    } else {
      clock.textContent = `${m.kind === "replay" ? "replay" : "at"} ${fmtTime(m.t * 1000)}`;
      slider.value = String(Math.round(m.t));
    }
    if (!input("t0").value) input("t0").value = toLocalInput(lo);
  }

  /** The slider's left end: the oldest creation time in the live graph (an hour at least). */
  private earliest(now: number): number {
    let lo = now - 3600;
    for (const n of this.live.current.nodes.values()) {
      if (n.CreatedAt && n.CreatedAt / 1000 < lo) lo = n.CreatedAt / 1000;
    }
    return lo;
  }

  // -- expansion and selection ------------------------------------------------------

  /** Expands the groups (and aggregates) hiding these graph nodes, until each is drawn. */
  reveal(ids: Iterable<string>): void {
    const list = [...ids];
    for (let round = 0; round < 5; round++) {
      const model = this.build();
      let changed = false;
      for (const id of list) {
        const rep = model.repOf.get(id);
        if (rep && rep !== id && !this.expanded.has(rep)) {
          this.expanded.add(rep);
          changed = true;
        }
      }
      if (!changed) return;
    }
  }

  /** Expands the clusters and namespaces holding these nodes (not the aggregates). */
  revealGroups(ids: Set<string>): void {
    for (const id of ids) {
      const n = this.graph.nodes.get(id);
      if (!n) continue;
      const ns = namespaceOf(n);
      if (ns) {
        const nsNode = [...this.graph.nodes.values()].find((x) => typeOf(x) === "namespace" && nameOf(x) === ns);
        if (nsNode) this.expanded.add(nsNode.ID);
      }
    }
    for (const n of this.graph.nodes.values()) if (typeOf(n) === "cluster") this.expanded.add(n.ID);
  }

  expandAll(render = true): void {
    for (const n of this.graph.nodes.values()) {
      const t = typeOf(n);
      if (t === "cluster" || t === "namespace") this.expanded.add(n.ID);
    }
    this.expanded.add(VIRTUAL_CLUSTER);
    for (const id of this.build().nodes.keys()) if (id.startsWith("ns:")) this.expanded.add(id);
    if (render) this.render({ fit: true });
  }

  collapseAll(): void {
    this.expanded = new Set(
      [...this.graph.nodes.values()].filter((n) => typeOf(n) === "cluster").map((n) => n.ID),
    );
    this.expanded.add(VIRTUAL_CLUSTER);
    this.render({ fit: true });
  }

  private tap(id: string, group: "nodes" | "edges"): void {
    const r = this.model.nodes.get(id);
    if (group === "nodes" && r && r.kind !== "element" && !r.compound) {
      this.expanded.add(id);
      this.select(id, false);
      this.render({ fit: true });
      return;
    }
    this.select(id);
  }

  fold(id: string): void {
    const r = this.model.nodes.get(id);
    if (!r || !r.compound) return;
    this.expanded.delete(id);
    this.select(id, false);
    this.render({ fit: true });
  }

  select(id: string | null, render = true): void {
    this.selected = id;
    this.chain = null;
    const node = id ? this.graph.nodes.get(id) : undefined;
    if (node && isDown(node)) {
      this.chain = rootCauseChain(this.graph, node.ID);
      this.reveal(this.chain.nodes);
    }
    this.showDetails();
    if (render) this.render({ fit: false });
  }

  selectGraphNode(id: string): void {
    this.reveal([id]);
    const rep = this.build().repOf.get(id) ?? id;
    this.select(rep);
  }

  private findByRef(ref: string): string | null {
    const [ns, name] = ref.includes("/") ? ref.split("/", 2) : ["", ref];
    for (const n of this.graph.nodes.values()) {
      if (nameOf(n) === name && (!ns || namespaceOf(n) === ns)) return n.ID;
    }
    return null;
  }

  // -- drawing ----------------------------------------------------------------------

  build(): RenderModel {
    return aggregate(this.graph, {
      expanded: this.expanded,
      visible: this.filterIds,
      showContainers: this.showContainers,
      ...DEFAULTS,
    });
  }

  render(opts: { fit: boolean }): void {
    const model = this.build();
    this.model = model;
    const edgeRep = new Map<string, string>();
    for (const e of model.edges.values()) for (const m of e.members) edgeRep.set(m, e.id);
    const deco: Decorations = new Map();
    const mark = (graphId: string, cls: string): void => {
      const drawn = model.repOf.get(graphId) ?? edgeRep.get(graphId);
      if (!drawn) return;
      const list = deco.get(drawn) ?? [];
      if (!list.includes(cls)) list.push(cls);
      deco.set(drawn, list);
    };
    for (const id of this.highlightIds) mark(id, "highlight");
    for (const id of this.reachIds) mark(id, "highlight");
    if (this.chain) {
      for (const id of this.chain.nodes) mark(id, "rootcause");
      for (const id of this.chain.edges) mark(id, "rootcause");
    }
    if (this.diff) for (const [id, s] of this.diff.status) mark(id, `diff-${s}`);
    if (this.selected) {
      if (model.nodes.has(this.selected) || model.edges.has(this.selected)) {
        deco.set(this.selected, [...(deco.get(this.selected) ?? []), "selected"]);
      } else {
        mark(this.selected, "selected");
      }
    }
    this.canvas.render(model, deco, (e) => this.edgeClasses(e), opts);
    this.renders += 1;
  }

  private edgeClasses(e: REdge): string[] {
    if (e.relation !== "networkpolicy") return [];
    const members = membersOf(this.graph, e);
    return members.some((m) => m.Metadata.PolicyTarget === "deny") ? ["deny"] : [];
  }

  // -- side panel -------------------------------------------------------------------

  private link(id: string): HTMLElement {
    const n = this.graph.nodes.get(id);
    const label = n ? `${typeOf(n)} ${namespaceOf(n) ? `${namespaceOf(n)}/` : ""}${nameOf(n)}` : id;
    return h(
      "a",
      { class: "link", href: "#", onclick: (ev: Event) => (ev.preventDefault(), this.selectGraphNode(id)) },
      label,
    );
  }

  private edgeLink(e: GEdge): HTMLElement {
    return h(
      "a",
      { class: "link", href: "#", onclick: (ev: Event) => (ev.preventDefault(), this.selectEdge(e.ID)) },
      relationOf(e) || "edge",
    );
  }

  selectEdge(id: string): void {
    const e = this.graph.edges.get(id);
    if (!e) return;
    this.reveal([e.Parent, e.Child]);
    const model = this.build();
    const drawn = [...model.edges.values()].find((x) => x.members.includes(id));
    this.selected = drawn?.id ?? null;
    this.chain = null;
    this.showEdgeDetails([e]);
    this.render({ fit: false });
  }

  showDetails(): void {
    this.openTab("details");
    const box = $("details");
    box.replaceChildren();
    const id = this.selected;
    if (!id) {
      box.append(h("p", { class: "hint" }, "Click a node or an edge."));
      return;
    }
    const drawnEdge = this.model.edges.get(id) ?? this.build().edges.get(id);
    if (drawnEdge) {
      this.showEdgeDetails(membersOf(this.graph, drawnEdge));
      return;
    }
    const r = this.model.nodes.get(id) ?? this.build().nodes.get(id);
    const node = this.graph.nodes.get(id);
    if (r && r.kind === "aggregate") {
      box.append(h("h2", {}, r.label), h("div", { class: "kind" }, "aggregate"));
      box.append(this.memberList(r.members));
      box.append(
        h("button", { type: "button", onclick: () => (r.compound ? this.fold(id) : this.tap(id, "nodes")) }, r.compound ? "Fold" : "Expand"),
      );
      return;
    }
    if (!node) {
      box.append(h("h2", {}, r?.label ?? id));
      return;
    }
    this.nodeDetails(box, node, r?.kind === "group" ? r.compound : null);
  }

  private memberList(ids: string[]): HTMLElement {
    const ul = h("ul", { class: "rel" });
    for (const m of ids.slice(0, 300)) {
      const n = this.graph.nodes.get(m);
      ul.append(h("li", {}, this.link(m), n && isDown(n) ? h("span", { class: "tag down" }, "DOWN") : null));
    }
    if (ids.length > 300) ul.append(h("li", { class: "hint" }, `… and ${ids.length - 300} more`));
    return ul;
  }

  private nodeDetails(box: HTMLElement, node: GNode, compound: boolean | null): void {
    const md = node.Metadata;
    const ns = namespaceOf(node);
    box.append(
      h("h2", {}, nameOf(node)),
      h("div", { class: "kind" }, `${typeOf(node)}${ns ? ` in ${ns}` : ""}`),
    );
    if (md.State !== undefined) {
      box.append(
        h(
          "div",
          {},
          h("span", { class: `state ${String(md.State)}` }, String(md.State)),
          md.StateReason ? ` ${String(md.StateReason)}` : "",
        ),
      );
    }
    if (compound !== null) {
      box.append(
        h(
          "p",
          {},
          h(
            "button",
            { type: "button", onclick: () => (compound ? this.fold(node.ID) : this.tap(node.ID, "nodes")) },
            compound ? "Fold" : "Expand",
          ),
        ),
      );
    }
    const causes = rootCauseOf(node);
    if (isDown(node)) {
      box.append(h("h3", {}, "Root cause"));
      if (causes.length === 0) box.append(h("div", {}, "itself"));
      else {
        const ul = h("ul", { class: "rel" });
        for (const c of causes) {
          const cn = this.graph.nodes.get(c);
          ul.append(h("li", {}, this.link(c), cn?.Metadata.StateReason ? ` — ${String(cn.Metadata.StateReason)}` : ""));
        }
        box.append(ul);
      }
      if (this.chain && this.chain.nodes.size > 1) {
        box.append(h("div", { class: "hint" }, `chain highlighted: ${this.chain.nodes.size} nodes`));
      }
    }
    const labels = labelsOf(node);
    if (Object.keys(labels).length) {
      box.append(h("h3", {}, "Labels"), table(Object.entries(labels)));
    }
    const fields: [string, string][] = [];
    for (const [k, v] of Object.entries(k8s(node))) {
      if (k === "Labels" || k === "Name" || k === "Namespace") continue;
      fields.push([k, short(v)]);
    }
    for (const [k, v] of Object.entries(md)) {
      if (["Type", "Name", "K8s", "State", "StateReason", "RootCause", "Manager"].includes(k)) continue;
      fields.push([k, short(v)]);
    }
    fields.push(["Created", fmtTime(node.CreatedAt)], ["Updated", fmtTime(node.UpdatedAt)]);
    if (node.DeletedAt) fields.push(["Deleted", fmtTime(node.DeletedAt)]);
    if (node.Revision !== undefined) fields.push(["Revision", String(node.Revision)]);
    box.append(h("h3", {}, "Fields"), table(fields));
    const rel = h("ul", { class: "rel" });
    for (const e of this.graph.out(node.ID)) rel.append(h("li", {}, "→ ", this.edgeLink(e), " → ", this.link(e.Child), policyTags(e)));
    for (const e of this.graph.in(node.ID)) rel.append(h("li", {}, "← ", this.edgeLink(e), " ← ", this.link(e.Parent), policyTags(e)));
    box.append(h("h3", {}, "Relations"), rel);
    box.append(h("details", {}, h("summary", {}, "raw"), h("pre", { class: "raw" }, JSON.stringify(node, null, 2))));
  }

  private showEdgeDetails(edges: GEdge[]): void {
    this.openTab("details");
    const box = $("details");
    box.replaceChildren();
    if (edges.length > 1) box.append(h("h2", {}, `${edges.length} edges`));
    for (const e of edges.slice(0, 100)) {
      box.append(
        h("h2", {}, relationOf(e) || "edge"),
        h("div", { class: "kind" }, this.link(e.Parent), " → ", this.link(e.Child)),
      );
      const md = e.Metadata;
      if (relationOf(e) === "networkpolicy") {
        box.append(
          h("h3", {}, "Network policy"),
          table([
            ["PolicyType", short(md.PolicyType)],
            ["PolicyTarget", short(md.PolicyTarget)],
            ["PolicyPoint", short(md.PolicyPoint)],
            ["PolicyPorts", short(md.PolicyPorts)],
          ]),
        );
      }
      const rest = Object.entries(md).filter(([k]) => !k.startsWith("Policy") && k !== "RelationType");
      if (rest.length) box.append(table(rest.map(([k, v]) => [k, short(v)])));
      box.append(h("details", {}, h("summary", {}, "raw"), h("pre", { class: "raw" }, JSON.stringify(e, null, 2))));
    }
  }

  private showDiffSummary(): void {
    if (!this.diff) return;
    this.openTab("details");
    const box = $("details");
    box.replaceChildren();
    const c = this.diff.counts;
    box.append(h("h2", {}, "Diff"), h("div", { class: "kind" }, `${c.added} added · ${c.removed} removed · ${c.changed} changed`));
    for (const status of ["added", "removed", "changed"] as const) {
      const ids = [...this.diff.status].filter(([id, s]) => s === status && this.graph.nodes.has(id)).map(([id]) => id);
      if (ids.length) box.append(h("h3", {}, status), this.memberList(ids));
    }
  }

  openTab(name: string): void {
    for (const b of document.querySelectorAll<HTMLButtonElement>(".tabs button")) {
      b.classList.toggle("active", b.dataset.tab === name);
    }
    for (const s of document.querySelectorAll<HTMLElement>(".tab")) s.hidden = s.id !== `tab-${name}`;
  }

  // -- reachability -----------------------------------------------------------------

  private podRef(id: string | null): string | null {
    const n = id ? this.graph.nodes.get(id) : undefined;
    return n && typeOf(n) === "pod" ? `${namespaceOf(n)}/${nameOf(n)}` : null;
  }

  private fillPods(): void {
    const list = $("pods");
    const refs = [...this.graph.nodes.values()]
      .filter((n) => typeOf(n) === "pod")
      .map((n) => `${namespaceOf(n)}/${nameOf(n)}`)
      .sort();
    list.replaceChildren(...refs.slice(0, 2000).map((r) => h("option", { value: r })));
  }

  async checkReach(): Promise<void> {
    const from = input("reach-from").value.trim();
    const to = input("reach-to").value.trim();
    const out = $("reach-result");
    out.replaceChildren();
    const at = this.mode.kind === "live" ? null : this.mode.kind === "diff" ? this.mode.t1 : this.mode.t;
    let v: api.ReachVerdict;
    try {
      v = await api.reach({ from, to, port: Number(input("reach-port").value) || 80, protocol: (input("reach-proto") as unknown as HTMLSelectElement).value, at });
    } catch (e) {
      out.append(h("div", { class: "verdict no" }, "error"), h("p", {}, String((e as Error).message)));
      return;
    }
    const unresolved = v.unresolved ?? [];
    out.append(
      h(
        "div",
        { class: `verdict ${v.allowed ? "yes" : "no"}` },
        v.allowed ? "✓ allowed" : unresolved.length ? "✗ denied (unless a named port matches)" : "✗ denied",
      ),
      h("p", {}, `${v.from} → ${v.to} on ${v.port}/${v.protocol}`),
    );
    const ids = new Set<string>();
    for (const ref of [v.from, v.to]) {
      const id = this.findByRef(ref);
      if (id) ids.add(id);
    }
    const side = (title: string, s: api.ReachSide): void => {
      out.append(h("h3", {}, `${title}: ${s.allowed ? "allows" : "denies"}`));
      if (!s.isolated) {
        out.append(h("div", { class: "hint" }, "no policy isolates it in this direction"));
        return;
      }
      const ul = h("ul", { class: "rel" });
      for (const p of s.isolating) {
        const allows = s.allowing.includes(p);
        const id = this.findPolicy(p);
        if (id) ids.add(id);
        ul.append(
          h("li", {}, id ? this.link(id) : p, " ", h("span", { class: `tag ${allows ? "allow" : "deny"}` }, allows ? "allows this" : "isolates, no matching rule")),
        );
      }
      out.append(ul);
    };
    side(`egress of ${v.from}`, v.egress);
    side(`ingress of ${v.to}`, v.ingress);
    if (unresolved.length) {
      out.append(
        h("p", { class: "hint" }, `named ports the graph cannot resolve (not counted): ${unresolved.join(", ")}`),
      );
    }
    this.reachIds = ids;
    this.reveal(ids);
    this.render({ fit: false });
  }

  private findPolicy(ref: string): string | null {
    const [ns, name] = ref.split("/", 2);
    for (const n of this.graph.nodes.values()) {
      if (typeOf(n) === "networkpolicy" && nameOf(n) === name && namespaceOf(n) === ns) return n.ID;
    }
    return null;
  }

  // -- plumbing ---------------------------------------------------------------------

  private saveHash(): void {
    const p = new URLSearchParams();
    if (this.filterText) p.set("filter", this.filterText);
    if (this.highlightText) p.set("highlight", this.highlightText);
    if (this.mode.kind === "at") p.set("at", api.atSeconds(this.mode.t));
    const s = p.toString();
    history.replaceState(null, "", s ? `#${s}` : location.pathname + location.search);
  }

  fail(e: unknown): void {
    const box = $("error");
    box.textContent = e instanceof Error ? e.message : String(e);
    box.hidden = false;
  }

  clearError(): void {
    $("error").hidden = true;
  }

  private wire(): void {
    $("filter-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      void this.applyFilter(input("filter").value);
    });
    $("highlight-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      void this.applyHighlight(input("highlight").value);
    });
    $("filter-clear").addEventListener("click", () => {
      input("filter").value = "";
      void this.applyFilter("");
    });
    $("highlight-clear").addEventListener("click", () => {
      input("highlight").value = "";
      void this.applyHighlight("");
    });
    $("expand-all").addEventListener("click", () => this.expandAll());
    $("collapse-all").addEventListener("click", () => this.collapseAll());
    $("fit").addEventListener("click", () => this.canvas.fit());
    input("containers").addEventListener("change", () => {
      this.showContainers = input("containers").checked;
      this.render({ fit: true });
    });
    for (const b of document.querySelectorAll<HTMLButtonElement>(".tabs button")) {
      b.addEventListener("click", () => {
        this.openTab(b.dataset.tab ?? "details");
        if (b.dataset.tab === "reach") this.fillPods();
      });
    }
    $("live").addEventListener("click", () => this.goLive());
    const slider = input("slider");
    slider.addEventListener("input", () => {
      $("clock").textContent = `at ${fmtTime(Number(slider.value) * 1000)}?`;
    });
    slider.addEventListener("change", () => {
      if (Number(slider.value) >= Number(slider.max) - 1) this.goLive();
      else void this.goAt(Number(slider.value));
    });
    input("at").addEventListener("change", () => {
      const t = fromLocalInput(input("at").value);
      if (Number.isFinite(t)) void this.goAt(t);
    });
    $("replay").addEventListener("click", () => {
      if ($("replay").textContent?.startsWith("⏸")) {
        this.stopReplay();
        return;
      }
      const [t0, t1] = this.window();
      void this.replay(t0, t1);
    });
    $("diff").addEventListener("click", () => {
      const [t0, t1] = this.window();
      void this.showDiff(t0, t1);
    });
    $("reach-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      void this.checkReach();
    });
    for (const [btn, field] of [["reach-from-sel", "reach-from"], ["reach-to-sel", "reach-to"]]) {
      $(btn).addEventListener("click", () => {
        const ref = this.podRef(this.selected);
        if (ref) input(field).value = ref;
      });
    }
    for (const field of ["reach-from", "reach-to"]) input(field).addEventListener("focus", () => this.fillPods());
  }

  /** The From/To window of replay and diff (To defaults to now). */
  private window(): [number, number] {
    const now = Date.now() / 1000;
    const t0 = fromLocalInput(input("t0").value);
    const t1 = fromLocalInput(input("t1").value);
    return [Number.isFinite(t0) ? t0 : now - 600, Number.isFinite(t1) ? t1 : now];
  }
}

function short(v: unknown): string {
  if (v === undefined || v === null) return "";
  if (typeof v === "string") return v;
  const s = JSON.stringify(v);
  return s.length > 400 ? `${s.slice(0, 400)}…` : s;
}

function table(rows: [string, string][]): HTMLElement {
  return h("table", { class: "kv" }, ...rows.map(([k, v]) => h("tr", {}, h("td", {}, k), h("td", {}, v))));
}

function policyTags(e: GEdge): HTMLElement | null {
  if (relationOf(e) !== "networkpolicy") return null;
  const md = e.Metadata;
  const target = String(md.PolicyTarget ?? "");
  return h(
    "span",
    {},
    " ",
    h("span", { class: `tag ${target === "deny" ? "deny" : "allow"}` }, target),
    h("span", { class: "tag" }, String(md.PolicyType ?? "")),
    h("span", { class: "tag" }, String(md.PolicyPoint ?? "")),
    md.PolicyPorts ? h("span", { class: "tag" }, String(md.PolicyPorts)) : null,
  );
}

declare global {
  interface Window {
    topolog: App;
  }
}

const app = new App();
window.topolog = app;
app.start();
