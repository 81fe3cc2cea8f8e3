// The ACME store (src/acme/store.ts) on local files, laid out so that the cost of a write does not
// grow with history (docs/acme.md "Store layout"):
//
//   acme/ledger.jsonl   append-only, fsync'd: accounts (every version), certificates (with their
//                       chain), revocations. Never rewritten. Indexes are rebuilt in memory at open;
//                       certificate chains stay on disk and are read by offset when downloaded.
//   acme/working.jsonl  append-only, fsync'd: versions of orders and authorizations (the bounded
//                       in-flight set). Compacted (rewritten from memory: temp, fsync, rename) when
//                       dead versions outnumber live ones; expired records are pruned then.
//   acme/meta.json      lowdb: format version and compaction bookkeeping (small, bounded).
//
// A crash can only tear the last line of a log, which is dropped at open (it was never
// acknowledged). Nonces are not stored (src/acme/nonces.ts).
import { mkdir, open } from 'node:fs/promises';
import { join } from 'node:path';
import type { AcmeStore, CertificateQuery } from '../acme/store.js';
import { StoreConflictError } from '../acme/store.js';
import type { AccountRecord, AuthorizationRecord, CertificateRecord, OrderRecord, RevocationRecord } from '../acme/model.js';
import { authorizationStatus } from '../acme/status.js';
import { AppendLog, readJsonLines, StoreCorruptError, syncDir } from './acme-log.js';
import { openJsonDocument } from './lowdb.js';

export const ACME_DIR = 'acme';
const FORMAT = 1;

export interface AcmeStoreOptions {
  /** How long past `expires` orders and authorizations are kept (default 0: pruned once expired). */
  workingSetGraceMs?: number;
  /** Clock for pruning at open (tests). */
  now?: () => Date;
}

interface Meta {
  format: number;
  createdAt: string;
  compactions: number;
  lastCompactionAt: string | null;
}

type LedgerEntry =
  | { t: 'account'; v: AccountRecord }
  | { t: 'cert'; v: CertificateRecord; chain: string }
  | { t: 'revocation'; v: RevocationRecord };

type WorkingEntry = { t: 'order'; v: OrderRecord } | { t: 'authz'; v: AuthorizationRecord };

interface CertEntry {
  record: CertificateRecord;
  offset: number;
  length: number;
}

