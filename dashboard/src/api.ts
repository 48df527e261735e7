// The gateway's HTTP API as the dashboard uses it (same origin).
//
// Flows in: Gremlin text, times (epoch seconds), pod references. Flows out: Skydive-shaped
// elements, the reachability verdict. Errors: ApiError with the gateway's message (a bad
// query is a 400 that says where and what was expected).
//
// A token (when the gateway has tokens configured) comes from the page's `#token=...` or
// an earlier visit (localStorage); fetches send it as a bearer header, the EventSource as
// the `access_token` query parameter (EventSource cannot set headers).

import { type Element, type GEdge, type GNode, Graph } from "./model";

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

const TOKEN_KEY = "topolog.token";

export function token(): string | null {
  try {
    return localStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

export function setToken(value: string | null): void {
  try {
    if (value) localStorage.setItem(TOKEN_KEY, value);
    else localStorage.removeItem(TOKEN_KEY);
  } catch {
    // private mode: the token lives for this page only
  }
}

function headers(): Record<string, string> {
  const out: Record<string, string> = { "Content-Type": "application/json" };
  const t = token();
  if (t) out.Authorization = `Bearer ${t}`;
  return out;
}

async function json<T>(resp: Response): Promise<T> {
  if (!resp.ok) {
    let message = `${resp.status} ${resp.statusText}`;
    try {
      const body = (await resp.json()) as { detail?: unknown; error?: unknown };
      const detail = body.detail ?? body.error;
      if (detail !== undefined) message = typeof detail === "string" ? detail : JSON.stringify(detail);
    } catch {
      // not JSON: keep the status line
    }
    throw new ApiError(message, resp.status);
  }
  return (await resp.json()) as T;
}

/** `POST /api/topology`: the raw answer (an array for V()/E(), a number for Count()). */
export async function query(gremlin: string): Promise<unknown> {
  const resp = await fetch("api/topology", {
    method: "POST",
    headers: headers(),
    body: JSON.stringify({ GremlinQuery: gremlin }),
  });
  return json<unknown>(resp);
}

/** A query that must answer elements (nodes or edges). */
export async function elements(gremlin: string): Promise<Element[]> {
  const out = await query(gremlin);
  if (!Array.isArray(out)) throw new ApiError("the query does not answer graph elements", 400);
  return out.filter((e): e is Element => !!e && typeof e === "object" && "ID" in e);
}

/** The whole graph now (`GET /api/topology`). */
export async function topology(): Promise<Graph> {
  const resp = await fetch("api/topology", { headers: headers() });
  const body = await json<{ Nodes: GNode[] | null; Edges: GEdge[] | null }>(resp);
  return Graph.of(body.Nodes ?? [], body.Edges ?? []);
}

/** The whole graph at `t` (epoch seconds), through `G.At(t)`. */
export async function topologyAt(t: number): Promise<Graph> {
  const at = atSeconds(t);
  const [nodes, edges] = await Promise.all([
    elements(`G.At(${at}).V()`),
    elements(`G.At(${at}).E()`),
  ]);
  return Graph.ofElements([...nodes, ...edges]);
}

export function atSeconds(t: number): string {
  return (Math.round(t * 1000) / 1000).toString();
}

/**
 * `text` evaluated at `t` (null = now): `G.` becomes `G.At(t).` unless the query
 * already travels in time itself.
 */
export function travel(text: string, t: number | null): string {
  const q = text.trim();
  if (t === null || /^g\s*\.\s*(at|context)\s*\(/i.test(q)) return q;
  return q.replace(/^g\s*\./i, `G.At(${atSeconds(t)}).`);
}

export interface ReachSide {
  allowed: boolean;
  isolated: boolean;
  isolating: string[];
  allowing: string[];
}

export interface ReachVerdict {
  from: string;
  to: string;
  port: number;
  protocol: string;
  allowed: boolean;
  egress: ReachSide;
  ingress: ReachSide;
  unresolved?: string[];
}

/** `GET /api/v1/reach`: can pod `from` (ns/name) open `protocol`/`port` to pod `to`? */
export async function reach(args: {
  from: string;
  to: string;
  port: number;
  protocol: string;
  at: number | null;
}): Promise<ReachVerdict> {
  const params = new URLSearchParams({
    from: args.from,
    to: args.to,
    port: String(args.port),
    protocol: args.protocol,
  });
  if (args.at !== null) params.set("at", atSeconds(args.at));
  const resp = await fetch(`api/v1/reach?${params}`, { headers: headers() });
  return json<ReachVerdict>(resp);
}

/** The stream URL, with the filter and the token as query parameters. */
export function streamUrl(filter: string | null): string {
  const params = new URLSearchParams();
  if (filter) params.set("filter", filter);
  const t = token();
  if (t) params.set("access_token", t);
  const qs = params.toString();
  return qs ? `api/v1/stream?${qs}` : "api/v1/stream";
}
