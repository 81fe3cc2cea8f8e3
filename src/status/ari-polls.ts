// What the issuer saw of its clients' ARI (RFC 9773) behaviour: when each certificate's
// renewalInfo was last fetched, and per node whether its ACME client polls at all. Clients that
// never poll (Caddy before 2.8, certbot, lego before 4.14) renew on their own schedule only, so
// `renew-now` cannot reach them. Pure data and functions; persistence is src/store/ari-polls.ts.

/** One certificate's (or one node's latest) renewalInfo fetches. */
export interface AriPoll {
  serial: string;
  node: string | null;
  /**
   * The account holding the certificate. renewalInfo is an unauthenticated GET (RFC 9773 §4.1), so
   * the fetcher itself is not identified: this is the account the fetch is attributed to.
   */
  accountId: string;
  firstAt: string;
  lastAt: string;
  count: number;
  /** The fetching client's User-Agent (RFC 8555 §6.1 asks clients to send one), if any. */
  userAgent: string | null;
}

export interface AriPollData {
  version: 1;
  /** By serial. Entries not fetched for PRUNE_AFTER_MS are dropped (bounded state). */
  certificates: Record<string, AriPoll>;
  /** By node name: the node's latest fetch, kept while the node has any record (never pruned). */
  nodes: Record<string, AriPoll>;
}

export const ARI_POLL_PRUNE_AFTER_MS = 90 * 86_400_000;

export function emptyAriPolls(): AriPollData {
  return { version: 1, certificates: {}, nodes: {} };
}

/** Adds one fetch to `data` (mutates it). */
export function addAriPoll(data: AriPollData, fetch: { serial: string; node: string | null; accountId: string; userAgent: string | null; at: Date }): void {
  const at = fetch.at.toISOString();
  const prev = data.certificates[fetch.serial];
  const poll: AriPoll = {
    serial: fetch.serial,
    node: fetch.node,
    accountId: fetch.accountId,
    firstAt: prev?.firstAt ?? at,
    lastAt: at,
    count: (prev?.count ?? 0) + 1,
    userAgent: fetch.userAgent ?? prev?.userAgent ?? null,
  };
  data.certificates[fetch.serial] = poll;
  if (fetch.node !== null) data.nodes[fetch.node] = poll;
}

/** Drops certificate entries not fetched since `now - ARI_POLL_PRUNE_AFTER_MS` (mutates). */
export function pruneAriPolls(data: AriPollData, now: Date): void {
  const cutoff = now.getTime() - ARI_POLL_PRUNE_AFTER_MS;
  for (const [serial, p] of Object.entries(data.certificates)) if (Date.parse(p.lastAt) < cutoff) delete data.certificates[serial];
}

/** Whether a node's client polls ARI, as `status`, `renew-now` and the dashboard show it. */
export interface NodeAriStatus {
  node: string;
  /** 'polling': fetched renewalInfo; 'never': has certificates but never fetched; 'no-certificates': nothing issued yet. */
  ari: 'polling' | 'never' | 'no-certificates';
  lastPolledAt: string | null;
  lastSerial: string | null;
  userAgent: string | null;
}

/** Per node of the inventory, from the poll record and how many certificates each node holds. */
export function ariStatusByNode(nodes: readonly { name: string }[], polls: AriPollData, certificateCount: (node: string) => number): NodeAriStatus[] {
  return nodes.map((n) => {
    const p = polls.nodes[n.name];
    if (p) return { node: n.name, ari: 'polling', lastPolledAt: p.lastAt, lastSerial: p.serial, userAgent: p.userAgent };
    return { node: n.name, ari: certificateCount(n.name) > 0 ? 'never' : 'no-certificates', lastPolledAt: null, lastSerial: null, userAgent: null };
  });
}
