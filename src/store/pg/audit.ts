// The shared audit chain (schema 3, docs/postgres.md): one hash chain for every instance, in the
// file log's entry format (src/ca/chainlog.ts builds, hashes and signs each entry). An append takes
// the row lock of audit_head, reads the newest entry, signs the next one(s) with this instance's
// key, inserts them and moves the head — inside the transaction that commits what the entries
// record, so that both are committed or neither (fail closed).
//
// Which transaction: a store write that must be audited (putCertificate, putRevocation, an
// inventory update) runs its statements and its commit hook inside `inTransaction`; an append made
// while that callback runs joins it (AsyncLocalStorage), without the ACME core or src/ops ever
// seeing a database handle. An append made outside any such callback opens its own transaction.
//
// The common case in one statement: an issuance (putCertificate) whose instance knows the chain's
// head signs its entry over that head first (collectAppends) and sends the certificate, the entry
// and the head's move as one autocommitted statement gated on the head being unchanged
// (appendWith): no BEGIN, no lock round trip, no COMMIT, and the head row is locked only while
// that one statement runs. If the head moved (another instance appended), nothing is written and
// the caller signs again over the head the statement returned, or falls back to the transaction.
import { AsyncLocalStorage } from 'node:async_hooks';
import type pg from 'pg';
import { appendEntry, entryHash, GENESIS, serializeEntry, type ChainEntry } from '../../ca/chainlog.js';
import { auditInitDetails, checkEvent, parseEntryLine, type AuditEvent } from '../../audit/entry.js';
import { AuditError } from '../../audit/errors.js';

type Head = { seq: number; hash: string } | null;
/** An open transaction; `appended`: the head its appends moved to (known for good at COMMIT). */
type TxScope = { kind: 'tx'; client: pg.PoolClient; appended?: Head };
/** Appends signed over `head` and kept for the caller's statement instead of written. */
type CollectScope = { kind: 'collect'; head: { seq: number; hash: string }; keyId?: string; entries: ChainEntry[] };
const ambient = new AsyncLocalStorage<TxScope | CollectScope>();

/**
 * The chain's head as this process last committed or saw it, per pool: a guess that lets an
 * issuance sign its entry before the statement that appends it. Never trusted: the statement
 * writes only if the head is still exactly this (appendWith).
 */
const knownHeads = new WeakMap<pg.Pool, { seq: number; hash: string }>();
export const knownHead = (pool: pg.Pool) => knownHeads.get(pool);

/**
 * One-statement appends of this process, one at a time: each signs over the head the previous one
 * made, instead of several signing over the same head and all but one retrying.
 */
const appendQueues = new WeakMap<pg.Pool, Promise<unknown>>();
export function oneAppendAtATime<T>(pool: pg.Pool, fn: () => Promise<T>): Promise<T> {
  const run = (appendQueues.get(pool) ?? Promise.resolve()).then(fn, fn);
  appendQueues.set(pool, run.catch(() => undefined));
  return run;
}

/**
 * Runs `fn` in one transaction on one pooled connection; audit appends made inside it join it.
 * A connection that cannot even roll back is discarded, not returned to the pool.
 */
export async function inTransaction<T>(pool: pg.Pool, fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
  // Already inside one (an audited write calling another): join it rather than wait on its locks.
  const outer = ambient.getStore();
  if (outer?.kind === 'tx') return fn(outer.client);
  const c = await pool.connect();
  let broken = false;
  try {
    await c.query('BEGIN');
    const scope: TxScope = { kind: 'tx', client: c };
    const r = await ambient.run(scope, () => fn(c));
    await c.query('COMMIT');
    if (scope.appended) knownHeads.set(pool, scope.appended);
    return r;
  } catch (err) {
    await c.query('ROLLBACK').catch(() => void (broken = true));
    throw err;
  } finally {
    c.release(broken);
  }
}

