// The ACME store (src/acme/store.ts) on local files, laid out so that the cost of a write does not
// grow with history (docs/acme.md "Store layout"):
//
//   acme/ledger.jsonl   append-only, fsync'd: accounts (every version), certificates, revocations.
//                       Never rewritten. At open only small indexes are rebuilt (id/key → byte
//                       offset of the latest version, serials); records are read back by offset
//                       (pread) on demand, through a bounded cache, so memory per record is ~100 B.
//   acme/chains.pem     append-only, fsync'd: the PEM chain of every certificate, concatenated; a
//                       ledger record points at its bytes (offset, length). Never parsed at open,
//                       so opening costs no time or memory per issued chain.
//   acme/working.jsonl  append-only, fsync'd: versions of orders and authorizations (the bounded
//                       in-flight set). Compacted (rewritten from memory: temp, fsync, rename) when
//                       dead versions outnumber live ones; expired records are pruned then.
//   acme/meta.json      lowdb: format version and compaction bookkeeping (small, bounded).
//
// A crash can only tear the last line of a log, which is dropped at open (it was never
// acknowledged). Nonces are not stored (src/acme/nonces.ts).
import { mkdir, open, stat, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { AcmeStore, AcmeStoreStats, CertificateQuery } from '../acme/store.js';
import { StoreConflictError } from '../acme/store.js';
import type { AccountRecord, AuthorizationRecord, CertificateRecord, OrderRecord, RevocationRecord } from '../acme/model.js';
import { authorizationStatus, orderStatus } from '../acme/status.js';
import { AppendLog, readJsonLines, StoreCorruptError, syncDir } from './acme-log.js';
import { lockHolder, tryFileLock, type FileLock } from './lock.js';
import { openJsonDocument } from './lowdb.js';

export const ACME_DIR = 'acme';
const FORMAT = 1;

export interface AcmeStoreOptions {
  /** How long past `expires` orders and authorizations are kept (default 0: pruned once expired). */
  workingSetGraceMs?: number;
  /** Clock for pruning at open (tests). */
  now?: () => Date;
  /** Parsed accounts / certificates kept in memory (LRU, each; default 4096). */
  cacheSize?: number;
  /**
   * Open for reading only (nixca status, audits): no lock, no repair, no compaction, every write
   * throws StoreLockedError. A writable open of a store whose writer lock is held by another live
   * process (nixca serve) also ends up read-only: the store has exactly one writer.
   */
  readOnly?: boolean;
}

interface Meta {
  format: number;
  createdAt: string;
  compactions: number;
  lastCompactionAt: string | null;
  /** Last CRL number used by the served CRL (src/acme/crl.ts); absent before the first. */
  crlNumber?: number;
}

type LedgerEntry =
  | { t: 'account'; v: AccountRecord }
  | { t: 'cert'; v: CertificateRecord; chain: { offset: number; length: number } }
  | { t: 'revocation'; v: RevocationRecord };

type WorkingEntry = { t: 'order'; v: OrderRecord } | { t: 'authz'; v: AuthorizationRecord };

/** Where a record lives: byte offset and length of its line in the ledger (or chain in chains.pem). */
interface Loc {
  offset: number;
  length: number;
}

interface CertLoc {
  line: Loc;
  chain: Loc;
}

/** A small LRU (Map keeps insertion order; a hit moves the key to the end). */
class Lru<V> {
  readonly #map = new Map<string, V>();
  constructor(readonly max: number) {}
  get(k: string): V | undefined {
    const v = this.#map.get(k);
    if (v !== undefined) {
      this.#map.delete(k);
      this.#map.set(k, v);
    }
    return v;
  }
  set(k: string, v: V): void {
    this.#map.delete(k);
    this.#map.set(k, v);
    if (this.#map.size > this.max) this.#map.delete(this.#map.keys().next().value as string);
  }
}

export class StoreLockedError extends Error {
  override readonly name = 'StoreLockedError';
  readonly kind = 'conflict';
}

/**
 * The single-writer lock (acme/writer.lock), held for the store's lifetime through
 * src/store/lock.ts: a kernel lock, released when the writer closes the store or dies, so two
 * writers starting together never both win and a killed writer never blocks the next. Returns who
 * holds it ("process PID") when someone else writes.
 */
async function acquireWriterLock(file: string): Promise<FileLock | { heldBy: string }> {
  return (await tryFileLock(file)) ?? { heldBy: await lockHolder(file) };
}

/** Stands in for an AppendLog in a read-only store: nothing can be written through it. */
function readOnlyLog(file: string, size: number, why: string): AppendLog {
  const refuse = () => Promise.reject(new StoreLockedError(why));
  return { file, size, append: refuse, rewrite: refuse, close: () => Promise.resolve() } as unknown as AppendLog;
}

export async function openAcmeStore(stateDir: string, opts: AcmeStoreOptions = {}): Promise<AcmeStore> {
  const dir = join(stateDir, ACME_DIR);
  const now = opts.now ?? (() => new Date());
  const grace = opts.workingSetGraceMs ?? 0;
  let lock: FileLock | undefined;
  let readOnlyWhy: string | undefined = opts.readOnly ? 'the ACME store was opened read-only' : undefined;
  if (!opts.readOnly) {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const got = await acquireWriterLock(join(dir, 'writer.lock'));
    if ('heldBy' in got) readOnlyWhy = `the ACME store is being written by ${got.heldBy} (nixca serve?): stop it, or make the change through ACME`;
    else lock = got;
  }
  const ro = readOnlyWhy !== undefined;
  const guard = () => {
    if (readOnlyWhy !== undefined) throw new StoreLockedError(readOnlyWhy);
  };
  const openLog = (file: string, size: number) => (ro ? Promise.resolve(readOnlyLog(file, size, readOnlyWhy!)) : AppendLog.open(file, size));
  const meta = await openJsonDocument<Meta>(join(dir, 'meta.json'), { format: FORMAT, createdAt: now().toISOString(), compactions: 0, lastCompactionAt: null });
  if (meta.data.format !== FORMAT) {
    await lock?.release();
    throw new StoreCorruptError(`${dir}/meta.json: unknown ACME store format ${String(meta.data.format)}`);
  }
  if (!ro) await meta.write();

  // --- working set: orders and authorizations (bounded; fully in memory) ---
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
  }, { repair: !ro }).catch(async (err) => {
    await lock?.release();
    throw err;
  });
  const working = await openLog(workingFile, workingSize);

  // --- ledger: accounts, certificates, revocations (indexes only) ---
  const ledgerFile = join(dir, 'ledger.jsonl');
  const chainsFile = join(dir, 'chains.pem');
  let ledger: AppendLog;
  let chains: AppendLog;
  const accountLoc = new Map<string, Loc>();
  const byThumbprint = new Map<string, string>();
  const certLoc = new Map<string, CertLoc>();
  const revocations = new Map<string, RevocationRecord>();
  // RFC 9773 §5: replaced serial → serial of the certificate that replaced it (alreadyReplaced).
  const replacedBy = new Map<string, string>();
  const reconcile: OrderRecord[] = [];
  // If anything below fails (a damaged ledger), the logs opened so far are closed, not leaked.
  const opened: AppendLog[] = [working];
  try {
    const ledgerSize = await readJsonLines(ledgerFile, (value, offset, length) => {
      const e = value as LedgerEntry;
      switch (e?.t) {
        case 'account': {
          accountLoc.set(e.v.id, { offset, length });
          // Old thumbprints of an account (keyChange) stay in the index; lookups check the current key.
          byThumbprint.set(e.v.thumbprint, e.v.id);
          break;
        }
        case 'cert': {
          certLoc.set(e.v.serial, { line: { offset, length }, chain: e.chain });
          if (e.v.replaces) replacedBy.set(e.v.replaces, e.v.serial);
          // Reconcile: a certificate committed just before a crash makes its order valid (the ledger
          // is the source of truth for issuance; the order update may not have reached the disk).
          const o = orders.get(e.v.orderId);
          if (o && !o.certificateSerial) {
            const fixed = { ...o, certificateSerial: e.v.serial };
            orders.set(o.id, fixed);
            reconcile.push(fixed);
          }
          break;
        }
        case 'revocation':
          revocations.set(e.v.serial, e.v);
          break;
        default:
          throw new StoreCorruptError(`${ledgerFile}: unknown entry at byte ${offset}`);
      }
    }, { repair: !ro });
    ledger = await openLog(ledgerFile, ledgerSize);
    opened.push(ledger);
    // Bytes after the last referenced chain (a crash between the two appends) are harmless garbage.
    const chainsSize = await stat(chainsFile).then((st) => st.size, () => 0);
    chains = await openLog(chainsFile, chainsSize);
    opened.push(chains);
    if (!ro) await syncDir(dir);
  } catch (err) {
    await Promise.all(opened.map((log) => log.close().catch(() => undefined)));
    await lock?.release();
    throw err;
  }
  // A read-only view shows reconciled orders in memory but leaves the writing to the writer.
  if (!ro) for (const fixed of reconcile) {
    await working.append(JSON.stringify({ t: 'order', v: fixed }));
    workingLines++;
  }

  // Records not yet durable (their offset is unknown) and recently used ones.
  const pendingAccounts = new Map<string, AccountRecord>();
  const pendingCerts = new Map<string, CertificateRecord>();
  const accountCache = new Lru<AccountRecord>(opts.cacheSize ?? 4096);
  const certCache = new Lru<CertificateRecord>(opts.cacheSize ?? 4096);
  // One read handle per log, opened on first use and kept: a certificate download or an account
  // cache miss is one pread, not open + pread + close. Neither file is ever rewritten (only
  // working.jsonl is compacted), so a handle stays valid for the store's lifetime.
  const readers = new Map<'ledger' | 'chains', Promise<FileHandle>>();
  async function readAt(file: 'ledger' | 'chains', loc: Loc): Promise<Buffer> {
    let fh = readers.get(file);
    if (!fh) {
      fh = open(file === 'ledger' ? ledgerFile : chainsFile, 'r');
      readers.set(file, fh);
      fh.catch(() => readers.delete(file));
    }
    const buf = Buffer.alloc(loc.length);
    await (await fh).read(buf, 0, loc.length, loc.offset);
    return buf;
  }
  async function loadAccount(id: string): Promise<AccountRecord | undefined> {
    const p = pendingAccounts.get(id) ?? accountCache.get(id);
    if (p) return p;
    const loc = accountLoc.get(id);
    if (!loc) return undefined;
    const rec = (JSON.parse((await readAt('ledger', loc)).toString('utf8')) as { v: AccountRecord }).v;
    // An update may have landed while we read: the in-memory version wins.
    const newer = pendingAccounts.get(id) ?? accountCache.get(id);
    if (newer) return newer;
    if (accountLoc.get(id) === loc) accountCache.set(id, rec);
    return rec;
  }
  async function loadCert(serial: string): Promise<CertificateRecord | undefined> {
    const p = pendingCerts.get(serial) ?? certCache.get(serial);
    if (p) return p;
    const loc = certLoc.get(serial);
    if (!loc) return undefined;
    const rec = (JSON.parse((await readAt('ledger', loc.line)).toString('utf8')) as { v: CertificateRecord }).v;
    certCache.set(serial, rec);
    return rec;
  }
  async function appendAccount(rec: AccountRecord): Promise<void> {
    pendingAccounts.set(rec.id, rec);
    const line = JSON.stringify({ t: 'account', v: rec });
    try {
      const offset = await ledger.append(line);
      // Only the latest version becomes the indexed one (appends complete in order).
      if (pendingAccounts.get(rec.id) === rec) {
        accountLoc.set(rec.id, { offset, length: Buffer.byteLength(line) + 1 });
        accountCache.set(rec.id, rec);
        pendingAccounts.delete(rec.id);
      }
    } catch (err) {
      if (pendingAccounts.get(rec.id) === rec) pendingAccounts.delete(rec.id);
      throw err;
    }
  }

  /**
   * Points a key thumbprint at an account, unless another account currently holds that key. The
   * index may still name an account that has since changed its key (old versions are indexed at
   * open), so a holder is confirmed by loading it. The claim is synchronous after the last await.
   */
  async function claimThumbprint(thumbprint: string, id: string): Promise<void> {
    for (;;) {
      const other = byThumbprint.get(thumbprint);
      if (other === undefined || other === id) break;
      const holder = await loadAccount(other);
      if (byThumbprint.get(thumbprint) !== other) continue;
      if (holder && holder.thumbprint === thumbprint) throw new StoreConflictError('an account with this key exists', other);
      break;
    }
    byThumbprint.set(thumbprint, id);
  }

  // Secondary indexes of the working set, rebuilt from the maps.
  const ordersByAccount = new Map<string, Set<string>>();
  const ordersReplacing = new Map<string, Set<string>>(); // replaced serial → order ids
  const reusable = new Map<string, string>(); // accountId \n identifier → authz id (valid)
  const indexOrder = (o: OrderRecord) => {
    let s = ordersByAccount.get(o.accountId);
    if (!s) ordersByAccount.set(o.accountId, (s = new Set()));
    s.add(o.id);
    if (o.replacesSerial) {
      let r = ordersReplacing.get(o.replacesSerial);
      if (!r) ordersReplacing.set(o.replacesSerial, (r = new Set()));
      r.add(o.id);
    }
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

  function prunedInMemory(at: Date): { orders: number; authorizations: number } {
    const cutoff = at.getTime() - grace;
    let o = 0;
    let a = 0;
    const live = new Set<string>();
    for (const [id, order] of orders) {
      if (Date.parse(order.expires) < cutoff) {
        orders.delete(id);
        const mine = ordersByAccount.get(order.accountId);
        mine?.delete(id);
        if (mine?.size === 0) ordersByAccount.delete(order.accountId);
        if (order.replacesSerial) {
          const r = ordersReplacing.get(order.replacesSerial);
          r?.delete(id);
          if (r?.size === 0) ordersReplacing.delete(order.replacesSerial);
        }
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

  function inFlight(): number {
    const t = now().getTime();
    let n = 0;
    const at = new Date(t);
    for (const o of orders.values()) {
      if (o.certificateSerial || o.error || Date.parse(o.expires) <= t) continue;
      const st = orderStatus(o, o.authorizationIds.map((id) => authzs.get(id)).filter((a): a is AuthorizationRecord => a !== undefined), at, false);
      if (st === 'pending' || st === 'ready') n++;
    }
    return n;
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
    if (ro || compacting || workingLines < 2 * live + 1000) return;
    compacting = compact().finally(() => (compacting = undefined));
    await compacting;
  }

  prunedInMemory(now());
  for (const o of orders.values()) indexOrder(o);
  for (const a of authzs.values()) indexAuthz(a);
  await maybeCompact();

  const store: AcmeStore = {
    readOnly: ro,
    getAccount: loadAccount,
    async findAccountByThumbprint(thumbprint) {
      const id = byThumbprint.get(thumbprint);
      if (id === undefined) return undefined;
      const a = await loadAccount(id);
      // After a keyChange the old thumbprint no longer names the account.
      return a && a.thumbprint === thumbprint ? a : undefined;
    },
    async createAccount(account) {
      guard();
      await claimThumbprint(account.thumbprint, account.id);
      if (accountLoc.has(account.id) || pendingAccounts.has(account.id)) throw new StoreConflictError('account id exists', account.id);
      await appendAccount(account);
      return account;
    },
    async updateAccount(id, fn) {
      guard();
      const loaded = await loadAccount(id);
      if (!loaded) return undefined;
      // Re-read synchronously after the await: another update may have landed in between.
      const cur = pendingAccounts.get(id) ?? accountCache.get(id) ?? loaded;
      const next = fn(cur);
      if (!next) return cur;
      if (next.thumbprint !== cur.thumbprint) {
        await claimThumbprint(next.thumbprint, id);
        if (byThumbprint.get(cur.thumbprint) === id) byThumbprint.delete(cur.thumbprint);
      }
      await appendAccount(next);
      return next;
    },

    async createOrder(order, newAuthzs) {
      guard();
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
      guard();
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
      guard();
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
      guard();
      if (certLoc.has(cert.serial) || pendingCerts.has(cert.serial)) throw new StoreConflictError(`serial ${cert.serial} already issued`);
      // Reserve the serial before the first await so a concurrent put of the same serial conflicts.
      pendingCerts.set(cert.serial, cert);
      try {
        // The chain first, then the record that points at it: a crash in between leaves only
        // unreferenced bytes in chains.pem, never a record without its chain.
        const chain = { offset: await chains.append(chainPem), length: Buffer.byteLength(chainPem) };
        const line = JSON.stringify({ t: 'cert', v: cert, chain });
        const offset = await ledger.append(line);
        certLoc.set(cert.serial, { line: { offset, length: Buffer.byteLength(line) + 1 }, chain });
        certCache.set(cert.serial, cert);
        if (cert.replaces) replacedBy.set(cert.replaces, cert.serial);
      } finally {
        pendingCerts.delete(cert.serial);
      }
    },
    async getCertificate(serial) {
      // Only committed certificates are visible (a pending one has no chain on disk yet).
      return certLoc.has(serial) ? loadCert(serial) : undefined;
    },
    async getCertificateChain(serial) {
      const loc = certLoc.get(serial);
      return loc ? (await readAt('chains', loc.chain)).toString('utf8') : undefined;
    },
    hasSerial(serial) {
      return certLoc.has(serial) || pendingCerts.has(serial);
    },
    async listCertificates(query: CertificateQuery = {}) {
      // A scan of the ledger (rare: status, CRL, metrics); nothing of it stays in memory.
      const out: CertificateRecord[] = [];
      const t = query.validAt?.getTime();
      await readJsonLines(
        ledgerFile,
        (value) => {
          const e = value as LedgerEntry;
          if (e.t !== 'cert') return;
          const record = e.v;
          if (query.node !== undefined && record.node !== query.node) return;
          if (query.accountId !== undefined && record.accountId !== query.accountId) return;
          if (t !== undefined && Date.parse(record.notAfter) <= t) return;
          out.push(record);
        },
        { repair: false, end: ledger.size },
      );
      return out;
    },

    crlNumber() {
      return meta.data.crlNumber ?? 0;
    },
    async recordCrlNumber(n) {
      guard();
      if (!(Number.isSafeInteger(n) && n > (meta.data.crlNumber ?? 0))) throw new RangeError(`CRL number ${n} does not increase`);
      meta.data.crlNumber = n;
      await meta.write();
    },
    async findReplacements(serial) {
      const by = replacedBy.get(serial);
      const ids = ordersReplacing.get(serial) ?? new Set<string>();
      return { certificates: by ? [by] : [], orders: [...ids].map((id) => orders.get(id)).filter((o): o is OrderRecord => o !== undefined) };
    },

    async putRevocation(rev) {
      guard();
      if (revocations.has(rev.serial)) throw new StoreConflictError(`serial ${rev.serial} is already revoked`);
      revocations.set(rev.serial, rev);
      try {
        await ledger.append(JSON.stringify({ t: 'revocation', v: rev }));
      } catch (err) {
        revocations.delete(rev.serial);
        throw err;
      }
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
      const handles = [...readers.values()];
      readers.clear();
      await Promise.all([ledger.close(), working.close(), chains.close(), ...handles.map((h) => h.then((fh) => fh.close(), () => undefined))]);
      await lock?.release();
      lock = undefined;
    },
    async checkWritable() {
      guard();
      const probe = join(dir, '.health-probe');
      const fh = await open(probe, 'w', 0o600);
      try {
        await fh.writeFile(now().toISOString());
        await fh.sync();
      } finally {
        await fh.close();
      }
      await unlink(probe);
    },
    stats() {
      return {
        accounts: accountLoc.size,
        certificates: certLoc.size,
        revocations: revocations.size,
        orders: orders.size,
        ordersInFlight: inFlight(),
        authorizations: authzs.size,
        ledgerBytes: ledger.size,
        chainBytes: chains.size,
        workingBytes: working.size,
        workingLines,
      };
    },
  };
  return store;
}

export type { AcmeStoreStats };
