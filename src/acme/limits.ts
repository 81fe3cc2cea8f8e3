// Limits on every resource a client can make the issuer hold (RFC 8555 §6.6: rateLimited with
// Retry-After). Defaults lie far above what an honest fleet does (a node's Caddy holds a handful of
// names and renews weekly) and far below what exhausts the issuer.
import { problem, type AcmeProblem } from './problems.js';

export interface RateLimit {
  /** Events allowed per window. */
  count: number;
  windowMs: number;
}

export interface AcmeLimits {
  /** Pending authorizations one account may hold (each costs a challenge validation). */
  pendingAuthorizationsPerAccount: number;
  /** Orders one account may hold that are not yet valid or invalid (pending, ready, processing). */
  pendingOrdersPerAccount: number;
  /** Identifiers in one order. */
  identifiersPerOrder: number;
  /** New accounts created with one External Account Binding credential. */
  newAccountsPerEabCredential: RateLimit;
  /** New accounts created from one client IP address. */
  newAccountsPerIp: RateLimit;
}

export const DEFAULT_LIMITS: AcmeLimits = {
  pendingAuthorizationsPerAccount: 1000,
  pendingOrdersPerAccount: 300,
  identifiersPerOrder: 100,
  newAccountsPerEabCredential: { count: 20, windowMs: 3_600_000 },
  newAccountsPerIp: { count: 100, windowMs: 3_600_000 },
};

export function acmeLimits(p: Partial<AcmeLimits> = {}): AcmeLimits {
  const l = { ...DEFAULT_LIMITS, ...p };
  for (const [k, v] of Object.entries(l)) {
    const n = typeof v === 'number' ? v : v.count;
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`limit ${k} must be a positive integer`);
  }
  return l;
}

/** The rateLimited problem (§6.6): 429, Retry-After in whole seconds (at least 1). */
export function rateLimited(detail: string, retryAfterMs: number): AcmeProblem {
  const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
  return problem('rateLimited', `${detail}; retry after ${seconds} s`, { headers: { 'Retry-After': String(seconds) } });
}

/**
 * A sliding-window counter per key (an EAB key id, an IP address), in memory: a restart forgets it,
 * which costs an attacker one restart of ours per window. Keys whose window has passed are dropped,
 * and at most `maxKeys` are kept (the oldest are forgotten first).
 */
export class RateWindow {
  private readonly events = new Map<string, number[]>();
  constructor(
    readonly limit: RateLimit,
    private readonly maxKeys = 100_000,
  ) {}

  /** Milliseconds until `key` may act again, or 0 when it may act now. */
  waitFor(key: string, now: number): number {
    const times = this.live(key, now);
    return times.length < this.limit.count ? 0 : times[0]! + this.limit.windowMs - now;
  }

  record(key: string, now: number): void {
    const times = this.live(key, now);
    times.push(now);
    this.events.delete(key);
    this.events.set(key, times);
    if (this.events.size > this.maxKeys) this.events.delete(this.events.keys().next().value as string);
  }

  /** Takes back one event recorded at `at` (what it counted did not happen after all). */
  forget(key: string, at: number): void {
    const times = this.events.get(key);
    const i = times ? times.lastIndexOf(at) : -1;
    if (i < 0) return;
    times!.splice(i, 1);
    if (!times!.length) this.events.delete(key);
  }

  private live(key: string, now: number): number[] {
    const times = (this.events.get(key) ?? []).filter((t) => t > now - this.limit.windowMs);
    if (times.length) this.events.set(key, times);
    else this.events.delete(key);
    return times;
  }
}

/**
 * Runs `fn` for one key at a time (newOrder per account), so a burst of concurrent requests cannot
 * all pass a count check before any of them is stored.
 */
export class KeyedSerializer {
  private readonly tails = new Map<string, Promise<unknown>>();

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(key) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.catch(() => undefined);
    this.tails.set(key, tail);
    try {
      return await next;
    } finally {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}

/** The limiter state of one ACME app. */
export interface LimitState {
  limits: AcmeLimits;
  accountsPerEab: RateWindow;
  accountsPerIp: RateWindow;
  orders: KeyedSerializer;
}

export function limitState(p: Partial<AcmeLimits> = {}): LimitState {
  const limits = acmeLimits(p);
  return { limits, accountsPerEab: new RateWindow(limits.newAccountsPerEabCredential), accountsPerIp: new RateWindow(limits.newAccountsPerIp), orders: new KeyedSerializer() };
}
