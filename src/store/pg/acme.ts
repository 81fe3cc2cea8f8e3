// The ACME store (src/acme/store.ts) on PostgreSQL, shared by every `nixca serve` of a fleet.
// Each method is one statement (autocommit) or an optimistic versioned update, so no transaction
// stays open across a network round trip and a killed instance leaves nothing half-done. The two
// audited writes (a certificate with its order's certificateSerial, a revocation) are one short
// transaction each, with their audit entry (src/store/pg/audit.ts). An order is read joined with
// its certificate (a certificate committed for an order makes the order valid).
import type pg from 'pg';
import type { AcmeStore, AcmeStoreStats, CertificateQuery, CommitHook } from '../../acme/store.js';
import type { AccountRecord, AuthorizationRecord, CertificateRecord, OrderRecord, RevocationRecord } from '../../acme/model.js';
import { authorizationStatus } from '../../acme/status.js';
import { appendWith, collectAppends, inTransaction, knownHead, oneAppendAtATime } from './audit.js';
import { conflict, prepared as q, uniqueViolation, updateVersioned } from './sql.js';
import { countStats, EMPTY_STATS } from './stats.js';
import type { ChangeFeed } from './notify.js';
import { IssuedCache, NotifiedCache, RowCache, VersionHints } from './cache.js';

export interface PgAcmeStoreOptions {
  /** How long past `expires` orders and authorizations are kept (default 0). */
  workingSetGraceMs?: number;
  now?: () => Date;
  /** How often the /metrics sizes are re-counted (default 15 s). */
  statsEveryMs?: number;
  /** Other instances' changes (serve); without it nothing is cached. */
  feed?: Pick<ChangeFeed, 'connected' | 'subscribe'>;
}

/** The PostgreSQL store adds what only a shared store needs to the common interface. */
export interface PgAcmeStore extends AcmeStore {
  /** The next CRL number, allocated by the database (monotonic across instances, RFC 5280 §5.2.3). */
  nextCrlNumber(): Promise<number>;
}

const reusable = (a: AuthorizationRecord) => a.challenges.some((c) => c.status === 'valid') && !a.deactivated && !a.revoked;

type Row<T> = { record: T; version: number };

/** Order $1 joined with its certificate (withCertificate), and `extra` columns. */
const orderSelect = (extra = '') => `SELECT o.record, o.version, c.serial AS cert${extra} FROM orders o LEFT JOIN certificates c ON c.order_id = o.id WHERE o.id = $1`;
const ORDER_SELECT = orderSelect();
// finalize's read: the order, and whether the CSR key ($2, an RFC 7638 thumbprint) is an account's.
const ORDER_AND_KEY_SELECT = orderSelect(', EXISTS (SELECT 1 FROM accounts WHERE thumbprint = $2) AS account_key');
type OrderRow = { record: OrderRecord; version: number; cert: string | null };

/** An order whose certificate committed is valid even if the order's own write never happened. */
function withCertificate(row: OrderRow | undefined): Row<OrderRecord> | undefined {
  if (!row) return undefined;
  const record = row.cert && !row.record.certificateSerial ? { ...row.record, certificateSerial: row.cert } : row.record;
  return { record, version: row.version };
}

