// The ledger index of the ACME store: accounts (every version), certificate records and
// revocations in acme/ledger.jsonl, issued chains in acme/chains.pem. Only small indexes live in
// memory (id/key → byte offset of the latest version, serials); records are read back by offset
// (pread) on demand through a bounded cache. Neither file is ever rewritten.
import { open, type FileHandle } from 'node:fs/promises';
import type { CommitHook, CertificateQuery } from '../acme/store.js';
import { StoreConflictError } from '../acme/store.js';
import type { AccountRecord, CertificateRecord, RevocationRecord } from '../acme/model.js';
import { corruptAt, scanJsonLines, type AppendLog } from './acme-log.js';

export type LedgerEntry =
  | { t: 'account'; v: AccountRecord }
  | { t: 'cert'; v: CertificateRecord; chain: Loc }
  | { t: 'revocation'; v: RevocationRecord };

/** Where a record lives: byte offset and length of its line in the ledger (or chain in chains.pem). */
export interface Loc {
  offset: number;
  length: number;
}

const isText = (v: unknown): v is string => typeof v === 'string' && v.length > 0;
const isLoc = (v: unknown): v is Loc => {
  const l = v as Loc;
  return !!l && Number.isSafeInteger(l.offset) && Number.isSafeInteger(l.length) && l.offset >= 0 && l.length > 0;
};

/** The shape every ledger line must have (a line that parses but is not a record is corruption). */
export function checkLedgerEntry(value: unknown): LedgerEntry {
  const e = value as LedgerEntry;
  if (e?.t === 'account' && isText(e.v?.id) && isText(e.v.thumbprint)) return e;
  if (e?.t === 'cert' && isText(e.v?.serial) && isText(e.v.orderId) && isLoc(e.chain)) return e;
  if (e?.t === 'revocation' && isText(e.v?.serial) && Number.isInteger(e.v.reason)) return e;
  throw new Error(`unknown or incomplete ledger entry${typeof e?.t === 'string' ? ` of type ${JSON.stringify(e.t).slice(0, 40)}` : ''}`);
}

/** A small LRU (Map keeps insertion order; a hit moves the key to the end). */
export class Lru<V> {
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

/** The in-memory indexes, built from the ledger at open (no record bodies). */
export class LedgerIndex {
  readonly accountLoc = new Map<string, Loc>();
  readonly byThumbprint = new Map<string, string>();
  readonly certLoc = new Map<string, { line: Loc; chain: Loc }>();
  readonly revocations = new Map<string, RevocationRecord>();
  /** RFC 9773 §5: replaced serial → serial of the certificate that replaced it (alreadyReplaced). */
  readonly replacedBy = new Map<string, string>();

  add(e: LedgerEntry, line: Loc): void {
    switch (e.t) {
      case 'account':
        this.accountLoc.set(e.v.id, line);
        // Old thumbprints of an account (keyChange) stay in the index; lookups check the current key.
        this.byThumbprint.set(e.v.thumbprint, e.v.id);
        break;
      case 'cert':
        this.certLoc.set(e.v.serial, { line, chain: e.chain });
        if (e.v.replaces) this.replacedBy.set(e.v.replaces, e.v.serial);
        break;
      case 'revocation':
        this.revocations.set(e.v.serial, e.v);
        break;
    }
  }

  /**
   * Every chain reference must lie inside chains.pem: a shorter file (lost or cut) would make the
   * issuer serve bytes of other chains. Refused at open, with the record's ledger offset.
   */
  checkChains(ledgerFile: string, chainsFile: string, chainsSize: number): void {
    for (const [serial, { line, chain }] of this.certLoc) {
      if (chain.offset + chain.length > chainsSize) {
        throw corruptAt(ledgerFile, line.offset, `certificate ${serial} references bytes ${chain.offset}..${chain.offset + chain.length} of ${chainsFile}, which has only ${chainsSize} bytes`);
      }
    }
  }
}

/**
 * Reads the ledger into a new index; returns the index and the scan (size, torn tail). `onCert`
 * sees each certificate record once (reconciling orders at open) without keeping it.
 */
export async function loadLedger(file: string, onCert?: (cert: CertificateRecord) => void): Promise<{ index: LedgerIndex; size: number; torn?: { offset: number; bytes: Buffer } }> {
  const index = new LedgerIndex();
  const scan = await scanJsonLines(file, (value, offset, length) => {
    const e = checkLedgerEntry(value);
    index.add(e, { offset, length });
    if (e.t === 'cert') onCert?.(e.v);
  });
  return { index, ...scan };
}

export interface LedgerFiles {
  ledgerFile: string;
  chainsFile: string;
  ledger: AppendLog;
  chains: AppendLog;
}

const RECENT_CHAINS = 64;

/** Accounts, certificates and revocations over the ledger index and the two append-only logs. */
export class Ledger {
  // Records not yet durable (their offset is unknown), and recently used ones.
  readonly #pendingAccounts = new Map<string, AccountRecord>();
  readonly #pendingCerts = new Map<string, CertificateRecord>();
  readonly #pendingRevocations = new Set<string>();
  /** Durable but never made visible: the commit hook (audit) failed; the next open recovers them. */
  readonly #withheld = new Set<string>();
  readonly #accountCache: Lru<AccountRecord>;
  readonly #certCache: Lru<CertificateRecord>;
  /**
   * Chains of the most recent issuances: the client downloads its certificate right after finalize
   * (RFC 8555 §7.4.2), so this saves that read. Small and bounded: chains are read rarely otherwise.
   */
  readonly #recentChains = new Lru<string>(RECENT_CHAINS);
  // One read handle per log, opened on first use and kept (neither file is ever rewritten).
  readonly #readers = new Map<'ledger' | 'chains', Promise<FileHandle>>();

