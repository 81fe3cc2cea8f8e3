// The challenge validator the ACME core calls (RFC 8555 §8): resolves the identifier with the
// configured resolver only, then runs http-01 (§8.3) or tls-alpn-01 (RFC 8737) against each
// address in turn, retrying network failures a bounded number of times while the challenge is
// `processing` (§8.2). Every failure ends in an RFC 8555 error type (`dns`, `connection`, `tls`,
// `unauthorized`, `incorrectResponse`), never a made-up one.
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { ChallengeValidator, ValidationOutcome, ValidationRequest } from './challenges.js';
import { validateHttp01, type AttemptFailure, type AttemptResult } from './http-01.js';
import { validateTlsAlpn01 } from './tls-alpn-01.js';

/** Name → addresses. Only this decides where the issuer connects (SSRF surface, §10.4). */
export type Resolver = (name: string) => Promise<string[]>;

export interface ValidatorOptions {
  /**
   * A resolver function, or a map of overrides (`--resolve NAME=IP`); names absent from the map
   * go to `fallback` (default: the system resolver), unless `fallback` is null.
   */
  resolve?: Resolver | ReadonlyMap<string, readonly string[]> | Readonly<Record<string, string | readonly string[]>>;
  fallback?: Resolver | null;
  /** Port the http-01 fetch goes to (RFC 8555 §8.3 says 80; configurable for tests and labs). */
  http01Port?: number;
  /** Port of the tls-alpn-01 handshake (RFC 8737 §3 says 443). */
  tlsAlpn01Port?: number;
  /** Per attempt, per address. */
  timeoutMs?: number;
  /** Total attempts for network failures (a wrong answer is final at once). */
  attempts?: number;
  /** Pause between attempts. */
  retryDelayMs?: number;
}

export const DEFAULT_TIMEOUT_MS = 10_000;
export const DEFAULT_ATTEMPTS = 3;

export const systemResolver: Resolver = async (name) => (await lookup(name, { all: true, verbatim: true })).map((a) => a.address);

/** Builds the resolver from a function or an override map (keys compared case-insensitively). */
export function makeResolver(resolve: ValidatorOptions['resolve'], fallback: Resolver | null = systemResolver): Resolver {
  if (typeof resolve === 'function') return resolve;
  const map = new Map<string, string[]>();
  if (resolve instanceof Map) {
    for (const [k, v] of resolve) map.set(k.toLowerCase(), [...v]);
  } else if (resolve) {
    for (const [k, v] of Object.entries(resolve as Record<string, string | readonly string[]>)) map.set(k.toLowerCase(), typeof v === 'string' ? [v] : [...v]);
  }
  return async (name) => {
    const hit = map.get(name.toLowerCase().replace(/\.$/, ''));
    if (hit) return hit;
    if (!fallback) throw Object.assign(new Error(`no address configured for ${name}`), { code: 'ENOTFOUND' });
    return fallback(name);
  };
}

/** Parses `--resolve NAME=IP` values (repeatable; several IPs for one name accumulate). */
export function parseResolveOverrides(values: readonly string[]): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const v of values) {
    const eq = v.indexOf('=');
    const name = v.slice(0, eq).trim().toLowerCase();
    const ip = v.slice(eq + 1).trim().replace(/^\[(.*)\]$/, '$1');
    if (eq <= 0 || !name || !isIP(ip)) throw Object.assign(new Error(`--resolve expects NAME=IP, got ${JSON.stringify(v)}`), { kind: 'usage' });
    map.set(name, [...(map.get(name) ?? []), ip]);
  }
  return map;
}

/** Waits, or stops early when the core gives up on the challenge (shutdown, order expiry). */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

export function createChallengeValidator(opts: ValidatorOptions = {}): ChallengeValidator {
  const resolver = makeResolver(opts.resolve, opts.fallback === undefined ? systemResolver : opts.fallback);
  const http01Port = opts.http01Port ?? 80;
  const tlsAlpn01Port = opts.tlsAlpn01Port ?? 443;
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const attempts = Math.max(1, opts.attempts ?? DEFAULT_ATTEMPTS);
  const retryDelayMs = opts.retryDelayMs ?? 1000;

  async function attempt(input: ValidationRequest, signal?: AbortSignal): Promise<AttemptResult> {
    let addresses: string[];
    try {
      addresses = (await resolver(input.identifier)).filter((a) => isIP(a));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      return { ok: false, type: 'dns', detail: `cannot resolve ${input.identifier}: ${code === 'ENOTFOUND' ? 'no such name' : (err as Error).message}`, retryable: true };
    }
    if (addresses.length === 0) return { ok: false, type: 'dns', detail: `no address for ${input.identifier}`, retryable: true };
    let last: AttemptFailure | undefined;
    for (const address of addresses) {
      const r = input.type === 'http-01'
        ? await validateHttp01({ identifier: input.identifier, token: input.token, keyAuthorization: input.keyAuthorization, address, port: http01Port, timeoutMs, signal })
        : await validateTlsAlpn01({ identifier: input.identifier, keyAuthorization: input.keyAuthorization, address, port: tlsAlpn01Port, timeoutMs, signal });
      if (r.ok) return r;
      last = r;
      // Only an unreachable address moves us to the next one (as Boulder falls back from IPv6 to
      // IPv4); an answer that is wrong is the requester's answer.
      if (!r.retryable) return r;
    }
    return last!;
  }

  return {
    async validate(input: ValidationRequest, signal?: AbortSignal): Promise<ValidationOutcome> {
      if (input.type !== 'http-01' && input.type !== 'tls-alpn-01') {
        return { valid: false, problem: { type: 'serverInternal', detail: `challenge type ${String(input.type)} is not supported by this validator` } };
      }
      let r: AttemptResult = { ok: false, type: 'serverInternal', detail: 'validation was cancelled', retryable: false };
      let tries = 0;
      while (tries < attempts && !signal?.aborted) {
        tries++;
        try {
          r = await attempt(input, signal);
        } catch (err) {
          // The contract is "resolve, never reject": an unexpected throw is our bug, reported as such.
          r = { ok: false, type: 'serverInternal', detail: `validation failed unexpectedly: ${(err as Error).message}`, retryable: false };
        }
        if (r.ok || !r.retryable) break;
        if (tries < attempts) await sleep(retryDelayMs, signal);
      }
      if (r.ok) return { valid: true };
      const detail = tries > 1 && r.retryable ? `${r.detail} (after ${tries} attempts)` : r.detail;
      return { valid: false, problem: { type: r.type, detail } };
    },
  };
}