function accountMethods(db: pg.Pool, cache: NotifiedCache<AccountRecord>): Pick<AcmeStore, 'getAccount' | 'findAccountByThumbprint' | 'listAccounts' | 'createAccount' | 'updateAccount'> {
  const holder = async (thumbprint: string) =>
    (await q<{ id: string }>(db, 'acct-holder', 'SELECT id FROM accounts WHERE thumbprint = $1', [thumbprint])).rows[0]?.id;
  const read = async (id: string) => (await q<Row<AccountRecord>>(db, 'acct-get', 'SELECT record, version FROM accounts WHERE id = $1', [id])).rows[0];
  return {
    async getAccount(id) {
      const hit = cache.get(id);
      if (hit) return hit;
      const seen = cache.stamp(id);
      const r = await read(id);
      if (r) cache.set(id, r.record, seen);
      return r?.record;
    },
    async listAccounts(query = {}) {
      // Operator listings and node removal: rare, so one plain scan (the node column is indexed).
      const rows = query.node === undefined
        ? (await q<{ record: AccountRecord }>(db, 'acct-list', `SELECT record FROM accounts ORDER BY record->>'createdAt', id`, [])).rows
        : (await q<{ record: AccountRecord }>(db, 'acct-list-node', `SELECT record FROM accounts WHERE node = $1 ORDER BY record->>'createdAt', id`, [query.node])).rows;
      return rows.map((r) => r.record);
    },
    async findAccountByThumbprint(thumbprint) {
      return (await q<{ record: AccountRecord }>(db, 'acct-by-tp', 'SELECT record FROM accounts WHERE thumbprint = $1', [thumbprint])).rows[0]?.record;
    },
    async createAccount(a) {
      const seen = cache.stamp(a.id);
      // A key that has an account is the common refusal (newAccount tries the insert first): no
      // error, and the holder from the same statement when it was there before the statement began
      // (one inserted by a concurrent statement is not in this statement's snapshot: read after).
      let r: pg.QueryResult<{ id: string; created: boolean }>;
      try {
        r = await q(db, 'acct-create', `WITH ins AS (INSERT INTO accounts (id, thumbprint, node, record) VALUES ($1, $2, $3, $4) ON CONFLICT (thumbprint) DO NOTHING RETURNING id)
          SELECT id, true AS created FROM ins UNION ALL SELECT id, false FROM accounts WHERE thumbprint = $2 AND NOT EXISTS (SELECT 1 FROM ins)`, [a.id, a.thumbprint, a.node, a]);
      } catch (err) {
        if (uniqueViolation(err) !== undefined) throw conflict('account id exists', a.id);
        throw err;
      }
      const row = r.rows[0];
      if (!row?.created) throw conflict('an account with this key exists', row?.id ?? (await holder(a.thumbprint)));
      // The next request of this client names it (kid): kept like a read, a copy of what was inserted.
      cache.set(a.id, structuredClone(a), seen);
      return a;
    },
    async updateAccount(id, fn) {
      const r = await updateVersioned<AccountRecord>(() => read(id), async (next, version) => {
        try {
          // NOTIFY (at commit) drops every instance's copy of this account.
          const res = await q(db, 'acct-update', `WITH u AS (UPDATE accounts SET record = $2, thumbprint = $3, node = $4, version = version + 1 WHERE id = $1 AND version = $5 RETURNING id)
            SELECT pg_notify('nixca_account', id) FROM u`, [id, next, next.thumbprint, next.node, version]);
          cache.drop(id);
          return res.rowCount === 1;
        } catch (err) {
          if (uniqueViolation(err) === 'accounts_thumbprint_key') throw conflict('an account with this key exists', await holder(next.thumbprint));
          throw err;
        }
      }, fn);
      return r && (r.next ?? r.cur);
    },
  };
}

/** The rows of orders and authorizations this instance last read or wrote (VersionHints). */
export type WorkingSetHints = { orders: VersionHints<OrderRecord>; authz: VersionHints<AuthorizationRecord> };

