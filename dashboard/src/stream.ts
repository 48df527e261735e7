// The live feed: `GET /api/v1/stream` as Server-Sent Events, applied to a Graph.
//
// Flows in: the gateway's events — `Sync` ({Nodes, Edges, Revision}: the whole view),
// `NodeAdded|NodeUpdated|NodeDeleted|EdgeAdded|EdgeUpdated|EdgeDeleted` (one element),
// `Alert` (a state change; the node event carries it too) and `Resync` (the client fell
// behind or its point in the feed was trimmed: start over).
// Flows out: calls to `onSync(graph)` and `onChange(graph)` after each applied event.
//
// Resuming: every event has an id; after a dropped connection the browser's EventSource
// reconnects by itself and sends `Last-Event-ID`, and the gateway continues right after
// it, with no gap and no duplicate. A `Resync` (or an error the EventSource gives up on)
// opens a fresh stream, which starts with a `Sync`.

import { streamUrl } from "./api";
import { type GEdge, type GNode, Graph } from "./model";

export type StreamStatus = "connecting" | "live" | "reconnecting";

export interface StreamHandlers {
  onSync(graph: Graph): void;
  onChange(graph: Graph, kind: string, id: string): void;
  onStatus(status: StreamStatus): void;
}

const CHANGES = ["NodeAdded", "NodeUpdated", "NodeDeleted", "EdgeAdded", "EdgeUpdated", "EdgeDeleted"];

/** Applies one change event to `g`; true when it was one. */
export function applyEvent(g: Graph, kind: string, data: GNode | GEdge): boolean {
  switch (kind) {
    case "NodeAdded":
    case "NodeUpdated":
      g.putNode(data);
      return true;
    case "NodeDeleted":
      g.dropNode(data.ID);
      return true;
    case "EdgeAdded":
    case "EdgeUpdated":
      g.putEdge(data as GEdge);
      return true;
    case "EdgeDeleted":
      g.dropEdge(data.ID);
      return true;
    default:
      return false;
  }
}

export class LiveStream {
  private source: EventSource | null = null;
  private graph = new Graph();
  private retry: number | undefined;
  lastEventId = "";
  /** Whole-graph syncs received (1 after a resumed drop; more after each restart). */
  syncs = 0;

  constructor(private readonly handlers: StreamHandlers) {}

  get current(): Graph {
    return this.graph;
  }

  start(): void {
    this.stop();
    this.handlers.onStatus("connecting");
    const source = new EventSource(streamUrl(null));
    this.source = source;
    source.onopen = () => this.handlers.onStatus("live");
    source.onerror = () => {
      if (source.readyState === EventSource.CLOSED) {
        // The browser gave up (an HTTP error such as 410): start over in a moment.
        this.handlers.onStatus("reconnecting");
        this.retry = window.setTimeout(() => this.start(), 2000);
      } else {
        // It reconnects by itself, with Last-Event-ID.
        this.handlers.onStatus("reconnecting");
      }
    };
    source.addEventListener("Sync", (ev) => {
      const msg = ev as MessageEvent<string>;
      this.lastEventId = msg.lastEventId;
      const body = JSON.parse(msg.data) as { Nodes?: GNode[]; Edges?: GEdge[] };
      this.graph = Graph.of(body.Nodes ?? [], body.Edges ?? []);
      this.syncs += 1;
      this.handlers.onStatus("live");
      this.handlers.onSync(this.graph);
    });
    for (const kind of CHANGES) {
      source.addEventListener(kind, (ev) => {
        const msg = ev as MessageEvent<string>;
        this.lastEventId = msg.lastEventId;
        const data = JSON.parse(msg.data) as GNode | GEdge;
        if (applyEvent(this.graph, kind, data)) this.handlers.onChange(this.graph, kind, data.ID);
      });
    }
    source.addEventListener("Resync", () => this.start());
  }

  stop(): void {
    window.clearTimeout(this.retry);
    this.source?.close();
    this.source = null;
  }
}