/** This instance's audit key, and what the issuer says about it (src/audit/certify.ts). */
export interface AuditSigner {
  keys: CryptoKeyPair;
  /** PEM: the audit certificate(s) for this key and the intermediate that issued them. */
  certificates: string;
}

export interface SharedAuditRow {
  seq: number;
  keyId: string;
  hash: string;
  /** The entry's line (canonical JSON), as the file log holds it. */
  entry: string;
}

export interface SharedAuditSnapshot {
  rows: SharedAuditRow[];
  head: { seq: number; hash: string } | null;
  signers: { keyId: string; publicKey: string; certificates: string }[];
  /** Serials the store holds, for the cross-check "every record has its entry". */
  store: { certificates: string[]; revocations: string[] };
}

export interface PgAuditChain {
  /** Makes this instance's key (and its certificates) known to verifiers; idempotent. */
  register(): Promise<void>;
  /** Appends `events` in order (in the ambient transaction, else in one of its own). */
  append(events: readonly AuditEvent[]): Promise<ChainEntry[]>;
  /** /health: an append would work now (lock, head, insert), proven by a rolled-back one. */
  check(): Promise<void>;
  keyId: string;
}

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** The union of two PEM bundles, each certificate once, in first-seen order. */
function mergePem(a: string, b: string): string {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const block of [...(a.match(PEM_BLOCK) ?? []), ...(b.match(PEM_BLOCK) ?? [])]) {
    const k = block.replace(/\s+/g, '');
    if (seen.has(k)) continue;
    seen.add(k);
    out.push(block);
  }
  return out.length ? out.join('\n') + '\n' : '';
}

type HeadRow = { seq: string; hash: string };

/** The newest entry's seq and hash, under the append lock (held until the transaction ends). */
async function lockHead(c: pg.ClientBase): Promise<Head> {
  const r = await c.query<HeadRow>({ name: 'audit-head-lock', text: 'SELECT seq, hash FROM audit_head WHERE one FOR UPDATE' });
  const row = r.rows[0];
  if (!row) throw new AuditError('AUDIT_DAMAGED', 'the shared audit chain has no head row (audit_head): the schema was changed by hand; restore it before anything else is recorded');
  return Number(row.seq) < 0 ? null : { seq: Number(row.seq), hash: row.hash };
}

/**
 * Inserts `out` after `head` and moves the head, in one statement (one round trip while the lock is
 * held). The insert happens only if the head's own entry is still there with that hash: a chain cut
 * off or rewritten at its end is never continued (fail closed). A separate statement from the lock,
 * so it sees what the lock's previous holder committed (READ COMMITTED re-checks only the locked row).
 */
async function insertEntries(c: pg.ClientBase, keyId: string, head: Head, out: ChainEntry[]): Promise<void> {
  const r = await c.query({
    name: 'audit-append',
    text: `WITH ok AS (SELECT 1 WHERE $9::bigint < 0 OR EXISTS (SELECT 1 FROM audit_entries WHERE seq = $9 AND hash = $10)),
      ins AS (INSERT INTO audit_entries (seq, key_id, event, subject, node, time, hash, entry)
        SELECT s, $2, ev, su, n, t, h, en FROM unnest($1::bigint[], $3::text[], $4::text[], $5::text[], $6::timestamptz[], $7::text[], $8::text[]) AS x(s, ev, su, n, t, h, en), ok
        RETURNING 1)
      UPDATE audit_head SET seq = $11, hash = $12 WHERE one AND EXISTS (SELECT 1 FROM ok)`,
    values: entryValues(keyId, head, out),
  });
  if (r.rowCount !== 1) {
    throw new AuditError('AUDIT_DAMAGED', `the shared audit chain's head (entry ${head?.seq}) does not match its entry: run nixca audit verify --store and restore the chain before anything else is recorded`);
  }
}

