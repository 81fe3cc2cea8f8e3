// The ACME store (src/acme/store.ts) on local files, laid out so that the cost of a write does not
// grow with history (docs/acme.md "Store layout"). Split by object, as step-ca's acme/db/nosql:
//
//   src/store/acme-ledger.ts      acme/ledger.jsonl + acme/chains.pem: accounts, certificates,
//                                 revocations (append-only, indexes in memory, records by pread)
//   src/store/acme-working.ts     acme/working.jsonl: orders and authorizations (bounded, in memory)
//   src/store/acme-compaction.ts  when and how working.jsonl is rewritten
//   src/store/acme-recovery.ts    what a crash left: torn last lines (kept aside), orders to reconcile
//   src/store/lock.ts             acme/writer.lock: one writer, a kernel lock
//   acme/meta.json                lowdb: format version, CRL number, compaction bookkeeping
//
// Opening reads and checks every file before anything is written: a store that does not read back
// as written is refused (StoreCorruptError naming the file, the byte offset and what to do) and
// left exactly as it was. Nonces are not stored (src/acme/nonces.ts).
import { mkdir, open, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { AcmeStore, AcmeStoreStats } from '../acme/store.js';
import type { OrderRecord } from '../acme/model.js';
import { Compactor } from './acme-compaction.js';
import { Ledger, loadLedger } from './acme-ledger.js';
import { AppendLog, corruptAt, StoreCorruptError, syncDir } from './acme-log.js';
import { dropTornTail, reconcileOrder, type StoreRepair, type TornTail } from './acme-recovery.js';
import { loadWorkingSet, type WorkingEntry } from './acme-working.js';
import { lockHolder, tryFileLock, type FileLock } from './lock.js';
import { JsonDocumentCorruptError, openJsonDocument } from './lowdb.js';

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
  /** Told about each torn last line the open dropped (and where its bytes were kept): log it. */
  onRepair?: (repair: StoreRepair) => void;
}

interface Meta {
  format: number;
  createdAt: string;
  compactions: number;
  lastCompactionAt: string | null;
  /** Last CRL number used by the served CRL (src/acme/crl.ts); absent before the first. */
  crlNumber?: number;
}

export class StoreLockedError extends Error {
  override readonly name = 'StoreLockedError';
  readonly kind = 'conflict';
}

export { StoreCorruptError };
export type { StoreRepair };

/** Stands in for an AppendLog in a read-only store: nothing can be written through it. */
function readOnlyLog(file: string, size: number, why: string): AppendLog {
  const refuse = () => Promise.reject(new StoreLockedError(why));
  return { file, size, append: refuse, rewrite: refuse, close: () => Promise.resolve() } as unknown as AppendLog;
}

/**
 * The single-writer lock (acme/writer.lock, src/store/lock.ts): a kernel lock held for the
 * store's lifetime, released when the writer closes the store or dies, so two writers starting
 * together never both win and a killed writer never blocks the next. Without it: read-only.
 */
async function writerLock(dir: string, readOnly: boolean): Promise<{ lock?: FileLock; readOnlyWhy?: string }> {
  if (readOnly) return { readOnlyWhy: 'the ACME store was opened read-only' };
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const file = join(dir, 'writer.lock');
  const lock = await tryFileLock(file);
  if (lock) return { lock };
  return { readOnlyWhy: `the ACME store is being written by ${await lockHolder(file)} (nixca serve?): stop it, or make the change through ACME` };
}

/** Everything read and checked at open, before anything is written. */
async function loadFiles(dir: string) {
  const workingFile = join(dir, 'working.jsonl');
  const ledgerFile = join(dir, 'ledger.jsonl');
  const chainsFile = join(dir, 'chains.pem');
  const working = await loadWorkingSet(workingFile);
  const reconciled: OrderRecord[] = [];
  const ledger = await loadLedger(ledgerFile, (cert) => reconcileOrder(working.set, cert, reconciled));
  // Bytes after the last referenced chain (a crash between the two appends) are harmless garbage;
  // a reference past the end is not.
  const chainsSize = await stat(chainsFile).then((st) => st.size, () => 0);
  ledger.index.checkChains(ledgerFile, chainsFile, chainsSize);
  const torn: TornTail[] = [];
  if (working.torn) torn.push({ file: workingFile, ...working.torn });
  if (ledger.torn) torn.push({ file: ledgerFile, ...ledger.torn });
  return { workingFile, ledgerFile, chainsFile, working, ledger, chainsSize, reconciled, torn };
}