export async function openAcmeStore(stateDir: string, opts: AcmeStoreOptions = {}): Promise<AcmeStore & { stats(): AcmeStoreStats }> {
  const dir = join(stateDir, ACME_DIR);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const now = opts.now ?? (() => new Date());
  const grace = opts.workingSetGraceMs ?? 0;
  const meta = await openJsonDocument<Meta>(join(dir, 'meta.json'), { format: FORMAT, createdAt: now().toISOString(), compactions: 0, lastCompactionAt: null });
  if (meta.data.format !== FORMAT) throw new StoreCorruptError(`${dir}/meta.json: unknown ACME store format ${String(meta.data.format)}`);
  await meta.write();

  // --- ledger: accounts, certificates, revocations ---
  const ledgerFile = join(dir, 'ledger.jsonl');
  const accounts = new Map<string, AccountRecord>();
  const byThumbprint = new Map<string, string>();
  const certs = new Map<string, CertEntry>();
  const revocations = new Map<string, RevocationRecord>();
  const ledgerSize = await readJsonLines(ledgerFile, (value, offset, length) => {
    const e = value as LedgerEntry;
    switch (e?.t) {
      case 'account': {
        const prev = accounts.get(e.v.id);
        if (prev && byThumbprint.get(prev.thumbprint) === prev.id) byThumbprint.delete(prev.thumbprint);
        accounts.set(e.v.id, e.v);
        byThumbprint.set(e.v.thumbprint, e.v.id);
        break;
      }
      case 'cert':
        certs.set(e.v.serial, { record: e.v, offset, length });
        break;
      case 'revocation':
        revocations.set(e.v.serial, e.v);
        break;
      default:
        throw new StoreCorruptError(`${ledgerFile}: unknown entry at byte ${offset}`);
    }
  });
  const ledger = await AppendLog.open(ledgerFile, ledgerSize);

  // --- working set: orders and authorizations ---
  const workingFile = join(dir, 'working.jsonl');
  const orders = new Map<string, OrderRecord>();
  const authzs = new Map<string, AuthorizationRecord>();
  let workingLines = 0;
  const workingSize = await readJsonLines(workingFile, (value, offset) => {
    const e = value as WorkingEntry;
    workingLines++;
    if (e?.t === 'order') orders.set(e.v.id, e.v);
    else if (e?.t === 'authz') authzs.set(e.v.id, e.v);
    else throw new StoreCorruptError(`${workingFile}: unknown entry at byte ${offset}`);
  });
  const working = await AppendLog.open(workingFile, workingSize);
  await syncDir(dir);

  // Secondary indexes, rebuilt from the maps.
  const ordersByAccount = new Map<string, Set<string>>();
  const reusable = new Map<string, string>(); // accountId \n identifier → authz id (valid)
  const indexOrder = (o: OrderRecord) => {
    let s = ordersByAccount.get(o.accountId);
    if (!s) ordersByAccount.set(o.accountId, (s = new Set()));
    s.add(o.id);
  };
  const reuseKey = (accountId: string, identifier: string) => `${accountId}\n${identifier}`;
  const indexAuthz = (a: AuthorizationRecord) => {
    const key = reuseKey(a.accountId, a.identifier.value);
    if (a.challenges.some((c) => c.status === 'valid') && !a.deactivated && !a.revoked) reusable.set(key, a.id);
    else if (reusable.get(key) === a.id) reusable.delete(key);
  };

  const writeWorking = async (e: WorkingEntry) => {
    workingLines++;
    await working.append(JSON.stringify(e));
    await maybeCompact();
  };

  // Reconcile: a certificate committed just before a crash makes its order valid (the ledger is
  // the source of truth for issuance; the order update may not have reached the disk).
  for (const { record } of certs.values()) {
    const o = orders.get(record.orderId);
    if (o && !o.certificateSerial) {
      const fixed = { ...o, certificateSerial: record.serial };
      orders.set(o.id, fixed);
      await working.append(JSON.stringify({ t: 'order', v: fixed }));
      workingLines++;
    }
  }

  function prunedInMemory(at: Date): { orders: number; authorizations: number } {
    const cutoff = at.getTime() - grace;
    let o = 0;
    let a = 0;
    const live = new Set<string>();
    for (const [id, order] of orders) {
      if (Date.parse(order.expires) < cutoff) {
        orders.delete(id);
        ordersByAccount.get(order.accountId)?.delete(id);
        o++;
      } else {
        for (const aid of order.authorizationIds) live.add(aid);
      }
    }
    for (const [id, authz] of authzs) {
      if (Date.parse(authz.expires) < cutoff && !live.has(id)) {
        authzs.delete(id);
        const key = reuseKey(authz.accountId, authz.identifier.value);
        if (reusable.get(key) === id) reusable.delete(key);
        a++;
      }
    }
    return { orders: o, authorizations: a };
  }

  let compacting: Promise<void> | undefined;
  async function compact(): Promise<void> {
    const lines = [
      ...[...authzs.values()].map((v) => JSON.stringify({ t: 'authz', v })),
      ...[...orders.values()].map((v) => JSON.stringify({ t: 'order', v })),
    ];
    await working.rewrite(lines);
    workingLines = lines.length;
    meta.data.compactions++;
    meta.data.lastCompactionAt = now().toISOString();
    await meta.write();
  }
  async function maybeCompact(): Promise<void> {
    const live = orders.size + authzs.size;
    if (compacting || workingLines < 2 * live + 1000) return;
    compacting = compact().finally(() => (compacting = undefined));
    await compacting;
  }

  prunedInMemory(now());
  for (const o of orders.values()) indexOrder(o);
  for (const a of authzs.values()) indexAuthz(a);
  await maybeCompact();

  const store: AcmeStore & { stats(): AcmeStoreStats } = {
    async getAccount(id) {
      return accounts.get(id);
    },
    async findAccountByThumbprint(thumbprint) {
      const id = byThumbprint.get(thumbprint);
      return id === undefined ? undefined : accounts.get(id);
    },
    async createAccount(account) {
      const other = byThumbprint.get(account.thumbprint);
      if (other !== undefined) throw new StoreConflictError('an account with this key exists', other);
      if (accounts.has(account.id)) throw new StoreConflictError('account id exists', account.id);
      accounts.set(account.id, account);
      byThumbprint.set(account.thumbprint, account.id);
      await ledger.append(JSON.stringify({ t: 'account', v: account }));
      return account;
    },
    async updateAccount(id, fn) {
      const cur = accounts.get(id);
      if (!cur) return undefined;
      const next = fn(cur);
      if (!next) return cur;
      if (next.thumbprint !== cur.thumbprint) {
        const other = byThumbprint.get(next.thumbprint);
        if (other !== undefined && other !== id) throw new StoreConflictError('an account with this key exists', other);
        byThumbprint.delete(cur.thumbprint);
        byThumbprint.set(next.thumbprint, id);
      }
      accounts.set(id, next);
      await ledger.append(JSON.stringify({ t: 'account', v: next }));
      return next;
    },

    async createOrder(order, newAuthzs) {
      for (const a of newAuthzs) {
        authzs.set(a.id, a);
        indexAuthz(a);
      }
      orders.set(order.id, order);
      indexOrder(order);
      workingLines += newAuthzs.length + 1;
      // One batch: the appender group-commits these lines with one fdatasync.
      await Promise.all([
        ...newAuthzs.map((v) => working.append(JSON.stringify({ t: 'authz', v }))),
        working.append(JSON.stringify({ t: 'order', v: order })),
      ]);
      await maybeCompact();
    },
    async getOrder(id) {
      return orders.get(id);
    },
    async listOrderIds(accountId) {
      return [...(ordersByAccount.get(accountId) ?? [])];
    },
    async updateOrder(id, fn) {
      const cur = orders.get(id);
      if (!cur) return undefined;
      const next = fn(cur);
      if (!next) return cur;
      orders.set(id, next);
      await writeWorking({ t: 'order', v: next });
      return next;
    },
    async getAuthorization(id) {
      return authzs.get(id);
    },
    async updateAuthorization(id, fn) {
      const cur = authzs.get(id);
      if (!cur) return undefined;
      const next = fn(cur);
      if (!next) return undefined;
      authzs.set(id, next);
      indexAuthz(next);
      await writeWorking({ t: 'authz', v: next });
      return next;
    },
    async findReusableAuthorization(accountId, identifier, at) {
      const id = reusable.get(reuseKey(accountId, identifier));
      const a = id === undefined ? undefined : authzs.get(id);
      return a && authorizationStatus(a, at) === 'valid' ? a : undefined;
    },

    async putCertificate(cert, chainPem) {
      if (certs.has(cert.serial)) throw new StoreConflictError(`serial ${cert.serial} already issued`);
      // Reserve the serial before the first await so a concurrent put of the same serial conflicts.
      const entry: CertEntry = { record: cert, offset: -1, length: 0 };
      certs.set(cert.serial, entry);
      const line = JSON.stringify({ t: 'cert', v: cert, chain: chainPem });
      try {
        entry.offset = await ledger.append(line);
        entry.length = Buffer.byteLength(line) + 1;
      } catch (err) {
        certs.delete(cert.serial);
        throw err;
      }
    },
    async getCertificate(serial) {
      const e = certs.get(serial);
      return e && e.offset >= 0 ? e.record : undefined;
    },
    async getCertificateChain(serial) {
      const e = certs.get(serial);
      if (!e || e.offset < 0) return undefined;
      const fh = await open(ledgerFile, 'r');
      try {
        const buf = Buffer.alloc(e.length);
        await fh.read(buf, 0, e.length, e.offset);
        return (JSON.parse(buf.toString('utf8')) as { chain: string }).chain;
      } finally {
        await fh.close();
      }
    },
    hasSerial(serial) {
      return certs.has(serial);
    },
    async listCertificates(query: CertificateQuery = {}) {
      const out: CertificateRecord[] = [];
      const t = query.validAt?.getTime();
      for (const { record, offset } of certs.values()) {
        if (offset < 0) continue;
        if (query.node !== undefined && record.node !== query.node) continue;
        if (query.accountId !== undefined && record.accountId !== query.accountId) continue;
        if (t !== undefined && Date.parse(record.notAfter) <= t) continue;
        out.push(record);
      }
      return out;
    },

    async putRevocation(rev) {
      if (revocations.has(rev.serial)) throw new StoreConflictError(`serial ${rev.serial} is already revoked`);
      revocations.set(rev.serial, rev);
      await ledger.append(JSON.stringify({ t: 'revocation', v: rev }));
    },
    async getRevocation(serial) {
      return revocations.get(serial);
    },
    async listRevocations() {
      return [...revocations.values()];
    },

    async prune(at) {
      const r = prunedInMemory(at);
      if (r.orders || r.authorizations) await maybeCompact();
      return r;
    },
    async close() {
      if (compacting) await compacting;
      await Promise.all([ledger.close(), working.close()]);
    },
    stats() {
      return {
        accounts: accounts.size,
        certificates: certs.size,
        revocations: revocations.size,
        orders: orders.size,
        authorizations: authzs.size,
        ledgerBytes: ledger.size,
        workingBytes: working.size,
        workingLines,
      };
    },
  };
  return store;
}

export interface AcmeStoreStats {
  accounts: number;
  certificates: number;
  revocations: number;
  orders: number;
  authorizations: number;
  ledgerBytes: number;
  workingBytes: number;
  workingLines: number;
}
