// The ARI fetch record (src/status/ari-polls.ts) on the shared store: a client may poll
// renewalInfo (RFC 9773 §4.1) on any instance, so what `status`, `cert show` and `renew-now`'s
// never-polled warning say must come from every instance, not from one host's acme/ari-polls.json.
// One row per certificate ('ari:<serial>') and per node ('ari-node:<name>') in nixca_meta (key,
// value text), so no schema change: an instance merges what it saw since its last flush with one
// statement (counts add up, first/last fetch are the earliest/latest), at most every few seconds.
import { addAriPoll, emptyAriPolls, ARI_POLL_PRUNE_AFTER_MS, type AriPoll, type AriPollData } from '../../status/ari-polls.js';
import type { AriPollRecorder } from '../ari-polls.js';
import type pg from 'pg';
import { openPool, type PgStoreConfig } from './connect.js';
import { prepared as q, type Queryable } from './sql.js';

const CERT = 'ari:';
const NODE = 'ari-node:';

/** Merges `delta` (fetches since the last flush) into the shared record and prunes it. */
export async function mergeSharedAriPolls(db: Queryable, delta: AriPollData, now: Date): Promise<void> {
  const certs = Object.values(delta.certificates);
  if (certs.length > 0) {
    await q(db, 'ari-merge-cert', `INSERT INTO nixca_meta (key, value)
      SELECT $1 || (x->>'serial'), x::text FROM jsonb_array_elements($2::jsonb) x
      ON CONFLICT (key) DO UPDATE SET value = (
        SELECT jsonb_build_object(
          'serial', n->>'serial', 'node', n->'node', 'accountId', n->>'accountId',
          'firstAt', least(o->>'firstAt', n->>'firstAt'), 'lastAt', greatest(o->>'lastAt', n->>'lastAt'),
          'count', (o->>'count')::bigint + (n->>'count')::bigint,
          'userAgent', CASE WHEN n->>'lastAt' >= o->>'lastAt' THEN coalesce(n->'userAgent', o->'userAgent') ELSE coalesce(o->'userAgent', n->'userAgent') END)::text
        FROM (SELECT nixca_meta.value::jsonb AS o, excluded.value::jsonb AS n) v)`, [CERT, JSON.stringify(certs)]);
  }
  const nodes = Object.entries(delta.nodes).map(([name, p]) => ({ name, p }));
  if (nodes.length > 0) {
    // A node's latest fetch (never pruned, as in the file): the newer of the stored and this one.
    await q(db, 'ari-merge-node', `INSERT INTO nixca_meta (key, value)
      SELECT $1 || (x->>'name'), (x->'p')::text FROM jsonb_array_elements($2::jsonb) x
      ON CONFLICT (key) DO UPDATE SET value = CASE WHEN excluded.value::jsonb->>'lastAt' >= nixca_meta.value::jsonb->>'lastAt' THEN excluded.value ELSE nixca_meta.value END`, [NODE, JSON.stringify(nodes)]);
  }
  // ISO 8601 UTC strings compare as the times they name.
  await q(db, 'ari-prune', "DELETE FROM nixca_meta WHERE key LIKE 'ari:%' AND value::jsonb->>'lastAt' < $1", [new Date(now.getTime() - ARI_POLL_PRUNE_AFTER_MS).toISOString()]);
}

/**
 * mergeSharedAriPolls in a transaction of its own: a flush is all of its statements or none, so a
 * failed one can be merged again without adding its counts twice.
 */
async function mergeAtomically(pool: pg.Pool, delta: AriPollData, now: Date): Promise<void> {
  const c = await pool.connect();
  let broken = false;
  try {
    await c.query('BEGIN');
    await mergeSharedAriPolls(c, delta, now);
    await c.query('COMMIT');
  } catch (err) {
    await c.query('ROLLBACK').catch(() => void (broken = true));
    throw err;
  } finally {
    c.release(broken);
  }
}

