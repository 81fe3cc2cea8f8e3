// `nixca db import`: an embedded store (src/store/embedded-snapshot.ts) copied into an empty shared
// database in ONE transaction, then checked inside that transaction before it commits: the row
// count of every kind, a sample of certificate chains byte for byte, the inventory document and
// the CRL number. Any difference rolls everything back: the target is either untouched or complete.
import type pg from 'pg';
import { canonicalJson } from '../../ca/chainlog.js';
import type { AuthorizationRecord } from '../../acme/model.js';
import type { EmbeddedSnapshot } from '../embedded-snapshot.js';
import { MIGRATE_LOCK } from './migrate.js';

export class ImportError extends Error {
  override readonly name = 'ImportError';
  constructor(message: string, readonly kind: 'conflict' | 'check') {
    super(message);
  }
}

export interface ImportCounts {
  accounts: number;
  orders: number;
  authorizations: number;
  certificates: number;
  revocations: number;
}

/** The embedded audit log, verified, line by line (src/audit/snapshot.ts readAuditSnapshot). */
export interface ImportAudit {
  signer: { keyId: string; publicKey: string; certificates: string };
  entries: readonly { seq: number; event: string; subject: string; node: string | null; time: string; hash: string; line: string }[];
  head: { seq: number; hash: string };
}

export interface ImportSummary {
  counts: ImportCounts;
  crlNumber: number;
  inventory: { nodes: number; eabCredentials: number; signingKeys: number } | null;
  audit: { entries: number; head: { seq: number; hash: string } } | null;
  verified: { counts: true; chainsCompared: number; chainsTotal: number; inventory: boolean; crlNumber: true; auditHead: boolean };
}

const BATCH = 500;
const reusable = (a: AuthorizationRecord) => a.challenges.some((c) => c.status === 'valid') && !a.deactivated && !a.revoked;

/** Rows as one JSON array parameter: one statement per batch, whatever the batch size. */
async function insertBatches<T>(c: pg.PoolClient, rows: readonly T[], sql: string, each: (row: T) => Promise<unknown> | unknown = (r) => r): Promise<void> {
  for (let i = 0; i < rows.length; i += BATCH) {
    const batch = await Promise.all(rows.slice(i, i + BATCH).map(each));
    await c.query(sql, [JSON.stringify(batch)]);
  }
}

const TABLES = ['accounts', 'orders', 'authorizations', 'certificates', 'revocations'] as const;

async function counts(c: pg.PoolClient): Promise<ImportCounts> {
  const r = await c.query<Record<string, string>>(`SELECT ${TABLES.map((t) => `(SELECT count(*) FROM ${t}) AS ${t}`).join(', ')}`);
  return Object.fromEntries(TABLES.map((t) => [t, Number(r.rows[0]![t])])) as unknown as ImportCounts;
}

/** The target must hold nothing nixca wrote: an import never merges into a store in use. */
async function requireEmpty(c: pg.PoolClient): Promise<void> {
  const n = await counts(c);
  const crl = Number((await c.query<{ n: string }>('SELECT n FROM crl_number')).rows[0]?.n ?? 0);
  const inv = Number((await c.query<{ n: string }>('SELECT count(*) AS n FROM inventory')).rows[0]!.n);
  const audit = Number((await c.query<{ n: string }>('SELECT count(*) AS n FROM audit_entries')).rows[0]!.n);
  const used = [...TABLES.filter((t) => n[t] > 0).map((t) => `${n[t]} ${t}`), ...(crl > 0 ? [`CRL number ${crl}`] : []), ...(inv > 0 ? ['an inventory'] : []), ...(audit > 0 ? [`${audit} audit entries`] : [])];
  if (used.length) throw new ImportError(`the target store is not empty (${used.join(', ')}): import only into a freshly migrated database`, 'conflict');
}