function workingSetMethods(db: pg.Pool, authzCache: RowCache<AuthorizationRecord>, hints: WorkingSetHints): Pick<AcmeStore, 'createOrder' | 'createOrderIfClear' | 'getOrder' | 'getOrderAndAccountKey' | 'updateOrder' | 'listOrderIds' | 'getAuthorization' | 'updateAuthorization' | 'findReusableAuthorization' | 'newOrderReads'> {
  const seen = <T>(h: VersionHints<T>, id: string, row: Row<T> | undefined) => {
    if (row) h.set(id, row.record, row.version);
    else h.drop(id);
    return row;
  };
  const readOrder = async (id: string) => seen(hints.orders, id, withCertificate((await q<OrderRow>(db, 'order-get', ORDER_SELECT, [id])).rows[0]));
  /** Inserted at version 1 (the schema's default): known here without reading them back. */
  const created = (order: OrderRecord, authzs: readonly AuthorizationRecord[], epoch: number) => {
    hints.orders.set(order.id, order, 1);
    for (const a of authzs) {
      hints.authz.set(a.id, a, 1);
      authzCache.set(a.id, structuredClone(a), 1, epoch);
    }
  };
  const readAuthz = async (id: string) => seen(hints.authz, id, (await q<Row<AuthorizationRecord>>(db, 'authz-get', 'SELECT record, version FROM authorizations WHERE id = $1', [id])).rows[0]);
  return {
    async createOrder(order, authzs) {
      // One statement: the order and its new authorizations appear together or not at all.
      const epoch = authzCache.epoch;
      await q(db, 'order-create', `WITH a AS (${AUTHZ_INSERT} FROM jsonb_array_elements($1::jsonb) x)
        ${ORDER_INSERT} VALUES ($2, $3, $4, $5, $6, $7, $8)`, orderValues(order, authzs));
      created(order, authzs, epoch);
    },
    async createOrderIfClear(order, authzs, guard) {
      // The §6.6 counts and the §7.1.3 reuse check of newOrderReads, as a guard on the inserts.
      const epoch = authzCache.epoch;
      const r = await q<{ created: number }>(db, 'order-create-if-clear', `WITH open AS (
          SELECT count(*) AS orders, coalesce(sum(cardinality(authorization_ids)), 0) AS authzs
          FROM orders WHERE account_id = $3 AND certificate_serial IS NULL AND expires > $9),
        clear AS (SELECT 1 FROM open WHERE open.orders + 1 <= $10 AND open.authzs + $12 <= $11
          AND NOT EXISTS (SELECT 1 FROM authorizations WHERE account_id = $3 AND identifier = ANY($13::text[]) AND reusable AND expires > $14)),
        a AS (${AUTHZ_INSERT} FROM jsonb_array_elements($1::jsonb) x, clear),
        o AS (${ORDER_INSERT} SELECT $2, $3, $4, $5, $6, $7, $8 FROM clear RETURNING id)
        SELECT count(*)::int AS created FROM o`,
      [...orderValues(order, authzs), guard.now, guard.maxOrders, guard.maxAuthorizations, authzs.length, authzs.map((a) => a.identifier.value), guard.reuseAt]);
      if (r.rows[0]?.created !== 1) return false;
      created(order, authzs, epoch);
      return true;
    },
    async getOrder(id) {
      return (await readOrder(id))?.record;
    },
    async getOrderAndAccountKey(id, thumbprint) {
      const row = (await q<OrderRow & { account_key: boolean }>(db, 'order-get-key', ORDER_AND_KEY_SELECT, [id, thumbprint])).rows[0];
      const order = seen(hints.orders, id, withCertificate(row));
      return order && row && { order: order.record, isAccountKey: row.account_key };
    },
    async updateOrder(id, fn) {
      const r = await updateVersioned<OrderRecord>(() => readOrder(id), async (next, version) => {
        const res = await q(db, 'order-update', 'UPDATE orders SET record = $2, certificate_serial = $3, version = version + 1 WHERE id = $1 AND version = $4', [id, next, next.certificateSerial ?? null, version]);
        if (res.rowCount === 1) hints.orders.set(id, next, version + 1);
        return res.rowCount === 1;
      }, fn, hints.orders.get(id));
      return r && (r.next ?? r.cur);
    },
    async listOrderIds(accountId) {
      return (await q<{ id: string }>(db, 'order-ids', 'SELECT id FROM orders WHERE account_id = $1 ORDER BY created_at, id', [accountId])).rows.map((r) => r.id);
    },
    async getAuthorization(id, opts) {
      // A copy is at most as old as the change feed's delay: every update announces its version.
      const hit = opts?.current ? undefined : authzCache.get(id);
      if (hit) return hit;
      const epoch = authzCache.epoch;
      const r = await readAuthz(id);
      if (r) authzCache.set(id, r.record, r.version, epoch);
      return r?.record;
    },
    async updateAuthorization(id, fn) {
      const r = await updateVersioned<AuthorizationRecord>(() => readAuthz(id), async (next, version) => {
        // NOTIFY (at commit) with the new version: every instance drops an older copy. Also on
        // nixca_authz (the id alone), which instances before the version was announced listen to.
        const epoch = authzCache.epoch;
        const res = await q(db, 'authz-update', `WITH u AS (UPDATE authorizations SET record = $2, reusable = $3, expires = $4, version = version + 1 WHERE id = $1 AND version = $5 RETURNING id, version)
          SELECT pg_notify('nixca_authz', id), pg_notify('nixca_authz_row', id || ' ' || version) FROM u`, [id, next, reusable(next), next.expires, version]);
        if (res.rowCount === 1) {
          hints.authz.set(id, next, version + 1);
          authzCache.set(id, structuredClone(next), version + 1, epoch);
        }
        return res.rowCount === 1;
      }, fn, hints.authz.get(id));
      return r?.next;
    },
    async findReusableAuthorization(accountId, identifier, now) {
      const r = await q<{ record: AuthorizationRecord }>(db, 'authz-reuse', 'SELECT record FROM authorizations WHERE account_id = $1 AND identifier = $2 AND reusable AND expires > $3 ORDER BY expires DESC LIMIT 1', [accountId, identifier, now]);
      const a = r.rows[0]?.record;
      return a && authorizationStatus(a, now) === 'valid' ? a : undefined;
    },
    async newOrderReads(accountId, identifiers, now) {
      // listOrderIds and findReusableAuthorization for every identifier, as one statement.
      const r = await q<{ order_ids: string[]; reuse: AuthorizationRecord[] }>(db, 'order-new-reads', `SELECT
          ARRAY(SELECT id FROM orders WHERE account_id = $1 ORDER BY created_at, id) AS order_ids,
          (SELECT coalesce(jsonb_agg(r.record), '[]'::jsonb) FROM unnest($2::text[]) AS n(identifier) CROSS JOIN LATERAL
            (SELECT record FROM authorizations WHERE account_id = $1 AND identifier = n.identifier AND reusable AND expires > $3 ORDER BY expires DESC LIMIT 1) r) AS reuse`,
      [accountId, identifiers, now]);
      const row = r.rows[0]!;
      const reusable = new Map<string, AuthorizationRecord>();
      for (const a of row.reuse) if (authorizationStatus(a, now) === 'valid') reusable.set(a.identifier.value, a);
      return { orderIds: row.order_ids, reusable };
    },
  };
}

