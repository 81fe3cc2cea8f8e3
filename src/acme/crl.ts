// The intermediate-signed CRL of issued leaves (RFC 5280 §5), served by the issuer at a stable URL.
// Regenerated at start (`nixca cert revoke` writes the store while serve is stopped), on every
// ACME revocation, whenever the number of revocations in the store changes, and a day after the
// last one, so it is always far from nextUpdate (7 days). CRL numbers only grow (§5.2.3): the last
// one is persisted in the store before a CRL carrying it is served.
import { createCrl, type CrlReason } from '../ca/crl.js';
import type { IssuerMaterial } from '../ca/leaf.js';
import type { CoreLogger } from './context.js';
import { REVOCATION_REASONS } from './revocation.js';
import type { AcmeStore } from './store.js';

export interface CrlEntry {
  serial: string;
  revokedAt: Date;
  /** RFC 5280 §5.3.1 CRLReason code. */
  reason: number;
}

/** Signs a CRL (the consumer owns the narrow interface; issuerCrlSigner wires src/ca/crl.ts). */
export interface CrlSigner {
  signCrl(req: { crlNumber: number; thisUpdate: Date; nextUpdate: Date; entries: readonly CrlEntry[] }): Promise<Uint8Array>;
}

/** What a store must offer to keep CRL numbers monotonic across restarts. */
export type CrlStore = Pick<AcmeStore, 'listRevocations' | 'getCertificate'> & {
  crlNumber?(): number;
  recordCrlNumber?(n: number): Promise<void>;
  nextCrlNumber?(): Promise<number>;
};

export interface CrlOptions {
  signer: CrlSigner;
  /** nextUpdate − thisUpdate (default 7 days). */
  validityMs?: number;
  /** Regenerate when the CRL is this old (default 1 day). */
  refreshMs?: number;
  /** How often the age and the store's revocation count are checked (default 1 hour). */
  checkEveryMs?: number;
}

export interface PublishedCrl {
  der: Uint8Array;
  crlNumber: number;
  thisUpdate: Date;
  nextUpdate: Date;
  entries: number;
}

/** The issuer's CRL signer: src/ca/crl.ts createCrl with the intermediate's key. */
export function issuerCrlSigner(issuer: IssuerMaterial): CrlSigner {
  return {
    async signCrl({ crlNumber, thisUpdate, nextUpdate, entries }) {
      const crl = await createCrl(issuer, {
        crlNumber,
        thisUpdate,
        nextUpdate,
        entries: entries.map((e) => ({
          serial: e.serial,
          revokedAt: e.revokedAt,
          // Every code a subscriber may give (revocation.ts) is an X509CrlReason name; createCrl
          // looks the name up there (privilegeWithdrawn is not in its intermediate-only list).
          reason: REVOCATION_REASONS[e.reason] as CrlReason | undefined,
        })),
      });
      return new Uint8Array(crl.rawData);
    },
  };
}

export class CrlPublisher {
  #current: PublishedCrl | undefined;
  #chain: Promise<unknown> = Promise.resolve();
  #timer: NodeJS.Timeout | undefined;
  #lastNumber = 0;
  readonly validityMs: number;
  readonly refreshMs: number;
  readonly checkEveryMs: number;

  constructor(
    readonly store: CrlStore,
    readonly opts: CrlOptions,
    readonly now: () => Date,
    readonly log: CoreLogger,
  ) {
    this.validityMs = opts.validityMs ?? 7 * 86_400_000;
    this.refreshMs = opts.refreshMs ?? 86_400_000;
    this.checkEveryMs = opts.checkEveryMs ?? 3_600_000;
    if (!(this.refreshMs < this.validityMs)) throw new RangeError('the CRL must be regenerated before its nextUpdate (refresh < validity)');
  }

  /** The CRL being served, or undefined if none could be signed yet. */
  current(): PublishedCrl | undefined {
    return this.#current;
  }

  /** Regenerates now (serialized: concurrent callers each get a CRL at least as new as their change). */
  refresh(why: string): Promise<PublishedCrl> {
    return this.#enqueue(() => this.#generate(why));
  }

  /** Regenerates if the CRL is old or the store's revocations changed; never throws (logs). */
  async check(): Promise<void> {
    try {
      // Decided inside the queue: a revocation's own refresh already queued is not repeated.
      await this.#enqueue(async () => ((await this.#stale()) ? this.#generate(this.#current ? 'scheduled' : 'missing') : this.#current));
    } catch (err) {
      this.log.error({ err: (err as Error).message }, 'CRL regeneration failed; the previous CRL is still served');
    }
  }

  #enqueue<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.#chain.then(fn);
    this.#chain = next.catch(() => undefined);
    return next;
  }

  async #stale(): Promise<boolean> {
    const cur = this.#current;
    if (!cur || this.now().getTime() - cur.thisUpdate.getTime() >= this.refreshMs) return true;
    return (await this.store.listRevocations()).length !== cur.entries + this.#expiredRevocations;
  }

  start(): void {
    this.stop();
    this.#timer = setInterval(() => void this.check(), this.checkEveryMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Revocations of certificates that had expired at the last generation (not listed, §3.3). */
  #expiredRevocations = 0;

  async #generate(why: string): Promise<PublishedCrl> {
    const thisUpdate = new Date(Math.floor(this.now().getTime() / 1000) * 1000);
    const revocations = await this.store.listRevocations();
    const entries: CrlEntry[] = [];
    for (const r of revocations) {
      const cert = await this.store.getCertificate(r.serial);
      // RFC 5280 §3.3: an entry may be removed once the certificate has expired.
      if (cert && Date.parse(cert.notAfter) <= thisUpdate.getTime()) continue;
      entries.push({ serial: r.serial, revokedAt: new Date(r.revokedAt), reason: r.reason });
    }
    entries.sort((a, b) => a.revokedAt.getTime() - b.revokedAt.getTime() || (a.serial < b.serial ? -1 : 1));
    // Durable before use: a restart never reissues a number (gaps are allowed, repeats are not).
    // A shared store allocates it, so instances never sign two CRLs with one number.
    let crlNumber: number;
    if (this.store.nextCrlNumber) {
      crlNumber = await this.store.nextCrlNumber();
    } else {
      crlNumber = Math.max(this.#lastNumber, this.store.crlNumber?.() ?? 0) + 1;
      await this.store.recordCrlNumber?.(crlNumber);
    }
    this.#lastNumber = crlNumber;
    const nextUpdate = new Date(thisUpdate.getTime() + this.validityMs);
    const der = await this.opts.signer.signCrl({ crlNumber, thisUpdate, nextUpdate, entries });
    this.#current = { der, crlNumber, thisUpdate, nextUpdate, entries: entries.length };
    this.#expiredRevocations = revocations.length - entries.length;
    this.log.info({ crlNumber, entries: entries.length, nextUpdate: nextUpdate.toISOString(), why }, 'CRL published');
    return this.#current;
  }
}