async function copy(c: pg.PoolClient, s: EmbeddedSnapshot): Promise<void> {
  await insertBatches(c, s.accounts, `INSERT INTO accounts (id, thumbprint, node, record, created_at)
    SELECT r->>'id', r->>'thumbprint', r->>'node', r, (r->>'createdAt')::timestamptz FROM jsonb_array_elements($1::jsonb) r`);
  await insertBatches(c, s.authorizations, `INSERT INTO authorizations (id, account_id, identifier, expires, reusable, record)
    SELECT x->'r'->>'id', x->'r'->>'accountId', x->'r'->'identifier'->>'value', (x->'r'->>'expires')::timestamptz, (x->>'reusable')::boolean, x->'r'
    FROM jsonb_array_elements($1::jsonb) x`, (a) => ({ r: a, reusable: reusable(a) }));
  await insertBatches(c, s.orders, `INSERT INTO orders (id, account_id, authorization_ids, expires, replaces_serial, certificate_serial, record, created_at)
    SELECT r->>'id', r->>'accountId', ARRAY(SELECT jsonb_array_elements_text(r->'authorizationIds')), (r->>'expires')::timestamptz,
      r->>'replacesSerial', r->>'certificateSerial', r, (r->>'createdAt')::timestamptz
    FROM jsonb_array_elements($1::jsonb) r`);
  // WITH ORDINALITY … ORDER BY keeps the ledger's order in issued_seq / seq (listings stay in issuance order).
  await insertBatches(c, s.certificates, `INSERT INTO certificates (serial, order_id, account_id, node, not_after, replaces, spki_sha256, record, chain_pem)
    SELECT x->'r'->>'serial', x->'r'->>'orderId', x->'r'->>'accountId', x->'r'->>'node', (x->'r'->>'notAfter')::timestamptz,
      x->'r'->>'replaces', x->'r'->>'spkiSha256', x->'r', x->>'chain'
    FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS t(x, i) ORDER BY i`, async (cert) => {
    const chain = await s.chain(cert.serial);
    if (chain === undefined) throw new ImportError(`certificate ${cert.serial} has no chain in the embedded store`, 'check');
    return { r: cert, chain };
  });
  await insertBatches(c, s.revocations, `INSERT INTO revocations (serial, revoked_at, record)
    SELECT x->>'serial', (x->>'revokedAt')::timestamptz, x FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS t(x, i) ORDER BY i`);
  await c.query('UPDATE crl_number SET n = $1', [s.crlNumber]);
  if (s.inventory) await c.query('INSERT INTO inventory (one, version, data) VALUES (true, 1, $1)', [s.inventory]);
  // Instances already running on this database re-read their inventory and CRL at commit.
  await c.query("SELECT pg_notify('nixca_inventory', ''), pg_notify('nixca_revocation', '')");
}

/** The audit chain as it is: same lines, same seq, prev and signatures, so the same head (schema 3). */
async function copyAudit(c: pg.PoolClient, a: ImportAudit): Promise<void> {
  await c.query('INSERT INTO audit_signers (key_id, public_key, certificates) VALUES ($1, $2, $3) ON CONFLICT (key_id) DO NOTHING', [a.signer.keyId, a.signer.publicKey, a.signer.certificates]);
  await insertBatches(c, a.entries, `INSERT INTO audit_entries (seq, key_id, event, subject, node, time, hash, entry)
    SELECT (x->>'seq')::bigint, x->>'key', x->>'event', x->>'subject', x->>'node', (x->>'time')::timestamptz, x->>'hash', x->>'line'
    FROM jsonb_array_elements($1::jsonb) x`, (e) => ({ ...e, key: a.signer.keyId }));
  await c.query('UPDATE audit_head SET seq = $1, hash = $2', [a.head.seq, a.head.hash]);
}

/** Every line back from the database equals the file's, and the recorded head is the file's head. */
async function verifyAudit(c: pg.PoolClient, a: ImportAudit): Promise<void> {
  const rows = (await c.query<{ entry: string }>('SELECT entry FROM audit_entries ORDER BY seq')).rows;
  const head = (await c.query<{ seq: string; hash: string }>('SELECT seq, hash FROM audit_head')).rows[0]!;
  const same = rows.length === a.entries.length && rows.every((r, i) => r.entry === a.entries[i]!.line);
  if (!same) throw new ImportError(`verification failed, nothing imported: the audit entries read back differ from audit/log.jsonl (${rows.length} of ${a.entries.length})`, 'check');
  if (Number(head.seq) !== a.head.seq || head.hash !== a.head.hash || a.entries.at(-1)?.hash !== a.head.hash) {
    throw new ImportError(`verification failed, nothing imported: the audit head in the database is ${head.seq}:${head.hash}, the log's is ${a.head.seq}:${a.head.hash}`, 'check');
  }
}