async function readMeta(dir: string, now: () => Date) {
  const meta = await openJsonDocument<Meta>(join(dir, 'meta.json'), { format: FORMAT, createdAt: now().toISOString(), compactions: 0, lastCompactionAt: null }).catch((err: Error) => {
    throw corruptAt(join(dir, 'meta.json'), 0, `not readable JSON (${err instanceof JsonDocumentCorruptError ? err.detail : err.message})`);
  });
  if (meta.data.format !== FORMAT) throw corruptAt(join(dir, 'meta.json'), 0, `unknown ACME store format ${String(meta.data.format)}`);
  return meta;
}

export async function openAcmeStore(stateDir: string, opts: AcmeStoreOptions = {}): Promise<AcmeStore> {
  const dir = join(stateDir, ACME_DIR);
  const now = opts.now ?? (() => new Date());
  const { lock, readOnlyWhy } = await writerLock(dir, opts.readOnly === true);
  const ro = readOnlyWhy !== undefined;
  let loaded: Awaited<ReturnType<typeof loadFiles>>;
  let meta: Awaited<ReturnType<typeof readMeta>>;
  try {
    meta = await readMeta(dir, now);
    loaded = await loadFiles(dir);
  } catch (err) {
    await lock?.release();
    throw err;
  }
  const { working, ledger: ledgerScan } = loaded;
  const set = working.set;
  const openLog = (file: string, size: number) => (ro ? Promise.resolve(readOnlyLog(file, size, readOnlyWhy!)) : AppendLog.open(file, size));
  const opened: AppendLog[] = [];
  try {
    // Only the writer repairs, and only now that every file has been checked.
    if (!ro) {
      for (const t of loaded.torn) {
        const repair = await dropTornTail(t, now());
        opts.onRepair?.(repair);
      }
      await meta.write();
    }
    opened.push(await openLog(loaded.workingFile, working.size));
    opened.push(await openLog(loaded.ledgerFile, ledgerScan.size));
    opened.push(await openLog(loaded.chainsFile, loaded.chainsSize));
    if (!ro) await syncDir(dir);
  } catch (err) {
    await Promise.all(opened.map((log) => log.close().catch(() => undefined)));
    await lock?.release();
    throw err;
  }
  const [workingLog, ledgerLog, chainsLog] = opened as [AppendLog, AppendLog, AppendLog];
  // A read-only view shows reconciled orders in memory but leaves the writing to the writer.
  if (!ro) for (const fixed of loaded.reconciled) {
    await workingLog.append(JSON.stringify({ t: 'order', v: fixed }));
    set.lines++;
  }
  const ledger = new Ledger(ledgerScan.index, { ledgerFile: loaded.ledgerFile, chainsFile: loaded.chainsFile, ledger: ledgerLog, chains: chainsLog }, opts.cacheSize);
  const compactor = new Compactor(set, workingLog, meta, now, !ro);
  set.prune(now(), opts.workingSetGraceMs ?? 0);
  set.reindex();
  await compactor.maybe();
  return assemble({ dir, ro, readOnlyWhy, now, grace: opts.workingSetGraceMs ?? 0, set, ledger, workingLog, chainsLog, ledgerLog, compactor, meta, release: async () => lock?.release() });
}

interface Parts {
  dir: string;
  ro: boolean;
  readOnlyWhy: string | undefined;
  now: () => Date;
  grace: number;
  set: Awaited<ReturnType<typeof loadWorkingSet>>['set'];
  ledger: Ledger;
  workingLog: AppendLog;
  ledgerLog: AppendLog;
  chainsLog: AppendLog;
  compactor: Compactor;
  meta: Awaited<ReturnType<typeof readMeta>>;
  release(): Promise<void>;
}