  constructor(readonly index: LedgerIndex, readonly files: LedgerFiles, cacheSize = 4096) {
    this.#accountCache = new Lru(cacheSize);
    this.#certCache = new Lru(cacheSize);
  }

  async #readAt(file: 'ledger' | 'chains', loc: Loc): Promise<Buffer> {
    let fh = this.#readers.get(file);
    if (!fh) {
      fh = open(file === 'ledger' ? this.files.ledgerFile : this.files.chainsFile, 'r');
      this.#readers.set(file, fh);
      fh.catch(() => this.#readers.delete(file));
    }
    const buf = Buffer.alloc(loc.length);
    await (await fh).read(buf, 0, loc.length, loc.offset);
    return buf;
  }

  /** Every account's current version, oldest first (rare: operator listings, node removal). */
  async listAccounts(query: { node?: string } = {}): Promise<AccountRecord[]> {
    const ids = [...new Set([...this.index.accountLoc.keys(), ...this.#pendingAccounts.keys()])];
    const out: AccountRecord[] = [];
    for (const id of ids) {
      const a = await this.getAccount(id);
      if (a && (query.node === undefined || a.node === query.node)) out.push(a);
    }
    return out.sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : 0));
  }

  async getAccount(id: string): Promise<AccountRecord | undefined> {
    const p = this.#pendingAccounts.get(id) ?? this.#accountCache.get(id);
    if (p) return p;
    const loc = this.index.accountLoc.get(id);
    if (!loc) return undefined;
    const rec = (JSON.parse((await this.#readAt('ledger', loc)).toString('utf8')) as { v: AccountRecord }).v;
    // An update may have landed while we read: the in-memory version wins.
    const newer = this.#pendingAccounts.get(id) ?? this.#accountCache.get(id);
    if (newer) return newer;
    if (this.index.accountLoc.get(id) === loc) this.#accountCache.set(id, rec);
    return rec;
  }

  async findAccountByThumbprint(thumbprint: string): Promise<AccountRecord | undefined> {
    const id = this.index.byThumbprint.get(thumbprint);
    if (id === undefined) return undefined;
    const a = await this.getAccount(id);
    // After a keyChange the old thumbprint no longer names the account.
    return a && a.thumbprint === thumbprint ? a : undefined;
  }

  async #appendAccount(rec: AccountRecord): Promise<void> {
    this.#pendingAccounts.set(rec.id, rec);
    const line = JSON.stringify({ t: 'account', v: rec });
    try {
      const offset = await this.files.ledger.append(line);
      // Only the latest version becomes the indexed one (appends complete in order).
      if (this.#pendingAccounts.get(rec.id) === rec) {
        this.index.accountLoc.set(rec.id, { offset, length: Buffer.byteLength(line) + 1 });
        this.#accountCache.set(rec.id, rec);
        this.#pendingAccounts.delete(rec.id);
      }
    } catch (err) {
      if (this.#pendingAccounts.get(rec.id) === rec) this.#pendingAccounts.delete(rec.id);
      throw err;
    }
  }

  /**
   * Points a key thumbprint at an account, unless another account currently holds that key. The
   * index may still name an account that has since changed its key (old versions are indexed at
   * open), so a holder is confirmed by loading it. The claim is synchronous after the last await.
   */
  async #claimThumbprint(thumbprint: string, id: string): Promise<void> {
    for (;;) {
      const other = this.index.byThumbprint.get(thumbprint);
      if (other === undefined || other === id) break;
      const holder = await this.getAccount(other);
      if (this.index.byThumbprint.get(thumbprint) !== other) continue;
      if (holder && holder.thumbprint === thumbprint) throw new StoreConflictError('an account with this key exists', other);
      break;
    }
    this.index.byThumbprint.set(thumbprint, id);
  }

  async createAccount(account: AccountRecord): Promise<AccountRecord> {
    await this.#claimThumbprint(account.thumbprint, account.id);
    if (this.index.accountLoc.has(account.id) || this.#pendingAccounts.has(account.id)) throw new StoreConflictError('account id exists', account.id);
    await this.#appendAccount(account);
    return account;
  }

  async updateAccount(id: string, fn: (a: AccountRecord) => AccountRecord | undefined): Promise<AccountRecord | undefined> {
    const loaded = await this.getAccount(id);
    if (!loaded) return undefined;
    // Re-read synchronously after the await: another update may have landed in between.
    const cur = this.#pendingAccounts.get(id) ?? this.#accountCache.get(id) ?? loaded;
    const next = fn(cur);
    if (!next) return cur;
    if (next.thumbprint !== cur.thumbprint) {
      await this.#claimThumbprint(next.thumbprint, id);
      if (this.index.byThumbprint.get(cur.thumbprint) === id) this.index.byThumbprint.delete(cur.thumbprint);
    }
    await this.#appendAccount(next);
    return next;
  }

  /**
   * The chain first, then the record that points at it: a crash in between leaves only
   * unreferenced bytes in chains.pem, never a record without its chain. The record becomes visible
   * only after `commit` (the audit entry) succeeded; if it fails the record stays durable but
   * withheld, and the next open makes it visible with a recovered audit entry.
   */
  async putCertificate(cert: CertificateRecord, chainPem: string, commit?: CommitHook): Promise<void> {
    if (this.hasSerial(cert.serial)) throw new StoreConflictError(`serial ${cert.serial} already issued`);
    // Reserve the serial before the first await so a concurrent put of the same serial conflicts.
    this.#pendingCerts.set(cert.serial, cert);
    try {
      const chain = { offset: await this.files.chains.append(chainPem), length: Buffer.byteLength(chainPem) };
      const line = JSON.stringify({ t: 'cert', v: cert, chain });
      const offset = await this.files.ledger.append(line);
      try {
        await commit?.();
      } catch (err) {
        this.#withheld.add(cert.serial);
        throw err;
      }
      this.index.add({ t: 'cert', v: cert, chain }, { offset, length: Buffer.byteLength(line) + 1 });
      this.#certCache.set(cert.serial, cert);
      this.#recentChains.set(cert.serial, chainPem);
    } finally {
      this.#pendingCerts.delete(cert.serial);
    }
  }

  async getCertificate(serial: string): Promise<CertificateRecord | undefined> {
    // Only committed certificates are visible (a pending one has no chain on disk yet).
    const loc = this.index.certLoc.get(serial);
    if (!loc) return undefined;
    const hit = this.#certCache.get(serial);
    if (hit) return hit;
    const rec = (JSON.parse((await this.#readAt('ledger', loc.line)).toString('utf8')) as { v: CertificateRecord }).v;
    this.#certCache.set(serial, rec);
    return rec;
  }

  async getCertificateChain(serial: string): Promise<string | undefined> {
    const loc = this.index.certLoc.get(serial);
    if (!loc) return undefined;
    return this.#recentChains.get(serial) ?? (await this.#readAt('chains', loc.chain)).toString('utf8');
  }

  hasSerial(serial: string): boolean {
    return this.index.certLoc.has(serial) || this.#pendingCerts.has(serial) || this.#withheld.has(serial);
  }

  /** A scan of the ledger (rare: status, CRL, metrics, audit recovery); nothing of it stays in memory. */
  async listCertificates(query: CertificateQuery = {}): Promise<CertificateRecord[]> {
    const out: CertificateRecord[] = [];
    const t = query.validAt?.getTime();
    await scanJsonLines(this.files.ledgerFile, (value) => {
      const e = value as LedgerEntry;
      if (e.t !== 'cert' || this.#withheld.has(e.v.serial)) return;
      const record = e.v;
      if (query.node !== undefined && record.node !== query.node) return;
      if (query.accountId !== undefined && record.accountId !== query.accountId) return;
      if (t !== undefined && Date.parse(record.notAfter) <= t) return;
      out.push(record);
    }, { end: this.files.ledger.size });
    return out;
  }

  /**
   * Like putCertificate: durable, then `commit`, then visible. If `commit` fails the revocation
   * stays durable but invisible here (a retry may append it again: the later line wins at open).
   */
  async putRevocation(rev: RevocationRecord, commit?: CommitHook): Promise<void> {
    if (this.index.revocations.has(rev.serial) || this.#pendingRevocations.has(rev.serial)) throw new StoreConflictError(`serial ${rev.serial} is already revoked`);
    this.#pendingRevocations.add(rev.serial);
    try {
      await this.files.ledger.append(JSON.stringify({ t: 'revocation', v: rev }));
      await commit?.();
      this.index.revocations.set(rev.serial, rev);
    } finally {
      this.#pendingRevocations.delete(rev.serial);
    }
  }

  async close(): Promise<void> {
    const handles = [...this.#readers.values()];
    this.#readers.clear();
    await Promise.all([this.files.ledger.close(), this.files.chains.close(), ...handles.map((h) => h.then((fh) => fh.close(), () => undefined))]);
  }
}
