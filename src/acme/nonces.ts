// Replay nonces (RFC 8555 §6.5): unpredictable, single-use, expiring, bounded in number.
// Kept in memory on purpose: a restart only costs clients one badNonce retry, which every client
// must handle anyway (§6.5), and nothing grows on disk (step-ca #473/#159).
import { createHmac, randomFillSync, timingSafeEqual } from 'node:crypto';

export type NonceCheck = 'ok' | 'unknown' | 'malformed';

const NONCE_SYNTAX = /^[A-Za-z0-9_-]+$/;

// Random bytes are drawn from the CSPRNG in 4 KB batches and each byte is used once (as Node does
// for randomUUID): one randomFillSync per 256 nonces instead of one per response.
const POOL = Buffer.alloc(4096);
let poolOffset = POOL.length;

/** The next `n` (≤ 4096) unused bytes of the batch. */
function randomSlice(n: number): Buffer {
  if (poolOffset + n > POOL.length) {
    randomFillSync(POOL);
    poolOffset = 0;
  }
  poolOffset += n;
  return POOL.subarray(poolOffset - n, poolOffset);
}

function random128(): string {
  return randomSlice(16).toString('base64url');
}

export class NonceStore {
  // Map iteration order is insertion order, i.e. oldest first: pruning stops at the first live one.
  readonly #nonces = new Map<string, number>();
  readonly #lifetimeMs: number;
  readonly #max: number;
  readonly #rejectRate: number;
  readonly #now: () => number;
  readonly #random: () => number;

  constructor(opts: { lifetimeMs?: number; max?: number; rejectRate?: number; now?: () => number; random?: () => number } = {}) {
    this.#lifetimeMs = opts.lifetimeMs ?? 15 * 60_000;
    this.#max = opts.max ?? 100_000;
    this.#rejectRate = opts.rejectRate ?? 0;
    this.#now = opts.now ?? Date.now;
    this.#random = opts.random ?? Math.random;
  }

  get size(): number {
    return this.#nonces.size;
  }

  /** §6.5.1: 128 random bits, base64url without padding. */
  issue(): string {
    return this.remember(random128());
  }

  /** Makes `nonce` (minted by the caller, e.g. HomeNonces) redeemable once; returns it. */
  remember(nonce: string): string {
    const now = this.#now();
    this.#prune(now);
    this.#nonces.set(nonce, now + this.#lifetimeMs);
    return nonce;
  }

