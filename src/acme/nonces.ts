// Replay nonces (RFC 8555 §6.5): unpredictable, single-use, expiring, bounded in number.
// Kept in memory on purpose: a restart only costs clients one badNonce retry, which every client
// must handle anyway (§6.5), and nothing grows on disk (step-ca #473/#159).
import { randomBytes } from 'node:crypto';

export type NonceCheck = 'ok' | 'unknown' | 'malformed';

const NONCE_SYNTAX = /^[A-Za-z0-9_-]+$/;

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
    const nonce = randomBytes(16).toString('base64url');
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