/** $1–$12 of an append: the entries' columns, the head they follow ($9, $10) and the new head ($11, $12). */
function entryValues(keyId: string, head: Head, out: ChainEntry[]): unknown[] {
  const col = <T>(f: (e: ChainEntry) => T) => out.map(f);
  const data = (e: ChainEntry) => e.data as { subject: string; node: string | null };
  const last = out[out.length - 1]!;
  return [col((e) => e.seq), keyId, col((e) => e.event), col((e) => data(e).subject), col((e) => data(e).node), col((e) => e.time), col(entryHash), col((e) => serializeEntry(e).slice(0, -1)),
    head?.seq ?? -1, head?.hash ?? '', last.seq, entryHash(last)];
}

/**
 * Runs `fn` (an audited write's commit hook) with every append it makes signed over `head` and
 * collected instead of written, for appendWith. Undefined if it appended nothing.
 */
export async function collectAppends(head: { seq: number; hash: string }, fn: () => Promise<void>): Promise<{ keyId: string; entries: ChainEntry[] } | undefined> {
  const scope: CollectScope = { kind: 'collect', head, entries: [] };
  await ambient.run(scope, fn);
  return scope.keyId && scope.entries.length > 0 ? { keyId: scope.keyId, entries: scope.entries } : undefined;
}

/**
 * One autocommitted statement: the collected entries after `head`, the head moved to the last of
 * them, and `ctes`: more WITH items (data-modifying, parameters from $13: `values`), the first
 * taking its rows FROM the CTE `moved`, so that they happen exactly when the append does. The
 * head's UPDATE is the gate:
 * it matches only if the head is still `head` (READ COMMITTED re-checks the row after waiting for
 * its lock, so a concurrent append makes it match nothing) and the head's own entry is there with
 * that hash (a chain cut off or rewritten at its end is never continued). Returns whether it was
 * written, and else the head as the statement saw it.
 */
export async function appendWith(pool: pg.Pool, head: { seq: number; hash: string }, collected: { keyId: string; entries: ChainEntry[] }, name: string, ctes: string, values: unknown[]): Promise<{ appended: boolean; head: Head }> {
  const r = await pool.query<{ appended: boolean; seq: string; hash: string }>({
    name,
    text: `WITH moved AS (UPDATE audit_head SET seq = $11, hash = $12 WHERE one AND seq = $9 AND hash = $10
          AND EXISTS (SELECT 1 FROM audit_entries WHERE seq = $9 AND hash = $10) RETURNING 1),
        ins AS (INSERT INTO audit_entries (seq, key_id, event, subject, node, time, hash, entry)
          SELECT s, $2, ev, su, n, t, h, en FROM unnest($1::bigint[], $3::text[], $4::text[], $5::text[], $6::timestamptz[], $7::text[], $8::text[]) AS x(s, ev, su, n, t, h, en), moved),
        ${ctes}
      SELECT EXISTS (SELECT 1 FROM moved) AS appended, seq, hash FROM audit_head WHERE one`,
    values: [...entryValues(collected.keyId, head, collected.entries), ...values],
  });
  const row = r.rows[0];
  const last = collected.entries[collected.entries.length - 1]!;
  if (row?.appended) {
    const next = { seq: last.seq, hash: entryHash(last) };
    knownHeads.set(pool, next);
    return { appended: true, head: next };
  }
  const seen = row && Number(row.seq) >= 0 ? { seq: Number(row.seq), hash: row.hash } : null;
  if (seen) knownHeads.set(pool, seen);
  return { appended: false, head: seen };
}