  /** Remembers `nonce` as remember does; false if it is remembered already (and not expired). */
  rememberOnce(nonce: string): boolean {
    const expires = this.#nonces.get(nonce);
    if (expires !== undefined && expires > this.#now()) return false;
    this.remember(nonce);
    return true;
  }

  /** Consumes the nonce: a second redemption of the same value is 'unknown' (§6.5). */
  redeem(nonce: unknown): NonceCheck {
    // §6.5.2: the value must be base64url; anything else is malformed rather than badNonce.
    if (typeof nonce !== 'string' || !NONCE_SYNTAX.test(nonce)) return 'malformed';
    const expires = this.#nonces.get(nonce);
    if (expires === undefined) return 'unknown';
    this.#nonces.delete(nonce);
    if (expires <= this.#now()) return 'unknown';
    // Pebble's PEBBLE_WFE_NONCEREJECT: refuse some valid nonces so clients must implement the retry.
    if (this.#rejectRate > 0 && this.#random() < this.#rejectRate) return 'unknown';
    return 'ok';
  }

  #prune(now: number): void {
    for (const [nonce, expires] of this.#nonces) {
      if (expires > now && this.#nonces.size < this.#max) break;
      this.#nonces.delete(nonce);
    }
  }
}

/**
 * How the instances on one shared store reach each other about nonces (src/store/pg/nonce-peers.ts:
 * PostgreSQL NOTIFY on a channel derived from each instance's id).
 */
export interface NoncePeers {
  /** The key every instance MACs nonces with (≥ 32 random bytes, shared through the store). */
  readonly key: Buffer;
  /** This process's id (8 random bytes, new at every start): every nonce it issues carries it. */
  readonly instance: Buffer;
  /**
   * Asks the instance `home` to redeem its nonce: true only when it answers "granted" in time.
   * No answer (home gone, its listen connection down, a notification lost) is false: the nonce may
   * still be live at its home, so accepting it here could accept it twice.
   */
  redeemAt(home: Buffer, nonce: string): Promise<boolean>;
  /** Installs the answer to other instances' requests for this instance's nonces. */
  answer(redeem: (nonce: string) => boolean): void;
}

const HOME = 8;
const STAMP = 6;
const RANDOM = 10;
const TAG = 16;
const BODY = HOME + STAMP + RANDOM;

/**
 * Nonces for several instances (docs/postgres.md "Nonces"), as Boulder's nonce service does it:
 * each nonce names the instance that issued it (its home) and only the home can redeem it, from
 * its own memory. `base64url(home id (64 bits) ‖ issue time (48 bits) ‖ 80 random bits ‖
 * HMAC-SHA256 tag (128 bits))` under the shared key: a forged, garbled or expired nonce is refused
 * here without any I/O, and the home id is authenticated so nobody can aim a request at an
 * instance. At the home, redemption is one map lookup (no database statement); elsewhere the home
 * is asked and only its "granted" is accepted: each nonce is accepted exactly once by any
 * instance (RFC 8555 §6.5), and any doubt is badNonce, which §6.5 lets the server answer for any
 * nonce and every client retries with the fresh nonce the error carries.
 */
export class HomeNonces {
  readonly #local: NonceStore;
  /** Other instances' nonces this instance has asked about, bounded as its own. */
  readonly #asked: NonceStore;
  readonly #lifetimeMs: number;
  readonly #now: () => number;

  constructor(readonly peers: NoncePeers, opts: { lifetimeMs?: number; max?: number; rejectRate?: number; now?: () => number; random?: () => number } = {}) {
    if (peers.key.length < 32) throw new RangeError('the shared nonce key must have at least 32 bytes');
    if (peers.instance.length !== HOME) throw new RangeError(`an instance id has ${HOME} bytes`);
    this.#lifetimeMs = opts.lifetimeMs ?? 15 * 60_000;
    this.#now = opts.now ?? Date.now;
    // Bounded by age and count as on one instance; an evicted nonce is simply badNonce.
    this.#local = new NonceStore({ ...opts, lifetimeMs: this.#lifetimeMs, now: this.#now });
    this.#asked = new NonceStore({ lifetimeMs: this.#lifetimeMs, max: opts.max, now: this.#now });
    peers.answer((nonce) => this.#local.redeem(nonce) === 'ok');
  }

  #tag(body: Buffer): Buffer {
    return createHmac('sha256', this.peers.key).update(body).digest().subarray(0, TAG);
  }

  issue(): string {
    const body = Buffer.allocUnsafe(BODY);
    this.peers.instance.copy(body, 0);
    body.writeUIntBE(this.#now(), HOME, STAMP);
    randomSlice(RANDOM).copy(body, HOME + STAMP);
    return this.#local.remember(Buffer.concat([body, this.#tag(body)]).toString('base64url'));
  }

  /** Synchronous at the home (no promise, no I/O); a promise only when another instance is asked. */
  redeem(nonce: unknown): NonceCheck | Promise<NonceCheck> {
    if (typeof nonce !== 'string' || !NONCE_SYNTAX.test(nonce)) return 'malformed';
    const raw = Buffer.from(nonce, 'base64url');
    if (raw.length !== BODY + TAG || raw.toString('base64url') !== nonce) return 'unknown';
    const body = raw.subarray(0, BODY);
    if (!timingSafeEqual(raw.subarray(BODY), this.#tag(body))) return 'unknown';
    const issuedAt = body.readUIntBE(HOME, STAMP);
    const now = this.#now();
    // A little slack for instances whose clocks differ; never a nonce from the far future.
    if (issuedAt > now + 60_000 || issuedAt + this.#lifetimeMs <= now) return 'unknown';
    const home = body.subarray(0, HOME);
    if (home.equals(this.peers.instance)) return this.#local.redeem(nonce);
    // Asked once here: whatever the home answered (or will answer), a nonce is accepted at most
    // once, so a second presentation (a replayed request, a concurrent duplicate) is badNonce at
    // once (§6.5) instead of two more pg_notify statements each, which a client could repeat
    // without limit by sending one signed request again.
    if (!this.#asked.rememberOnce(nonce)) return 'unknown';
    return this.peers.redeemAt(Buffer.from(home), nonce).then((granted) => (granted ? 'ok' : 'unknown'), () => 'unknown');
  }
}