const AUTHZ_INSERT = `INSERT INTO authorizations (id, account_id, identifier, expires, reusable, record)
  SELECT x->>'id', x->>'account', x->>'identifier', (x->>'expires')::timestamptz, (x->>'reusable')::boolean, x->'record'`;
const ORDER_INSERT = `INSERT INTO orders (id, account_id, authorization_ids, expires, replaces_serial, record, created_at)`;
/** $1 the new authorizations (JSON rows for AUTHZ_INSERT), $2–$8 the order's columns. */
function orderValues(order: OrderRecord, authzs: readonly AuthorizationRecord[]): unknown[] {
  const rows = authzs.map((a) => ({ id: a.id, account: a.accountId, identifier: a.identifier.value, expires: a.expires, reusable: reusable(a), record: a }));
  return [JSON.stringify(rows), order.id, order.accountId, order.authorizationIds, order.expires, order.replacesSerial ?? null, order, order.createdAt];
}

const CERT_INSERT = `INSERT INTO certificates (serial, order_id, account_id, node, not_after, replaces, spki_sha256, record, chain_pem)`;
// A committed certificate makes its order valid (the order's own write may never happen).
const ORDER_OF_CERT = `UPDATE orders o SET certificate_serial = c.serial, record = jsonb_set(o.record, '{certificateSerial}', to_jsonb(c.serial)), version = o.version + 1
  FROM c WHERE o.id = c.order_id AND o.certificate_serial IS NULL`;

/**
 * The certificate, its order's certificateSerial and its audit entry as one autocommitted
 * statement (src/store/pg/audit.ts appendWith), when this instance knows the audit chain's head:
 * the entry is signed over that head first. A head moved by another instance is retried over the
 * head the statement saw; false (nothing written): use the transaction, which locks the head.
 */
async function putAuditedInOneStatement(db: pg.Pool, commit: CommitHook, values: unknown[]): Promise<boolean> {
  let head = knownHead(db);
  for (let attempt = 0; head && attempt < 3; attempt++) {
    const collected = await collectAppends(head, commit);
    if (!collected) return false;
    const r = await appendWith(db, head, collected, 'cert-insert-audited', `c AS (${CERT_INSERT}
        SELECT $13, $14, $15, $16, $17::timestamptz, $18, $19, $20::jsonb, $21 FROM moved RETURNING serial, order_id),
      o AS (${ORDER_OF_CERT})`, values);
    if (r.appended) return true;
    // The head did not move, yet the append did not happen: its entry is missing or differs. The
    // transaction's append reports that (AUDIT_DAMAGED) instead of retrying here.
    if (!r.head || (r.head.seq === head.seq && r.head.hash === head.hash)) return false;
    head = r.head;
  }
  return false;
}