export async function createPgAuditChain(pool: pg.Pool, signer: AuditSigner, now: () => Date = () => new Date()): Promise<PgAuditChain> {
  const init = await auditInitDetails(signer.keys.publicKey);
  let registered = false;
  // Autocommitted on the pool, never inside an audited transaction (which may roll back).
  const register = async (c: Pick<pg.Pool, 'query'> = pool) => {
    // Never narrows what verifiers know: certificates only accumulate (older entries stay checkable).
    const cur = await c.query<{ certificates: string }>({ name: 'audit-signer-get', text: 'SELECT certificates FROM audit_signers WHERE key_id = $1', values: [init.keyId] });
    const merged = mergePem(cur.rows[0]?.certificates ?? '', signer.certificates);
    if (!cur.rows[0]) await c.query({ name: 'audit-signer-add', text: 'INSERT INTO audit_signers (key_id, public_key, certificates) VALUES ($1, $2, $3) ON CONFLICT (key_id) DO NOTHING', values: [init.keyId, init.publicKey, merged] });
    else if (merged !== cur.rows[0].certificates) await c.query({ name: 'audit-signer-certs', text: 'UPDATE audit_signers SET certificates = $2 WHERE key_id = $1', values: [init.keyId, merged] });
    registered = true;
  };
  const build = async (head: Head, events: readonly AuditEvent[]): Promise<ChainEntry[]> => {
    let previous: ChainEntry | Head = head;
    const out: ChainEntry[] = [];
    const push = async (type: string, subject: string, node: string | null, details: Record<string, unknown>, time: Date) => {
      const entry = await appendEntry(previous, { event: type, data: { subject, node, details }, time }, signer.keys.privateKey);
      out.push(entry);
      previous = entry;
    };
    // The chain's first entry names its first signer, as the file log's does.
    if (head === null) await push('audit.init', 'audit', null, init, now());
    for (const e of events) await push(e.type, e.subject, e.node ?? null, e.details ?? {}, e.time ?? now());
    return out;
  };
  const appendIn = async (c: pg.ClientBase, events: readonly AuditEvent[], scope?: TxScope): Promise<ChainEntry[]> => {
    if (!registered) await register();
    const head = await lockHead(c);
    const out = await build(head, events);
    await insertEntries(c, init.keyId, head, out);
    const last = out[out.length - 1]!;
    if (scope) scope.appended = { seq: last.seq, hash: entryHash(last) };
    return out;
  };
  /** Signs over the collecting caller's head (after what it collected already); nothing is written. */
  const collect = async (scope: CollectScope, events: readonly AuditEvent[]): Promise<ChainEntry[]> => {
    if (!registered) await register();
    if (scope.keyId !== undefined && scope.keyId !== init.keyId) throw new Error('one statement appends with one signer');
    const prev = scope.entries[scope.entries.length - 1];
    const out = await build(prev ? { seq: prev.seq, hash: entryHash(prev) } : scope.head, events);
    scope.keyId = init.keyId;
    scope.entries.push(...out);
    return out;
  };
  return {
    keyId: init.keyId,
    register: () => register(),
    async append(events) {
      events.forEach(checkEvent);
      if (events.length === 0) return [];
      const scope = ambient.getStore();
      if (scope?.kind === 'collect') return collect(scope, events);
      if (scope?.kind === 'tx') return appendIn(scope.client, events, scope);
      return inTransaction(pool, (own) => appendIn(own, events, ambient.getStore() as TxScope));
    },
    async check() {
      const c = await pool.connect();
      try {
        await c.query('BEGIN');
        await c.query("SET LOCAL lock_timeout = '2s'");
        await appendIn(c, [{ type: 'audit.recovered', subject: 'health-probe', details: { probe: true } }]);
      } finally {
        // Never committed: the probe proves the append path and leaves nothing behind.
        await c.query('ROLLBACK').catch(() => undefined);
        c.release();
      }
    },
  };
}

/** Serials whose certificate.issued / certificate.revoked entry is missing (start-up recovery). */
export async function missingAuditEntries(db: Pick<pg.Pool, 'query'>): Promise<{ certificates: string[]; revocations: string[] }> {
  const certs = await db.query<{ serial: string }>(`SELECT serial FROM certificates c WHERE NOT EXISTS
    (SELECT 1 FROM audit_entries a WHERE a.event = 'certificate.issued' AND a.subject = c.serial) ORDER BY issued_seq`);
  const revs = await db.query<{ serial: string }>(`SELECT serial FROM revocations r WHERE NOT EXISTS
    (SELECT 1 FROM audit_entries a WHERE a.event = 'certificate.revoked' AND a.subject = r.serial) ORDER BY seq`);
  return { certificates: certs.rows.map((r) => r.serial), revocations: revs.rows.map((r) => r.serial) };
}