/** The AcmeStore over its parts: guards writes of a read-only view, logs working-set versions. */
function assemble(p: Parts): AcmeStore {
  const { set, ledger, compactor, meta } = p;
  const guard = () => {
    if (p.readOnlyWhy !== undefined) throw new StoreLockedError(p.readOnlyWhy);
  };
  const writeWorking = async (e: WorkingEntry) => {
    set.lines++;
    await p.workingLog.append(JSON.stringify(e));
    await compactor.maybe();
  };
  return {
    readOnly: p.ro,
    getAccount: (id) => ledger.getAccount(id),
    findAccountByThumbprint: (tp) => ledger.findAccountByThumbprint(tp),
    listAccounts: (query) => ledger.listAccounts(query),
    async createAccount(account) {
      guard();
      return ledger.createAccount(account);
    },
    async updateAccount(id, fn) {
      guard();
      return ledger.updateAccount(id, fn);
    },
    async createOrder(order, newAuthzs) {
      guard();
      for (const a of newAuthzs) set.putAuthz(a);
      set.putOrder(order);
      set.lines += newAuthzs.length + 1;
      // One batch: the appender group-commits these lines with one synchronized write.
      await Promise.all([
        ...newAuthzs.map((v) => p.workingLog.append(JSON.stringify({ t: 'authz', v }))),
        p.workingLog.append(JSON.stringify({ t: 'order', v: order })),
      ]);
      await compactor.maybe();
    },
    getOrder: async (id) => set.orders.get(id),
    async getOrderAndAccountKey(id, thumbprint) {
      const order = set.orders.get(id);
      return order && { order, isAccountKey: (await ledger.findAccountByThumbprint(thumbprint)) !== undefined };
    },
    listOrderIds: async (accountId) => set.orderIds(accountId),
    async updateOrder(id, fn) {
      guard();
      const cur = set.orders.get(id);
      if (!cur) return undefined;
      const next = fn(cur);
      if (!next) return cur;
      set.putOrder(next);
      await writeWorking({ t: 'order', v: next });
      return next;
    },
    getAuthorization: async (id) => set.authzs.get(id),
    async updateAuthorization(id, fn) {
      guard();
      const cur = set.authzs.get(id);
      if (!cur) return undefined;
      const next = fn(cur);
      if (!next) return undefined;
      set.putAuthz(next);
      await writeWorking({ t: 'authz', v: next });
      return next;
    },
    findReusableAuthorization: async (accountId, identifier, at) => set.reusableAuthorization(accountId, identifier, at),
    async putCertificate(cert, chainPem, commit) {
      guard();
      await ledger.putCertificate(cert, chainPem, commit);
    },
    getCertificate: (serial) => ledger.getCertificate(serial),
    getCertificateChain: (serial) => ledger.getCertificateChain(serial),
    hasSerial: (serial) => ledger.hasSerial(serial),
    listCertificates: (query) => ledger.listCertificates(query),
    crlNumber: () => meta.data.crlNumber ?? 0,
    async recordCrlNumber(n) {
      guard();
      if (!(Number.isSafeInteger(n) && n > (meta.data.crlNumber ?? 0))) throw new RangeError(`CRL number ${n} does not increase`);
      meta.data.crlNumber = n;
      await meta.write();
    },
    async findReplacements(serial) {
      const by = ledger.index.replacedBy.get(serial);
      return { certificates: by ? [by] : [], orders: set.ordersReplacing(serial) };
    },
    async putRevocation(rev, commit) {
      guard();
      await ledger.putRevocation(rev, commit);
    },
    getRevocation: async (serial) => ledger.index.revocations.get(serial),
    listRevocations: async () => [...ledger.index.revocations.values()],
    async prune(at) {
      const r = set.prune(at, p.grace);
      if (r.orders || r.authorizations) await compactor.maybe();
      return r;
    },
    async close() {
      await compactor.idle();
      await Promise.all([ledger.close(), p.workingLog.close()]);
      await p.release();
    },
    async checkWritable() {
      guard();
      const probe = join(p.dir, '.health-probe');
      const fh = await open(probe, 'w', 0o600);
      try {
        await fh.writeFile(p.now().toISOString());
        await fh.sync();
      } finally {
        await fh.close();
      }
      await unlink(probe);
    },
    stats(): AcmeStoreStats {
      return {
        accounts: ledger.index.accountLoc.size,
        certificates: ledger.index.certLoc.size,
        revocations: ledger.index.revocations.size,
        orders: set.orders.size,
        ordersInFlight: set.inFlight(p.now()),
        authorizations: set.authzs.size,
        ledgerBytes: p.ledgerLog.size,
        chainBytes: p.chainsLog.size,
        workingBytes: p.workingLog.size,
        workingLines: set.lines,
      };
    },
  };
}

export type { AcmeStoreStats };