/** Up to `n` serials spread over the whole ledger: the first, the last and evenly between. */
function sampleSerials(serials: readonly string[], n: number): string[] {
  if (serials.length <= n) return [...serials];
  return [...new Set(Array.from({ length: n }, (_, i) => serials[Math.round((i * (serials.length - 1)) / (n - 1))]!))];
}

async function verify(c: pg.PoolClient, s: EmbeddedSnapshot, sample: number): Promise<Omit<ImportSummary['verified'], 'auditHead'>> {
  const want: ImportCounts = { accounts: s.accounts.length, orders: s.orders.length, authorizations: s.authorizations.length, certificates: s.certificates.length, revocations: s.revocations.length };
  const got = await counts(c);
  const off = TABLES.filter((t) => got[t] !== want[t]).map((t) => `${t}: ${got[t]} in the database, ${want[t]} in the embedded store`);
  if (off.length) throw new ImportError(`verification failed, nothing imported: ${off.join('; ')}`, 'check');
  const serials = sampleSerials(s.certificates.map((x) => x.serial), sample);
  const rows = (await c.query<{ serial: string; chain_pem: string; record: unknown }>('SELECT serial, chain_pem, record FROM certificates WHERE serial = ANY($1)', [serials])).rows;
  const bySerial = new Map(rows.map((r) => [r.serial, r]));
  for (const serial of serials) {
    const row = bySerial.get(serial);
    // Re-read from chains.pem, not the copy that was inserted: the comparison is file against database.
    const chain = await s.chain(serial);
    if (!row || !chain || !Buffer.from(row.chain_pem).equals(Buffer.from(chain))) throw new ImportError(`verification failed, nothing imported: the chain of ${serial} differs from the embedded store's`, 'check');
    const rec = s.certificates.find((x) => x.serial === serial);
    if (canonicalJson(row.record) !== canonicalJson(rec)) throw new ImportError(`verification failed, nothing imported: the record of ${serial} differs`, 'check');
  }
  const crl = Number((await c.query<{ n: string }>('SELECT n FROM crl_number')).rows[0]!.n);
  if (crl !== s.crlNumber) throw new ImportError(`verification failed, nothing imported: CRL number ${crl}, expected ${s.crlNumber}`, 'check');
  if (s.inventory) {
    const inv = (await c.query<{ data: unknown }>('SELECT data FROM inventory')).rows[0]?.data;
    if (canonicalJson(inv) !== canonicalJson(s.inventory)) throw new ImportError('verification failed, nothing imported: the inventory read back differs from inventory.json', 'check');
  }
  return { counts: true, chainsCompared: serials.length, chainsTotal: s.certificates.length, inventory: s.inventory !== null, crlNumber: true };
}

/**
 * Copies the snapshot into the (migrated, empty) database in one transaction, serialized with
 * other imports and migrations by the same advisory lock as `db migrate`; verifies before COMMIT.
 */
export async function importSnapshot(pool: pg.Pool, s: EmbeddedSnapshot, opts: { sample?: number; audit?: ImportAudit; inTransaction?: (c: pg.PoolClient) => Promise<void> } = {}): Promise<ImportSummary> {
  const c = await pool.connect();
  try {
    await c.query('BEGIN');
    await c.query('SELECT pg_advisory_xact_lock($1)', [MIGRATE_LOCK]);
    await requireEmpty(c);
    await copy(c, s);
    if (opts.audit) await copyAudit(c, opts.audit);
    await opts.inTransaction?.(c);
    const verified = { ...(await verify(c, s, opts.sample ?? 32)), auditHead: opts.audit !== undefined };
    if (opts.audit) await verifyAudit(c, opts.audit);
    await c.query('COMMIT');
    const inv = s.inventory;
    return {
      counts: { accounts: s.accounts.length, orders: s.orders.length, authorizations: s.authorizations.length, certificates: s.certificates.length, revocations: s.revocations.length },
      crlNumber: s.crlNumber,
      inventory: inv && { nodes: inv.nodes.length, eabCredentials: inv.nodes.filter((n) => n.eab).length, signingKeys: inv.signingKeys.length },
      audit: opts.audit ? { entries: opts.audit.entries.length, head: opts.audit.head } : null,
      verified,
    };
  } catch (err) {
    await c.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    c.release();
  }
}
