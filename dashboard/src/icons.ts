// Node faces: a short kind name drawn inside each node (an SVG data URI per kind/state).

const SHORT: Record<string, string> = {
  cluster: "cluster",
  namespace: "ns",
  pod: "pod",
  container: "ctr",
  deployment: "deploy",
  replicaset: "rs",
  statefulset: "sts",
  daemonset: "ds",
  job: "job",
  cronjob: "cron",
  replicationcontroller: "rc",
  service: "svc",
  endpoints: "ep",
  endpointslice: "eps",
  ingress: "ing",
  configmap: "cm",
  secret: "secret",
  serviceaccount: "sa",
  persistentvolumeclaim: "pvc",
  persistentvolume: "pv",
  storageclass: "sc",
  networkpolicy: "netpol",
  node: "node",
  horizontalpodautoscaler: "hpa",
};

export function shortKind(type: string): string {
  return SHORT[type] ?? (type.length > 7 ? type.slice(0, 6) : type || "?");
}

const cache = new Map<string, string>();

/** An SVG data URI with the kind's short name; white text on a DOWN (red) node. */
export function icon(type: string, down: boolean): string {
  const key = `${type}|${down}`;
  let uri = cache.get(key);
  if (!uri) {
    const text = shortKind(type);
    const size = text.length > 5 ? 10 : 12;
    const fill = down ? "#ffffff" : "#263238";
    const svg =
      `<svg xmlns="http://www.w3.org/2000/svg" width="52" height="30">` +
      `<text x="26" y="19.5" font-family="DejaVu Sans, Arial, sans-serif" font-size="${size}" ` +
      `font-weight="bold" text-anchor="middle" fill="${fill}">${text}</text></svg>`;
    uri = `data:image/svg+xml;utf8,${encodeURIComponent(svg)}`;
    cache.set(key, uri);
  }
  return uri;
}