function certificateMethods(db: pg.Pool, pending: Set<string>, orderHints: VersionHints<OrderRecord>): Pick<AcmeStore, 'putCertificate' | 'getCertificate' | 'getCertificateChain' | 'hasSerial' | 'listCertificates' | 'findReplacements'> {
  const issued = new IssuedCache();
  return {
    async putCertificate(cert, chainPem, commit) {
      pending.add(cert.serial);
      try {
        // The certificate, its order's certificateSerial and (through the commit hook) its audit
        // entry in one statement or one transaction: all three are committed, or none.
        const values = [cert.serial, cert.orderId, cert.accountId, cert.node, cert.notAfter, cert.replaces ?? null, cert.spkiSha256, cert, chainPem];
        if (!(commit && (await oneAppendAtATime(db, () => putAuditedInOneStatement(db, commit, values))))) {
          await inTransaction(db, async (tx) => {
            await q(tx, 'cert-insert', `WITH c AS (${CERT_INSERT} VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING serial, order_id) ${ORDER_OF_CERT}`, values);
            await commit?.();
          });
        }
        // The statement moved the order too (ORDER_OF_CERT): the hint follows it (a hint that was
        // already stale stays stale, and the next update's version check finds that out).
        const o = orderHints.get(cert.orderId);
        if (o && !o.record.certificateSerial) orderHints.set(cert.orderId, { ...o.record, certificateSerial: cert.serial }, o.version + 1);
        else orderHints.drop(cert.orderId);
        issued.set(JSON.parse(JSON.stringify(cert)) as CertificateRecord, chainPem);
      } catch (err) {
        const c = uniqueViolation(err);
        if (c === 'certificates_order_id_key') {
          const other = await q<{ serial: string }>(db, 'cert-of-order', 'SELECT serial FROM certificates WHERE order_id = $1', [cert.orderId]);
          throw conflict(`order ${cert.orderId} already has a certificate`, other.rows[0]?.serial);
        }
        if (c !== undefined) throw conflict(`serial ${cert.serial} already issued`);
        throw err;
      } finally {
        pending.delete(cert.serial);
      }
    },
    async getCertificate(serial) {
      const hit = issued.get(serial);
      if (hit) return structuredClone(hit.record);
      return (await q<{ record: CertificateRecord }>(db, 'cert-get', 'SELECT record FROM certificates WHERE serial = $1', [serial])).rows[0]?.record;
    },
    async getCertificateChain(serial) {
      const hit = issued.get(serial);
      if (hit) return hit.chainPem;
      return (await q<{ chain_pem: string }>(db, 'cert-chain', 'SELECT chain_pem FROM certificates WHERE serial = $1', [serial])).rows[0]?.chain_pem;
    },
    // Serials being written by this process; the primary key makes "unique" a fact across instances.
    hasSerial: (serial) => pending.has(serial),
    async listCertificates(query: CertificateQuery = {}) {
      const r = await q<{ record: CertificateRecord }>(db, 'cert-list', `SELECT record FROM certificates
        WHERE ($1::text IS NULL OR node = $1) AND ($2::text IS NULL OR account_id = $2) AND ($3::timestamptz IS NULL OR not_after > $3)
        ORDER BY issued_seq`, [query.node ?? null, query.accountId ?? null, query.validAt ?? null]);
      return r.rows.map((x) => x.record);
    },
    async findReplacements(serial) {
      const [c, o] = await Promise.all([
        q<{ serial: string }>(db, 'cert-replacing', 'SELECT serial FROM certificates WHERE replaces = $1 ORDER BY issued_seq', [serial]),
        q<{ record: OrderRecord }>(db, 'order-replacing', 'SELECT record FROM orders WHERE replaces_serial = $1', [serial]),
      ]);
      return { certificates: c.rows.map((x) => x.serial), orders: o.rows.map((x) => x.record) };
    },
  };
}