/**
 * Everything `audit verify --store` checks, read in one REPEATABLE READ transaction (a snapshot:
 * appends running meanwhile neither tear the chain nor move the head under the reader).
 */
export async function readSharedAudit(pool: pg.Pool): Promise<SharedAuditSnapshot> {
  const c = await pool.connect();
  try {
    await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const rows = await c.query<{ seq: string; key_id: string; hash: string; entry: string }>('SELECT seq, key_id, hash, entry FROM audit_entries ORDER BY seq');
    const head = await c.query<{ seq: string; hash: string }>('SELECT seq, hash FROM audit_head WHERE one');
    const signers = await c.query<{ key_id: string; public_key: string; certificates: string }>('SELECT key_id, public_key, certificates FROM audit_signers ORDER BY added_at, key_id');
    const certs = await c.query<{ serial: string }>('SELECT serial FROM certificates ORDER BY issued_seq');
    const revs = await c.query<{ serial: string }>('SELECT serial FROM revocations ORDER BY seq');
    await c.query('COMMIT');
    const h = head.rows[0];
    return {
      rows: rows.rows.map((r) => ({ seq: Number(r.seq), keyId: r.key_id, hash: r.hash, entry: r.entry })),
      head: h && Number(h.seq) >= 0 ? { seq: Number(h.seq), hash: h.hash } : null,
      signers: signers.rows.map((s) => ({ keyId: s.key_id, publicKey: s.public_key, certificates: s.certificates })),
      store: { certificates: certs.rows.map((r) => r.serial), revocations: revs.rows.map((r) => r.serial) },
    };
  } catch (err) {
    await c.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    c.release();
  }
}

/**
 * Copies a file log (src/audit/log.ts, `lines` without their newlines) into an empty shared chain,
 * inside the caller's transaction (`nixca db import`): every line unchanged, so its seq, prev and
 * signature stay valid, with the file log's key (and its certificates) as their signer; the head
 * row then names its last entry and the instances' appends continue the same chain. A line that is
 * not an entry, a gap in seq or a broken prev link is refused (verify the file log first).
 */
export async function importAuditChain(c: pg.ClientBase, log: { lines: readonly string[]; publicKey: string; keyId: string; certificates: string }): Promise<{ entries: number; head: { seq: number; hash: string } | null }> {
  if (log.lines.length === 0) return { entries: 0, head: null };
  const head = await lockHead(c);
  if (head !== null) throw new AuditError('AUDIT_INVALID', `the shared audit chain already has entries (up to ${head.seq}): an audit log is imported only into an empty one`);
  const entries: ChainEntry[] = [];
  for (const [i, line] of log.lines.entries()) {
    const e = parseEntryLine(line);
    const prev = entries.at(-1);
    if (!e || e.seq !== i || e.prev !== (prev ? entryHash(prev) : GENESIS)) throw new AuditError('AUDIT_INVALID', `line ${i + 1} of the audit log does not continue the chain: run nixca audit verify on it first`);
    entries.push(e);
  }
  await c.query('INSERT INTO audit_signers (key_id, public_key, certificates) VALUES ($1, $2, $3) ON CONFLICT (key_id) DO NOTHING', [log.keyId, log.publicKey, log.certificates]);
  for (let i = 0; i < entries.length; i += 1000) {
    const before = entries[i - 1];
    await insertEntries(c, log.keyId, before ? { seq: before.seq, hash: entryHash(before) } : null, entries.slice(i, i + 1000));
  }
  const last = entries.at(-1)!;
  return { entries: entries.length, head: { seq: last.seq, hash: entryHash(last) } };
}
