// Replay nonces (RFC 8555 §6.5): unpredictable, single-use, expiring, bounded in number.
// Kept in memory on purpose: a restart only costs clients one badNonce retry, which every client
// must handle anyway (§6.5), and nothing grows on disk (step-ca #473/#159).
import { createHmac, randomBytes, randomFillSync, timingSafeEqual } from 'node:crypto';

export type NonceCheck = 'ok' | 'unknown' | 'malformed';

const NONCE_SYNTAX = /^[A-Za-z0-9_-]+$/;

// Random bytes are drawn from the CSPRNG in 4 KB batches and each byte is used once (as Node does
// for randomUUID): one randomFillSync per 256 nonces instead of one per response.
const POOL = Buffer.alloc(4096);
let poolOffset = POOL.length;

function random128(): string {
  if (poolOffset + 16 > POOL.length) {
    randomFillSync(POOL);
    poolOffset = 0;
  }
  const s = POOL.toString('base64url', poolOffset, poolOffset + 16);
  poolOffset += 16;
  return s;
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
    const nonce = random128();
    const now = this.#now();
    this.#prune(now);
    this.#nonces.set(nonce, now + this.#lifetimeMs);
    return nonce;
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

/** Where a shared nonce is recorded as used (a database table with the nonce as primary key). */
export interface NonceReplayTable {
  /** The key every instance MACs nonces with (≥ 32 random bytes, shared through the store). */
  key: Buffer;
  /** Records the nonce as used; false if it already was (by this or any other instance). */
  claim(nonce: string, expires: Date): Promise<boolean>;
}

const STAMP = 6;
const RANDOM = 10;
const TAG = 16;

/**
 * Nonces for several instances (docs/postgres.md "Nonces"): stateless to issue — 48-bit issue time,
 * 80 random bits and a 128-bit HMAC-SHA256 tag under the shared key — so a newNonce costs no
 * database write, and an unauthenticated client cannot make the database grow. Redemption checks
 * the tag and the age locally, then claims the nonce in the replay table once: a nonce issued by one
 * instance is accepted exactly once by any instance (§6.5).
 */
export class SharedNonces {
  readonly #lifetimeMs: number;
  readonly #now: () => number;

  constructor(readonly replay: NonceReplayTable, opts: { lifetimeMs?: number; now?: () => number } = {}) {
    if (replay.key.length < 32) throw new RangeError('the shared nonce key must have at least 32 bytes');
    this.#lifetimeMs = opts.lifetimeMs ?? 15 * 60_000;
    this.#now = opts.now ?? Date.now;
  }

  #tag(body: Buffer): Buffer {
    return createHmac('sha256', this.replay.key).update(body).digest().subarray(0, TAG);
  }

  issue(): string {
    const body = Buffer.alloc(STAMP + RANDOM);
    body.writeUIntBE(this.#now(), 0, STAMP);
    randomBytes(RANDOM).copy(body, STAMP);
    return Buffer.concat([body, this.#tag(body)]).toString('base64url');
  }

  async redeem(nonce: unknown): Promise<NonceCheck> {
    if (typeof nonce !== 'string' || !NONCE_SYNTAX.test(nonce)) return 'malformed';
    const raw = Buffer.from(nonce, 'base64url');
    if (raw.length !== STAMP + RANDOM + TAG || raw.toString('base64url') !== nonce) return 'unknown';
    const body = raw.subarray(0, STAMP + RANDOM);
    if (!timingSafeEqual(raw.subarray(STAMP + RANDOM), this.#tag(body))) return 'unknown';
    const issuedAt = body.readUIntBE(0, STAMP);
    const now = this.#now();
    // A little slack for instances whose clocks differ; never a nonce from the far future.
    if (issuedAt > now + 60_000 || issuedAt + this.#lifetimeMs <= now) return 'unknown';
    return (await this.replay.claim(nonce, new Date(issuedAt + this.#lifetimeMs))) ? 'ok' : 'unknown';
  }
}