function revocationMethods(db: pg.Pool): Pick<AcmeStore, 'putRevocation' | 'getRevocation' | 'listRevocations'> {
  return {
    async putRevocation(rev, commit) {
      try {
        // NOTIFY is delivered at commit: every instance regenerates its CRL (src/store/pg/notify.ts).
        // The audit entry (commit hook) is in the same transaction, as in putCertificate.
        await inTransaction(db, async (tx) => {
          await q(tx, 'rev-insert', `WITH r AS (INSERT INTO revocations (serial, revoked_at, record) VALUES ($1, $2, $3) RETURNING serial)
            SELECT pg_notify('nixca_revocation', serial) FROM r`, [rev.serial, rev.revokedAt, rev]);
          await commit?.();
        });
      } catch (err) {
        if (uniqueViolation(err) !== undefined) throw conflict(`serial ${rev.serial} is already revoked`);
        throw err;
      }
    },
    async getRevocation(serial) {
      return (await q<{ record: RevocationRecord }>(db, 'rev-get', 'SELECT record FROM revocations WHERE serial = $1', [serial])).rows[0]?.record;
    },
    async listRevocations() {
      return (await q<{ record: RevocationRecord }>(db, 'rev-list', 'SELECT record FROM revocations ORDER BY seq', [])).rows.map((r) => r.record);
    },
  };
}

/** `instance`: this process's id, in `instances` (health probe) and as its nonces' home (hex). */
export function createPgAcmeStore(db: pg.Pool, instance: string, opts: PgAcmeStoreOptions = {}): PgAcmeStore {
  const now = opts.now ?? (() => new Date());
  const grace = opts.workingSetGraceMs ?? 0;
  const pending = new Set<string>();
  const hints: WorkingSetHints = { orders: new VersionHints<OrderRecord>(), authz: new VersionHints<AuthorizationRecord>() };
  let lastCrl = 0;
  let stats: AcmeStoreStats = EMPTY_STATS;
  const recount = () => countStats(db, now()).then((s) => void (stats = s), () => undefined);
  void recount();
  const statsTimer = setInterval(recount, opts.statsEveryMs ?? 15_000);
  statsTimer.unref();
  return {
    readOnly: false,
    // The issuance's statement (or transaction) sets the order's certificateSerial (ORDER_OF_CERT).
    recordsOrderCertificate: true,
    sharedByInstances: true,
    ...accountMethods(db, new NotifiedCache<AccountRecord>(opts.feed, 'nixca_account')),
    ...workingSetMethods(db, new RowCache<AuthorizationRecord>(opts.feed, 'nixca_authz_row'), hints),
    ...certificateMethods(db, pending, hints.orders),
    ...revocationMethods(db),
    crlNumber: () => lastCrl,
    async recordCrlNumber(n) {
      const r = await q(db, 'crl-record', 'UPDATE crl_number SET n = $1 WHERE n < $1', [n]);
      if (r.rowCount !== 1) throw new RangeError(`CRL number ${n} does not increase`);
      lastCrl = n;
    },
    async nextCrlNumber() {
      const r = await q<{ n: string }>(db, 'crl-next', 'UPDATE crl_number SET n = n + 1 RETURNING n', []);
      lastCrl = Number(r.rows[0]!.n);
      return lastCrl;
    },
    stats: () => stats,
    async checkWritable() {
      await q(db, 'health-write', 'INSERT INTO instances (id, seen_at) VALUES ($1, now()) ON CONFLICT (id) DO UPDATE SET seen_at = excluded.seen_at', [instance]);
    },
    async prune(at) {
      const cutoff = new Date(at.getTime() - grace);
      const o = await q(db, 'prune-orders', 'DELETE FROM orders WHERE expires < $1', [cutoff]);
      const a = await q(db, 'prune-authz', `DELETE FROM authorizations a WHERE expires < $1
        AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.authorization_ids @> ARRAY[a.id])`, [cutoff]);
      // Nonces no longer go to nonces_used (home-instance nonces, src/acme/nonces.ts), but instances
      // of the previous release still write it during a rolling upgrade: its rows are still pruned,
      // and a later migration drops the table once no such instance can run.
      await q(db, 'prune-nonces', 'DELETE FROM nonces_used WHERE expires < $1', [at]);
      // Each serve process has its own row (its /health probe): rows of instances silent for a week
      // are gone processes. Database time, as seen_at is. Certificates, revocations, CRL number and
      // the audit chain are never pruned (as on the embedded store).
      await q(db, 'prune-instances', "DELETE FROM instances WHERE seen_at < now() - interval '7 days'", []);
      void recount();
      return { orders: o.rowCount ?? 0, authorizations: a.rowCount ?? 0 };
    },
    async close() {
      clearInterval(statsTimer);
    },
  };
}