/** The shared record as every instance has flushed it. */
export async function readSharedAriPolls(db: Queryable): Promise<AriPollData> {
  const r = await q<{ key: string; value: string }>(db, 'ari-read', "SELECT key, value FROM nixca_meta WHERE key LIKE 'ari:%' OR key LIKE 'ari-node:%'", []);
  const data = emptyAriPolls();
  for (const row of r.rows) {
    let p: AriPoll;
    try {
      p = JSON.parse(row.value) as AriPoll;
    } catch {
      continue; // informational: a damaged row is left out, never fatal
    }
    if (row.key.startsWith(NODE)) data.nodes[row.key.slice(NODE.length)] = p;
    else data.certificates[row.key.slice(CERT.length)] = p;
  }
  return data;
}

/** What this instance saw, layered over the shared record it last read (for the dashboard). */
function layered(shared: AriPollData, delta: AriPollData): AriPollData {
  const out: AriPollData = { version: 1, certificates: { ...shared.certificates }, nodes: { ...shared.nodes } };
  for (const p of Object.values(delta.certificates)) {
    const prev = out.certificates[p.serial];
    out.certificates[p.serial] = prev ? { ...p, firstAt: prev.firstAt < p.firstAt ? prev.firstAt : p.firstAt, count: prev.count + p.count, userAgent: p.userAgent ?? prev.userAgent } : p;
  }
  for (const [name, p] of Object.entries(delta.nodes)) if (!out.nodes[name] || out.nodes[name]!.lastAt <= p.lastAt) out.nodes[name] = out.certificates[p.serial] ?? p;
  return out;
}

/**
 * The serving instance's recorder on the shared store: fetches collect in memory and are merged
 * into the database at most every `flushMs` and on close, over a pool of one connection. A failed
 * flush keeps the fetches for the next one (informational: nothing waits on it).
 */
export async function openSharedAriPollRecorder(cfg: PgStoreConfig, opts: { flushMs?: number; now?: () => Date; onError?: (err: Error) => void } = {}): Promise<AriPollRecorder> {
  const p = await openPool({ ...cfg, max: 1, applicationName: 'nixca-ari' }, (err) => opts.onError?.(err));
  const now = opts.now ?? (() => new Date());
  const flushMs = opts.flushMs ?? 5000;
  let shared = await readSharedAriPolls(p.pool).catch((err: Error) => (opts.onError?.(err), emptyAriPolls()));
  let delta = emptyAriPolls();
  let timer: NodeJS.Timeout | undefined;
  let writing: Promise<void> = Promise.resolve();
  const flush = (): Promise<void> => {
    timer = undefined;
    const batch = delta;
    delta = emptyAriPolls();
    writing = writing.then(async () => {
      try {
        await mergeAtomically(p.pool, batch, now());
      } catch (err) {
        // Nothing of it was written: merged again by the next flush.
        delta = layered(batch, delta);
        opts.onError?.(err as Error);
        return;
      }
      try {
        shared = await readSharedAriPolls(p.pool);
      } catch (err) {
        // Written, so never merged again; shown over the copy last read until a read works.
        shared = layered(shared, batch);
        opts.onError?.(err as Error);
      }
    });
    return writing;
  };
  return {
    record(fetch) {
      addAriPoll(delta, fetch);
      if (!timer) {
        timer = setTimeout(() => void flush(), flushMs);
        timer.unref();
      }
    },
    read: () => layered(shared, delta),
    async close() {
      if (timer) clearTimeout(timer);
      if (Object.keys(delta.certificates).length > 0) await flush();
      await writing;
      await p.end();
    },
  };
}

/** The shared record for a one-shot reader (status, cert show, renew-now). */
export async function readSharedAriPollsOnce(cfg: PgStoreConfig): Promise<AriPollData> {
  const p = await openPool({ ...cfg, max: 1, allowExitOnIdle: true });
  try {
    return await readSharedAriPolls(p.pool);
  } finally {
    await p.end();
  }
}
